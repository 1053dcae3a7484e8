using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmartMail.Core.Classification;

/// <summary>
/// A trained model in one zip: <c>manifest.json</c>, <c>featurizer.bin</c> and <c>model.mlnet</c> (the ML.NET model).
/// Loading checks the manifest and refuses a bundle it cannot serve with a <see cref="ModelBundleException"/>.
/// </summary>
public sealed class ModelBundle : IDisposable
{
    private const string ManifestEntry = "manifest.json";
    private const string FeaturizerEntry = "featurizer.bin";
    private const string ModelEntry = "model.mlnet";
    private const string NaiveBayesEntry = "naive-bayes.bin";

    /// <summary>JSON settings for manifests and reports: camelCase, indented.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Creates a bundle from a trained model and its manifest.</summary>
    /// <param name="model">The model.</param>
    /// <param name="manifest">The manifest.</param>
    public ModelBundle(TextModel model, ModelManifest manifest)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Manifest = manifest ?? throw new ArgumentNullException(nameof(manifest));
        Thresholds = manifest.Labels.ToDictionary(l => l.Name, l => l.Threshold, StringComparer.Ordinal);
    }

    /// <summary>The model.</summary>
    public TextModel Model { get; }

    /// <summary>The manifest.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>Per-label thresholds; <see langword="null"/> for manual-only.</summary>
    public IReadOnlyDictionary<string, float?> Thresholds { get; }

    /// <summary>Predicts the label of <paramref name="text"/>.</summary>
    /// <param name="text">Subject and body.</param>
    /// <returns>Top label, confidence and top three.</returns>
    public Prediction Predict(TextInput text) => Prediction.FromScores(Model.Labels, Model.Score(text));

    /// <summary>Writes the bundle to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    /// <param name="path">The .zip path.</param>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp-" + Environment.ProcessId;
        using (var file = File.Create(temp))
        using (var zip = new ZipArchive(file, ZipArchiveMode.Create))
        {
            using (var s = zip.CreateEntry(ManifestEntry, CompressionLevel.Optimal).Open())
            {
                JsonSerializer.Serialize(s, Manifest, JsonOptions);
            }
            using (var s = zip.CreateEntry(FeaturizerEntry, CompressionLevel.Optimal).Open())
            {
                Model.Featurizer.Save(s);
            }
            using (var s = zip.CreateEntry(ModelEntry, CompressionLevel.NoCompression).Open())
            {
                Model.SaveMlModel(s); // already a zip
            }
            if (Model.NaiveBayes is { } naiveBayes)
            {
                using var s = zip.CreateEntry(NaiveBayesEntry, CompressionLevel.Optimal).Open();
                naiveBayes.Save(s);
            }
        }
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Loads a bundle.</summary>
    /// <param name="path">The .zip path.</param>
    /// <returns>The bundle, ready to predict.</returns>
    /// <exception cref="ModelBundleException">The file is missing, corrupt, foreign or of a format this version cannot serve.</exception>
    public static ModelBundle Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ModelBundleException($"Model bundle '{path}' does not exist.");
        }
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var manifest = ReadManifest(zip, path);
            var featurizer = TextFeaturizer.Load(OpenEntry(zip, FeaturizerEntry, path), manifest.Featurizer);
            using var modelStream = new MemoryStream();
            using (var s = OpenEntry(zip, ModelEntry, path))
            {
                s.CopyTo(modelStream);
            }
            modelStream.Position = 0;
            var model = TextModel.Load(modelStream, featurizer);
            model.FullEvidenceWords = manifest.Trainer.FullEvidenceWords;
            if (manifest.Trainer.NaiveBayesWeight > 0)
            {
                using var s = OpenEntry(zip, NaiveBayesEntry, path);
                model.AttachNaiveBayes(ComplementNaiveBayes.Load(s, model.Labels.Count, featurizer.Dimension), manifest.Trainer.NaiveBayesWeight);
            }
            var expected = manifest.Labels.Select(l => l.Name).Order(StringComparer.Ordinal);
            if (!expected.SequenceEqual(model.Labels.Order(StringComparer.Ordinal), StringComparer.Ordinal))
            {
                model.Dispose();
                throw new ModelBundleException($"Model bundle '{path}': the manifest's labels do not match the model's.");
            }
            return new ModelBundle(model, manifest);
        }
        catch (ModelBundleException)
        {
            throw;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or JsonException or UnauthorizedAccessException)
        {
            throw new ModelBundleException($"Model bundle '{path}' is corrupt or not a SmartMail model: {ex.Message}", ex);
        }
    }

    private static ModelManifest ReadManifest(ZipArchive zip, string path)
    {
        using var stream = OpenEntry(zip, ManifestEntry, path);
        using var doc = JsonDocument.Parse(stream);
        var format = doc.RootElement.TryGetProperty("format", out var f) ? f.GetString() : null;
        if (format != ModelManifest.CurrentFormat)
        {
            throw new ModelBundleException(
                $"Model bundle '{path}' has format '{format ?? "(none)"}'; this SmartMail serves '{ModelManifest.CurrentFormat}'. Retrain with 'smartmail train'.");
        }
        return doc.RootElement.Deserialize<ModelManifest>(JsonOptions)
            ?? throw new ModelBundleException($"Model bundle '{path}' has an empty manifest.");
    }

    private static Stream OpenEntry(ZipArchive zip, string name, string path) =>
        (zip.GetEntry(name) ?? throw new ModelBundleException($"Model bundle '{path}' is not a SmartMail model: it has no {name}.")).Open();

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
