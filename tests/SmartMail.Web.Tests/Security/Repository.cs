namespace SmartMail.Web.Tests.Security;

/// <summary>Files of the repository the tests run in.</summary>
internal static class Repository
{
    /// <summary>The shipped default model.</summary>
    public static string DefaultModel { get; } = Find("models/default/smartmail-20news.zip");

    private static string Find(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SmartMail.sln")))
            {
                return Path.Combine(dir.FullName, relative);
            }
        }
        throw new InvalidOperationException("SmartMail.sln not found above the test's folder");
    }
}
