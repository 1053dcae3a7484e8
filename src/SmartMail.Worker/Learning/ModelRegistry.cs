using System.Text.Json;
using SmartMail.Core.Classification;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Learning;

/// <summary>
/// The versioned models of one installation, in <c>DataDirectory/models/</c>: every bundle trained by a retrain
/// (<c>versions/VERSION.zip</c>), the comparison report of each (<c>reports/</c>), <c>registry.json</c> with the
/// history of promotions and rollbacks, and <c>current.zip</c>, the promoted model the worker serves. Until something
/// is promoted the worker serves <see cref="SmartMailOptions.ModelPath"/>. Changes are serialised through a lock file,
/// and <c>current.zip</c> is replaced by an atomic rename, so a running worker swaps to a complete bundle or not at all.
/// </summary>
public sealed class ModelRegistry
{
    private static readonly JsonSerializerOptions Json = new(ModelBundle.JsonOptions) { WriteIndented = true };

    /// <summary>Opens the registry in <paramref name="directory"/> (created on first change).</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="seedModelPath">The configured model, served until a promotion.</param>
    public ModelRegistry(string directory, string seedModelPath)
    {
        Directory = Path.GetFullPath(directory);
        SeedModelPath = seedModelPath;
    }

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>The configured model (<c>SmartMail:ModelPath</c>).</summary>
    public string SeedModelPath { get; }

    /// <summary>The promoted model, once there is one.</summary>
    public string CurrentPath => Path.Combine(Directory, "current.zip");

    /// <summary>Where comparison reports are written.</summary>
    public string ReportsDirectory => Path.Combine(Directory, "reports");

    /// <summary>The registry of an installation.</summary>
    /// <param name="options">The worker's options.</param>
    /// <returns>The registry.</returns>
    public static ModelRegistry For(SmartMailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The registry may be the first to write into a new data directory (`smartmail models` before any run): it is
        // created private, as the worker would, or the worker would refuse it at start as readable by others.
        DataDirectoryPermissions.Prepare(options.DataDirectory);
        return new ModelRegistry(Path.Combine(options.DataDirectory, "models"), options.ModelPath);
    }

    /// <summary>The bundle the worker serves: the promoted one, else the configured one.</summary>
    public string ActivePath => File.Exists(CurrentPath) ? CurrentPath : SeedModelPath;

    /// <summary>The registry's record (empty before the first change).</summary>
    /// <returns>The record.</returns>
    public RegistryRecord Read()
    {
        var path = Path.Combine(Directory, "registry.json");
        if (!File.Exists(path))
        {
            return new RegistryRecord();
        }
        try
        {
            return JsonSerializer.Deserialize<RegistryRecord>(File.ReadAllText(path), Json) ?? new RegistryRecord();
        }
        catch (JsonException ex)
        {
            throw new IOException($"The model registry '{path}' is not readable: {ex.Message}", ex);
        }
    }

