using System.IO.Compression;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Classification;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;

namespace SmartMail.Worker.Tests;

public sealed class ModelProviderTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>, IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-models-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void RefreshIfChanged_NewBundle_IsSwappedIn_CorruptOne_IsRefusedAndTheOldKept()
    {
        var path = Path.Combine(_dir.FullName, "current.zip");
        File.Copy(model.ModelPath, path);
        using var provider = new ModelProvider(new SmartMailOptions { ModelPath = path }, NullLogger<ModelProvider>.Instance);
        var first = provider.Policy.Model!.Manifest.ModelVersion;
        Assert.False(provider.RefreshIfChanged());

        WithVersion(path, "retrained-v2");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        Assert.True(provider.RefreshIfChanged());
        Assert.Equal("retrained-v2", provider.Policy.Model!.Manifest.ModelVersion);

        File.WriteAllBytes(path, [1, 2, 3, 4]);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(10));
        Assert.False(provider.RefreshIfChanged());
        Assert.Equal("retrained-v2", provider.Policy.Model!.Manifest.ModelVersion);
        Assert.NotEqual(first, provider.Policy.Model!.Manifest.ModelVersion);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Constructor_CorruptOrMissingBundleAtStart_NamesTheSetting(bool corrupt)
    {
        var path = Path.Combine(_dir.FullName, "broken.zip");
        if (corrupt)
        {
            File.WriteAllText(path, "not a zip");
        }

        var ex = Assert.Throws<ModelBundleException>(() => new ModelProvider(new SmartMailOptions { ModelPath = path }, NullLogger<ModelProvider>.Instance));

        Assert.StartsWith("SmartMail:ModelPath:", ex.Message, StringComparison.Ordinal);
    }

    private static void WithVersion(string path, string version)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = zip.GetEntry("manifest.json")!;
        JsonNode manifest;
        using (var reader = entry.Open())
        {
            manifest = JsonNode.Parse(reader)!;
        }
        entry.Delete();
        manifest["modelVersion"] = version;
        using var writer = new StreamWriter(zip.CreateEntry("manifest.json").Open());
        writer.Write(manifest.ToJsonString());
    }
}
