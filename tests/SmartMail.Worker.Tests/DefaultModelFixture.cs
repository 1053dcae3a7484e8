using SmartMail.Core.Classification;

namespace SmartMail.Worker.Tests;

/// <summary>The shipped default model, loaded once per test class.</summary>
public sealed class DefaultModelFixture : IDisposable
{
    public DefaultModelFixture()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SmartMail.sln")))
        {
            dir = dir.Parent;
        }
        RepositoryRoot = dir?.FullName ?? throw new InvalidOperationException("SmartMail.sln not found above the test binaries.");
        ModelPath = Path.Combine(RepositoryRoot, "models", "default", "smartmail-20news.zip");
        Bundle = ModelBundle.Load(ModelPath);
    }

    public string RepositoryRoot { get; }

    public string ModelPath { get; }

    public ModelBundle Bundle { get; }

    public void Dispose() => Bundle.Dispose();
}