    /// <summary>Keeps a trained bundle as a version (not yet served).</summary>
    /// <param name="bundle">The bundle.</param>
    /// <param name="status"><c>candidate</c>, <c>rejected</c>, ...</param>
    /// <param name="report">Its comparison report, relative to the registry folder.</param>
    /// <returns>The entry.</returns>
    public ModelEntry Add(ModelBundle bundle, string status, string? report = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return Change(record =>
        {
            var file = Path.Combine("versions", bundle.Manifest.ModelVersion + ".zip");
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, "versions"));
            bundle.Save(Path.Combine(Directory, file));
            var entry = Entry(bundle.Manifest, file, status, report);
            return (record with { Models = [.. record.Models.Where(m => m.Version != entry.Version), entry] }, entry);
        });
    }

    /// <summary>Makes <paramref name="version"/> the model the worker serves (the worker swaps it in without a restart).</summary>
    /// <param name="version">A version in the registry.</param>
    /// <param name="reason">Why, for the history.</param>
    /// <param name="action"><c>promote</c> or <c>rollback</c>.</param>
    /// <returns>The version served before.</returns>
    /// <exception cref="ArgumentException">The version is not in the registry.</exception>
    public string? Promote(string version, string reason, string action = "promote")
    {
        ArgumentNullException.ThrowIfNull(version);
        return Change(record =>
        {
            record = WithSeed(record);
            var entry = record.Models.FirstOrDefault(m => m.Version == version)
                ?? throw new ArgumentException($"model version '{version}' is not in the registry ({Directory}); see 'smartmail models list'.", nameof(version));
            // Load before serving: a bundle that does not load is never put in front of the worker.
            using (ModelBundle.Load(Path.Combine(Directory, entry.File)))
            {
            }
            var temp = CurrentPath + ".tmp";
            File.Copy(Path.Combine(Directory, entry.File), temp, overwrite: true);
            using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite))
            {
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, CurrentPath, overwrite: true);
            var previous = record.Current;
            var models = record.Models.Select(m => m.Version == version ? m with { Status = "current" }
                : m.Status == "current" ? m with { Status = "retired" } : m).ToList();
            var history = record.History.Append(new RegistryEvent(DateTimeOffset.UtcNow, action, version, previous, reason)).ToList();
            return (record with { Current = version, Models = models, History = history }, previous);
        });
    }

    /// <summary>Serves the model that was served before the current one.</summary>
    /// <param name="reason">Why, for the history.</param>
    /// <returns>The version now served.</returns>
    /// <exception cref="InvalidOperationException">Nothing to roll back to.</exception>
    public string Rollback(string reason)
    {
        var record = Read();
        var previous = record.History.LastOrDefault(e => e.Version == record.Current)?.Previous
            ?? throw new InvalidOperationException("There is no earlier model to roll back to (nothing was promoted over another model).");
        Promote(previous, reason, "rollback");
        return previous;
    }

    // The configured model becomes the first version the first time the registry changes, so a rollback can return to it.
    private RegistryRecord WithSeed(RegistryRecord record)
    {
        if (record.Current is not null || !File.Exists(SeedModelPath))
        {
            return record;
        }
        using var seed = ModelBundle.Load(SeedModelPath);
        var file = Path.Combine("versions", seed.Manifest.ModelVersion + ".zip");
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "versions"));
        File.Copy(SeedModelPath, Path.Combine(Directory, file), overwrite: true);
        var entry = Entry(seed.Manifest, file, "current", null);
        return record with
        {
            Current = entry.Version,
            Models = [entry, .. record.Models.Where(m => m.Version != entry.Version)],
            History = [.. record.History, new RegistryEvent(DateTimeOffset.UtcNow, "seed", entry.Version, null, $"the configured model {Path.GetFileName(SeedModelPath)}")],
        };
    }

    /// <summary>The version served now.</summary>
    /// <returns>The version, from the registry or the configured bundle's manifest.</returns>
    public string CurrentVersion()
    {
        if (Read().Current is { } current)
        {
            return current;
        }
        using var seed = ModelBundle.Load(SeedModelPath);
        return seed.Manifest.ModelVersion;
    }

    /// <summary>Ensures the configured model is recorded as the first version.</summary>
    public void EnsureSeeded() => Change(record => (WithSeed(record), 0));

    private static ModelEntry Entry(ModelManifest manifest, string file, string status, string? report) =>
        new(manifest.ModelVersion, manifest.CreatedUtc, file, status, manifest.Labels.Count,
            manifest.Labels.Count(l => l.Threshold is not null), manifest.Training.Documents, manifest.HoldoutMetrics?.MacroF1, report);

    private T Change<T>(Func<RegistryRecord, (RegistryRecord Record, T Result)> change)
    {
        System.IO.Directory.CreateDirectory(Directory);
        // One writer at a time across processes (the CLI and a worker's schedule).
        using var lockFile = OpenLock();
        var (record, result) = change(Read());
        var path = Path.Combine(Directory, "registry.json");
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(record, Json));
        File.Move(path + ".tmp", path, overwrite: true);
        return result;
    }

    private FileStream OpenLock()
    {
        var path = Path.Combine(Directory, "registry.lock");
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 100)
            {
                Thread.Sleep(100);
            }
        }
    }
}

/// <summary>The content of <c>registry.json</c>.</summary>
public sealed record RegistryRecord
{
    /// <summary>The version served, <see langword="null"/> before the first promotion.</summary>
    public string? Current { get; init; }

    /// <summary>Every version kept.</summary>
    public IReadOnlyList<ModelEntry> Models { get; init; } = [];

    /// <summary>Promotions and rollbacks, oldest first.</summary>
    public IReadOnlyList<RegistryEvent> History { get; init; } = [];
}

/// <summary>One model version.</summary>
/// <param name="Version">The manifest's version.</param>
/// <param name="CreatedUtc">When it was trained.</param>
/// <param name="File">The bundle, relative to the registry folder.</param>
/// <param name="Status"><c>current</c>, <c>retired</c>, <c>rejected</c> or <c>candidate</c>.</param>
/// <param name="Labels">Labels it knows.</param>
/// <param name="RoutedLabels">Labels it routes automatically (the others are manual-only).</param>
/// <param name="Documents">Training documents.</param>
/// <param name="HoldoutMacroF1">Macro-F1 on its own held-out share.</param>
/// <param name="Report">Its comparison report, relative to the registry folder.</param>
public sealed record ModelEntry(string Version, DateTimeOffset CreatedUtc, string File, string Status, int Labels, int RoutedLabels,
    int Documents, double? HoldoutMacroF1, string? Report);

/// <summary>A promotion, rollback or seeding.</summary>
/// <param name="TimeUtc">When.</param>
/// <param name="Action"><c>seed</c>, <c>promote</c> or <c>rollback</c>.</param>
/// <param name="Version">The version served from then on.</param>
/// <param name="Previous">The version served before.</param>
/// <param name="Reason">Why.</param>
public sealed record RegistryEvent(DateTimeOffset TimeUtc, string Action, string Version, string? Previous, string Reason);
