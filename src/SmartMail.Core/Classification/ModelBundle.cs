using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmartMail.Core.Classification;

/// <summary>
/// A trained model in one zip: <c>manifest.json</c>, <c>featurizer.bin</c>, the linear member (<c>linear.bin</c>: the
/// weights of the one-versus-rest SVMs; or <c>model.mlnet</c>: an ML.NET maximum-entropy model) and
/// <c>naive-bayes.bin</c>.
/// Loading checks the manifest and refuses a bundle it cannot serve with a <see cref="ModelBundleException"/>.
/// </summary>
public sealed class ModelBundle : IDisposable
{
    private const string ManifestEntry = "manifest.json";
    private const string FeaturizerEntry = "featurizer.bin";
    private const string ModelEntry = "model.mlnet";
    private const string LinearEntry = "linear.bin";
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
            if (Model.IsMlNetModel)
            {
                using var s = zip.CreateEntry(ModelEntry, CompressionLevel.NoCompression).Open();
                Model.SaveMlModel(s); // already a zip
            }
            else
            {
                using var s = zip.CreateEntry(LinearEntry, CompressionLevel.Fastest).Open();
                Model.SaveLinear(s);
            }
            if (Model.NaiveBayes is { } naiveBayes)
            {
                using var s = zip.CreateEntry(NaiveBayesEntry, CompressionLevel.Optimal).Open();
                naiveBayes.Save(s);
            }
        }
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>The most entries a bundle, or the ML.NET model inside it, may hold.</summary>
    public const int MaxEntries = 64;

    /// <summary>The most bytes a bundle may unpack to, the ML.NET model's own entries included (1 GiB).</summary>
    public const long MaxUncompressedBytes = 1L << 30;

    /// <summary>The highest compression ratio an entry larger than 1 MiB may have (deflate of real models stays below 10).</summary>
    public const int MaxCompressionRatio = 200;

    private const long RatioCheckedAbove = 1L << 20;

    /// <summary>Loads a bundle.</summary>
    /// <param name="path">The .zip path.</param>
    /// <returns>The bundle, ready to predict.</returns>
    /// <exception cref="ModelBundleException">
    /// The file is missing, corrupt, foreign or of a format this version cannot serve; its manifest does not match its
    /// model; ML.NET refuses the model's schema; or it unpacks beyond the bounds (<see cref="MaxEntries"/>,
    /// <see cref="MaxUncompressedBytes"/>, <see cref="MaxCompressionRatio"/>) or names an entry outside the bundle
    /// (<c>../</c>, an absolute path). The message is one line.
    /// </exception>
    public static ModelBundle Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ModelBundleException($"Model bundle '{path}' does not exist.");
        }
        TextModel? model = null;
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var budget = new UnpackBudget(path);
            budget.Inspect(zip, "");
            var manifest = ReadManifest(new MemoryStream(budget.Read(zip, ManifestEntry)), path);
            if (manifest.Labels is null || manifest.Featurizer is null || manifest.Trainer is null)
            {
                throw new ModelBundleException($"Model bundle '{path}': the manifest lacks labels, featurizer or trainer settings.");
            }
            var featurizer = TextFeaturizer.Load(new MemoryStream(budget.Read(zip, FeaturizerEntry)), manifest.Featurizer);
            if (featurizer.Dimension > manifest.Featurizer.MaxFeatures)
            {
                throw new ModelBundleException(
                    $"Model bundle '{path}': the featurizer has {featurizer.Dimension} features, more than the manifest's maxFeatures {manifest.Featurizer.MaxFeatures}.");
            }
            if (manifest.Trainer.Trainer == TrainerSettings.SdcaMaximumEntropy)
            {
                var mlModel = budget.Read(zip, ModelEntry);
                using (var inner = new ZipArchive(new MemoryStream(mlModel, writable: false), ZipArchiveMode.Read))
                {
                    // ML.NET unpacks this zip itself: bound it (and read it through once) before handing it over.
                    budget.Inspect(inner, ModelEntry + "!");
                    foreach (var entry in inner.Entries)
                    {
                        budget.Drain(entry, ModelEntry + "!");
                    }
                }
                model = TextModel.Load(new MemoryStream(mlModel, writable: false), featurizer);
            }
            else if (manifest.Trainer.Trainer == TrainerSettings.OneVersusRestSvm)
            {
                model = TextModel.LoadLinear(new MemoryStream(budget.Read(zip, LinearEntry), writable: false), featurizer);
            }
            else
            {
                throw new ModelBundleException(
                    $"Model bundle '{path}' was trained with '{manifest.Trainer.Trainer}', which this SmartMail cannot serve. Retrain with 'smartmail train'.");
            }
            model.FullEvidenceWords = manifest.Trainer.FullEvidenceWords;
            model.ScoreScale = manifest.Trainer.ScoreScale;
            if (!(model.ScoreScale > 0 && float.IsFinite(model.ScoreScale)))
            {
                throw new ModelBundleException($"Model bundle '{path}': the manifest's trainer.scoreScale {model.ScoreScale} is not a positive number.");
            }
            if (manifest.Trainer.NaiveBayesWeight > 0)
            {
                model.AttachNaiveBayes(ComplementNaiveBayes.Load(new MemoryStream(budget.Read(zip, NaiveBayesEntry)), model.Labels.Count, featurizer.Dimension),
                    manifest.Trainer.NaiveBayesWeight);
            }
            var expected = manifest.Labels.Select(l => l.Name).Order(StringComparer.Ordinal);
            if (!expected.SequenceEqual(model.Labels.Order(StringComparer.Ordinal), StringComparer.Ordinal))
            {
                throw new ModelBundleException($"Model bundle '{path}': the manifest's labels do not match the model's.");
            }
            // One prediction before the bundle is served: a model that loads but cannot score is refused here,
            // not on every mail.
            var probe = model.Score(new TextInput("SmartMail probe", "a model bundle is checked before it is served"));
            if (probe.Length != model.Labels.Count || probe.Any(p => !float.IsFinite(p)))
            {
                throw new ModelBundleException($"Model bundle '{path}': the model does not score its labels.");
            }
            var bundle = new ModelBundle(model, manifest);
            model = null;
            return bundle;
        }
        catch (ModelBundleException)
        {
            throw;
        }
        catch (Exception ex) when (!IsFatal(ex))
        {
            // ML.NET reports a foreign schema with whatever exception its checks throw (InvalidOperationException,
            // ArgumentOutOfRangeException, ...), and a manifest that deserialises with missing parts surfaces as
            // null references: every one of them means "this bundle cannot be served".
            throw new ModelBundleException($"Model bundle '{path}' is corrupt or not a SmartMail model: {OneLine(ex.Message)}", ex);
        }
        finally
        {
            model?.Dispose();
        }
    }

    private static bool IsFatal(Exception ex) => ex is OutOfMemoryException or InsufficientExecutionStackException or AccessViolationException;

    private static string OneLine(string message) => string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));

    private static ModelManifest ReadManifest(Stream stream, string path)
    {
        using var doc = JsonDocument.Parse(stream);
        var format = doc.RootElement.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        if (format != ModelManifest.CurrentFormat)
        {
            throw new ModelBundleException(
                $"Model bundle '{path}' has format '{format ?? "(none)"}'; this SmartMail serves '{ModelManifest.CurrentFormat}'. Retrain with 'smartmail train'.");
        }
        return doc.RootElement.Deserialize<ModelManifest>(JsonOptions)
            ?? throw new ModelBundleException($"Model bundle '{path}' has an empty manifest.");
    }

    // What a bundle may unpack: entry count and names per archive, and bytes and compression ratio over all of them,
    // checked on the declared sizes first and then on the bytes actually inflated (a header may lie).
    private sealed class UnpackBudget(string path)
    {
        private long _left = MaxUncompressedBytes;

        public void Inspect(ZipArchive zip, string where)
        {
            if (zip.Entries.Count > MaxEntries)
            {
                throw Refuse($"has {zip.Entries.Count} entries{(where.Length == 0 ? "" : " in " + where.TrimEnd('!'))}; at most {MaxEntries} are allowed");
            }
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            long declared = 0;
            foreach (var entry in zip.Entries)
            {
                var name = entry.FullName;
                if (name.Length == 0 || name.StartsWith('/') || name.Contains('\\', StringComparison.Ordinal) || name.Contains(':', StringComparison.Ordinal)
                    || name.Split('/').Any(segment => segment == "..") || name.Any(char.IsControl))
                {
                    throw Refuse($"has an entry named '{OneLine(name)}' that points outside the bundle");
                }
                if (!names.Add(name))
                {
                    throw Refuse($"has the entry '{name}' twice");
                }
                if (entry.Length > RatioCheckedAbove && entry.Length > (long)MaxCompressionRatio * Math.Max(1, entry.CompressedLength))
                {
                    throw Refuse($"has an entry '{where}{name}' that inflates {entry.Length / Math.Max(1, entry.CompressedLength)} to 1; at most {MaxCompressionRatio} to 1 is allowed");
                }
                declared += entry.Length;
                if (entry.Length < 0 || declared > _left)
                {
                    throw Refuse($"unpacks to more than {MaxUncompressedBytes >> 20} MiB");
                }
            }
        }

        public byte[] Read(ZipArchive zip, string name)
        {
            var entry = zip.GetEntry(name) ?? throw new ModelBundleException($"Model bundle '{path}' is not a SmartMail model: it has no {name}.");
            using var buffer = new MemoryStream((int)Math.Min(entry.Length, int.MaxValue / 2));
            Copy(entry, "", buffer);
            return buffer.ToArray();
        }

        public void Drain(ZipArchiveEntry entry, string where) => Copy(entry, where, Stream.Null);

        private void Copy(ZipArchiveEntry entry, string where, Stream target)
        {
            using var source = entry.Open();
            var chunk = new byte[81920];
            long total = 0;
            int read;
            while ((read = source.Read(chunk)) > 0)
            {
                total += read;
                _left -= read;
                if (total > entry.Length)
                {
                    throw Refuse($"has an entry '{where}{entry.FullName}' that inflates beyond the {entry.Length} bytes its header declares");
                }
                if (_left < 0)
                {
                    throw Refuse($"unpacks to more than {MaxUncompressedBytes >> 20} MiB");
                }
                target.Write(chunk, 0, read);
            }
        }

        private ModelBundleException Refuse(string what) => new($"Model bundle '{path}' is refused: it {what}.");
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
