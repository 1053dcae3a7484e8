namespace SmartMail.Cli;

/// <summary>Where the shipped default model and sample mails are found.</summary>
internal static class DefaultPaths
{
    public const string ModelFile = "models/default/smartmail-20news.zip";

    /// <summary>The default model: next to the program, else in the repository the current directory is in.</summary>
    public static string Model => Find(ModelFile) ?? ModelFile;

    public static string? Find(string relative)
    {
        var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, relative) };
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            candidates.Add(Path.Combine(dir.FullName, relative));
        }
        return candidates.FirstOrDefault(p => File.Exists(p) || Directory.Exists(p));
    }
}
