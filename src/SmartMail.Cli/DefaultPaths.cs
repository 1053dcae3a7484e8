namespace SmartMail.Cli;

/// <summary>Where the shipped default model and sample mails are found, whatever the current directory.</summary>
internal static class DefaultPaths
{
    /// <summary>
    /// The quick start's model: the Danish demo (KLE subject titles → KLE main group), which reads the Danish sample mails
    /// of <see cref="SampleInbox"/>. A demo of the routing and the triage page, not a municipality's model.
    /// </summary>
    public const string ModelFile = "models/kle-demo/smartmail-kle-demo.zip";

    /// <summary>The Danish sample mails the quick start seeds its inbox with.</summary>
    public const string SampleInbox = "samples/inbox";

    /// <summary>The default model: next to the program, in the repository it was built in, else above the current directory.</summary>
    public static string Model => Find(ModelFile) ?? ModelFile;

    /// <summary>
    /// <paramref name="relative"/> next to the installed program or in a folder above it (the repository, when it runs from
    /// its build output), else in the current directory or a folder above it.
    /// </summary>
    public static string? Find(string relative)
    {
        var candidates = new List<string>();
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                candidates.Add(Path.Combine(dir.FullName, relative));
            }
        }
        return candidates.FirstOrDefault(p => File.Exists(p) || Directory.Exists(p));
    }
}
