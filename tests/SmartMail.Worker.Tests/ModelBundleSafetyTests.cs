using System.IO.Compression;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML;
using Microsoft.ML.Data;
using SmartMail.Core.Classification;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;

namespace SmartMail.Worker.Tests;

/// <summary>
/// Bundles that must be refused: at load (<see cref="ModelBundle.Load"/> and the worker's start) with a
/// <see cref="ModelBundleException"/>, and at a hot swap with the model in force still answering.
/// </summary>
public sealed class ModelBundleSafetyTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>, IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-bad-bundles-");

    public void Dispose() => _dir.Delete(recursive: true);

    public static TheoryData<string> BadBundles => ["zip-bomb", "lying-size", "schema-mismatch", "linear-mismatch", "manifest-mismatch", "manifest-without-labels", "truncated", "path-traversal", "absolute-path"];

    [Theory]
    [MemberData(nameof(BadBundles))]
    public void Load_BadBundle_ThrowsModelBundleException(string kind)
    {
        var path = Make(kind);

        var ex = Record.Exception(() => ModelBundle.Load(path).Dispose());

        Assert.IsType<ModelBundleException>(ex);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [MemberData(nameof(BadBundles))]
    public void ModelProvider_BadBundleAtStart_FailsNamingTheSetting(string kind)
    {
        var path = Make(kind);

        var ex = Record.Exception(() => new ModelProvider(new SmartMailOptions { ModelPath = path, DataDirectory = _dir.FullName }, NullLogger<ModelProvider>.Instance).Dispose());

        Assert.IsType<ModelBundleException>(ex);
        Assert.StartsWith("SmartMail:ModelPath:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadBundles))]
    public void RefreshIfChanged_BadBundle_IsRefused_TheOldModelStillAnswers_AndOneLineIsLogged(string kind)
    {
        var path = Path.Combine(_dir.FullName, "serving.zip");
        File.Copy(model.ModelPath, path);
        var logger = new ListLogger<ModelProvider>();
        using var provider = new ModelProvider(new SmartMailOptions { ModelPath = path, DataDirectory = _dir.FullName }, logger);
        var version = provider.Policy.Model!.Manifest.ModelVersion;
        var before = provider.Policy.Model.Predict(new TextInput("Shuttle launch", "When does the shuttle launch to the space station?"));
        logger.Clear();

        File.Copy(Make(kind), path, overwrite: true);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        var swapped = provider.RefreshIfChanged();
        var again = provider.RefreshIfChanged();

        Assert.False(swapped);
        Assert.False(again);
        Assert.Equal(version, provider.Policy.Model!.Manifest.ModelVersion);
        var after = provider.Policy.Model.Predict(new TextInput("Shuttle launch", "When does the shuttle launch to the space station?"));
        Assert.Equal(before.Label, after.Label);
        var line = Assert.Single(logger.Lines);
        Assert.DoesNotContain('\n', line);
        Assert.Contains("refused", line, StringComparison.OrdinalIgnoreCase);
    }

    private string Make(string kind)
    {
        var path = Path.Combine(_dir.FullName, kind + "-" + Guid.NewGuid().ToString("N")[..6] + ".zip");
        File.Copy(model.ModelPath, path);
        switch (kind)
        {
            case "zip-bomb":
                // 256 MiB of zeros deflate to about 256 KiB: a ratio of 1000 to 1.
                using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
                using (var s = zip.CreateEntry("padding.bin", CompressionLevel.Optimal).Open())
                {
                    var zeros = new byte[1 << 20];
                    for (var i = 0; i < 256; i++)
                    {
                        s.Write(zeros);
                    }
                }
                break;
            case "lying-size":
                // The central directory says featurizer.bin is 100 bytes; it inflates to megabytes.
                PatchUncompressedSize(path, "featurizer.bin", 100);
                break;
            case "schema-mismatch":
                // A bundle that says it holds an ML.NET maximum-entropy model, whose model.mlnet is some other ML.NET model.
                EditManifest(path, m => m["trainer"]!["trainer"] = TrainerSettings.SdcaMaximumEntropy);
                AddEntry(path, "model.mlnet", ForeignMlModel(model.Bundle.Model.Featurizer.Dimension));
                break;
            case "linear-mismatch":
                // The SVMs' weights of a model with another vocabulary.
                Replace(path, "linear.bin", ForeignLinear(model.Bundle.Model.Featurizer.Dimension + 1));
                break;
            case "manifest-mismatch":
                EditManifest(path, m => m["featurizer"]!["maxFeatures"] = 1000);
                break;
            case "manifest-without-labels":
                EditManifest(path, m => m["labels"] = null);
                break;
            case "truncated":
                var bytes = File.ReadAllBytes(path);
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                break;
            case "path-traversal":
                AddEntry(path, "../../etc/smartmail-evil.txt", "x"u8.ToArray());
                break;
            case "absolute-path":
                AddEntry(path, "/tmp/smartmail-evil.txt", "x"u8.ToArray());
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
        return path;
    }

    private static void AddEntry(string path, string name, byte[] content)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        using var s = zip.CreateEntry(name).Open();
        s.Write(content);
    }

    private static void Replace(string path, string name, byte[] content)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        zip.GetEntry(name)!.Delete();
        using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        s.Write(content);
    }

    private static void EditManifest(string path, Action<JsonNode> edit)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = zip.GetEntry("manifest.json")!;
        JsonNode manifest;
        using (var reader = entry.Open())
        {
            manifest = JsonNode.Parse(reader)!;
        }
        entry.Delete();
        edit(manifest);
        using var writer = new StreamWriter(zip.CreateEntry("manifest.json").Open());
        writer.Write(manifest.ToJsonString());
    }

    // An ML.NET model with the right input column but no multiclass scores: "Score" is the features copied.
    private static byte[] ForeignLinear(int dimension)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            writer.Write("smartmail-linear/1");
            writer.Write(2);
            writer.Write(dimension);
            writer.Write("a");
            writer.Write("b");
            writer.Write(0f);
            writer.Write(0f);
            writer.Write(new byte[2 * dimension * sizeof(float)]);
        }
        return buffer.ToArray();
    }

    private static byte[] ForeignMlModel(int dimension)
    {
        var ml = new MLContext(seed: 1);
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
        var data = ml.Data.LoadFromEnumerable([new Row { Features = new float[dimension] }], schema);
        var transformer = ml.Transforms.CopyColumns("Score", nameof(Row.Features)).Fit(data);
        using var stream = new MemoryStream();
        ml.Model.Save(transformer, data.Schema, stream);
        return stream.ToArray();
    }

    // Rewrites the uncompressed size of one entry in the central directory (what ZipArchive reports as Length).
    private static void PatchUncompressedSize(string path, string name, uint size)
    {
        var bytes = File.ReadAllBytes(path);
        var nameBytes = System.Text.Encoding.ASCII.GetBytes(name);
        for (var i = bytes.Length - 46; i >= 0; i--)
        {
            if (bytes[i] == 0x50 && bytes[i + 1] == 0x4b && bytes[i + 2] == 0x01 && bytes[i + 3] == 0x02
                && BitConverter.ToUInt16(bytes, i + 28) == nameBytes.Length && bytes.AsSpan(i + 46, nameBytes.Length).SequenceEqual(nameBytes))
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(i + 24, 4), size);
                File.WriteAllBytes(path, bytes);
                return;
            }
        }
        throw new InvalidOperationException($"{name} not found in the central directory");
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
    }
}
