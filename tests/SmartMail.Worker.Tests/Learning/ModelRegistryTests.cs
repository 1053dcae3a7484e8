using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;

namespace SmartMail.Worker.Tests.Learning;

public sealed class ModelRegistryTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-registry-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Promote_ServedWithoutRestart_Rollback_ReturnsToTheConfiguredModel_UnknownOrBrokenVersionsRefused()
    {
        var seed = Train("seed", Topics.Space, Topics.Cars);
        var options = new SmartMailOptions { DataDirectory = Path.Combine(_dir.FullName, "data"), ModelPath = seed.Path };
        var registry = ModelRegistry.For(options);
        using var provider = new ModelProvider(options, NullLogger<ModelProvider>.Instance);
        Assert.Equal(seed.Version, provider.Policy.Model!.Manifest.ModelVersion);
        Assert.Equal(seed.Path, registry.ActivePath);

        var next = Train("next", Topics.Space, Topics.Cars, Topics.Parking);
        using (var bundle = ModelBundle.Load(next.Path))
        {
            registry.Add(bundle, "candidate");
        }
        Assert.Equal(seed.Version, registry.Promote(next.Version, "test"));

        Assert.True(provider.RefreshIfChanged());
        Assert.Equal(next.Version, provider.Policy.Model!.Manifest.ModelVersion);
        Assert.Equal(3, provider.Policy.Model.Model.Labels.Count);
        var record = registry.Read();
        Assert.Equal(next.Version, record.Current);
        Assert.Equal(["seed", "promote"], record.History.Select(h => h.Action));
        Assert.Equal("retired", record.Models.Single(m => m.Version == seed.Version).Status);

        Assert.Throws<ArgumentException>(() => registry.Promote("no-such-version", "test"));
        File.WriteAllText(Path.Combine(registry.Directory, record.Models.Single(m => m.Version == seed.Version).File), "not a zip");
        Assert.Throws<ModelBundleException>(() => registry.Promote(seed.Version, "test"));
        Assert.Equal(next.Version, registry.Read().Current);
        Assert.False(provider.RefreshIfChanged());

        File.Copy(seed.Path, Path.Combine(registry.Directory, record.Models.Single(m => m.Version == seed.Version).File), overwrite: true);
        Assert.Equal(seed.Version, registry.Rollback("test"));
        Assert.True(provider.RefreshIfChanged());
        Assert.Equal(seed.Version, provider.Policy.Model!.Manifest.ModelVersion);
    }

    [Fact]
    public void Rollback_WithNothingPromoted_SaysSo()
    {
        var seed = Train("seed", Topics.Space, Topics.Cars);
        var registry = ModelRegistry.For(new SmartMailOptions { DataDirectory = Path.Combine(_dir.FullName, "data"), ModelPath = seed.Path });
        var ex = Assert.Throws<InvalidOperationException>(() => registry.Rollback("test"));
        Assert.Contains("no earlier model", ex.Message, StringComparison.Ordinal);
    }

    private (string Path, string Version) Train(string name, params string[] topics)
    {
        var history = TrainingSet.FromFolders(Topics.WriteHistory(Path.Combine(_dir.FullName, name), 20, topics), new Core.Mime.MailExtractor());
        using var bundle = ModelTraining.Train(history, new TrainingOptions { Seed = name.Length }).Bundle;
        var path = Path.Combine(_dir.FullName, name + ".zip");
        bundle.Save(path);
        return (path, bundle.Manifest.ModelVersion);
    }
}
