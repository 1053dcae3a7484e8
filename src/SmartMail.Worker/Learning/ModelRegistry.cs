using System.Text.Json;
using SmartMail.Core.Classification;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Learning;

/// <summary>
/// The versioned models of an installation, kept in the state store (<see cref="IModelStore"/>: SQLite's <c>state.db</c>, or the
/// PostgreSQL database a fleet shares): every bundle trained by a retrain with its comparison report, the history of
/// promotions and rollbacks, and which version is served. Until something is promoted the worker serves
/// <see cref="SmartMailOptions.ModelPath"/>. Each instance reads a promoted bundle into its own cache,
/// <c>DataDirectory/models/cache/VERSION.zip</c> (written, then renamed), and serves it from there. A promotion or rollback
/// commits in one transaction with its audit row. A registry kept in files by an earlier SmartMail
/// (<c>DataDirectory/models/registry.json</c>) is imported into the store when the registry is first opened.
/// </summary>
public sealed class ModelRegistry
{
    private static readonly JsonSerializerOptions Json = new(ModelBundle.JsonOptions) { WriteIndented = true };
    private readonly TimeProvider _time;

    /// <summary>Opens the registry in <paramref name="store"/>, with its cache and reports in <paramref name="directory"/>.</summary>
    /// <param name="store">The state store.</param>
    /// <param name="directory">The local folder (<c>DataDirectory/models</c>).</param>
    /// <param name="seedModelPath">The configured model, served until a promotion.</param>
    /// <param name="time">The clock; the system's when <see langword="null"/>.</param>
    public ModelRegistry(IModelStore store, string directory, string seedModelPath, TimeProvider? time = null)
    {
        Store = store ?? throw new ArgumentNullException(nameof(store));
        Directory = Path.GetFullPath(directory);
        SeedModelPath = seedModelPath;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Where the registry lives.</summary>
    public IModelStore Store { get; }

    /// <summary>The local folder: the cache of bundles read from the store, and the retrainer's report files.</summary>
    public string Directory { get; }

    /// <summary>The configured model (<c>SmartMail:ModelPath</c>).</summary>
    public string SeedModelPath { get; }

    /// <summary>Where comparison reports are written.</summary>
    public string ReportsDirectory => Path.Combine(Directory, "reports");

    /// <summary>The registry of an installation; a files registry of an earlier SmartMail in its data directory is imported first.</summary>
    /// <param name="options">The worker's options.</param>
    /// <param name="store">The state store.</param>
    /// <param name="time">The clock; the system's when <see langword="null"/>.</param>
    /// <returns>The registry.</returns>
    public static ModelRegistry For(SmartMailOptions options, IModelStore store, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The registry may be the first to write into a new data directory (`smartmail models` before any run): it is
        // created private, as the worker would, or the worker would refuse it at start as readable by others.
        DataDirectoryPermissions.Prepare(options.DataDirectory);
        var registry = new ModelRegistry(store, Path.Combine(options.DataDirectory, "models"), options.ModelPath, time);
        registry.ImportFiles();
        return registry;
    }

    /// <summary>The cache file of <paramref name="version"/>, relative to <see cref="Directory"/>.</summary>
    /// <param name="version">The version.</param>
    /// <returns><c>cache/VERSION.zip</c> (a version that is no safe file name: its hash).</returns>
    public static string CacheFile(string version)
    {
        ArgumentNullException.ThrowIfNull(version);
        var safe = version.Length is > 0 and <= 100 && version.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && version[0] != '.'
            ? version
            : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(version)));
        return Path.Combine("cache", safe + ".zip");
    }

    /// <summary>The bundle the worker serves: the promoted one (read into the cache), else the configured one.</summary>
    /// <exception cref="StateStoreException">The store cannot be read.</exception>
    public string ActivePath => Store.CurrentModel() is { } head ? PathOf(head.Version) : SeedModelPath;

    /// <summary>The local file of <paramref name="version"/>: its cache file, read from the store the first time.</summary>
    /// <param name="version">A version in the registry.</param>
    /// <returns>The path.</returns>
    /// <exception cref="ArgumentException">The version is not in the registry.</exception>
    public string PathOf(string version)
    {
        var path = Path.Combine(Directory, CacheFile(version));
        if (File.Exists(path))
        {
            return path; // versions do not change: the cache file was complete when it was renamed into place
        }
        var bytes = Store.ReadModelBundle(version)
            ?? throw new ArgumentException($"model version '{version}' is not in the registry; see 'smartmail models list'.", nameof(version));
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>The registry's record.</summary>
    /// <returns>The record.</returns>
    public RegistryRecord Read() => Store.ReadModels();

    /// <summary>The comparison report (Markdown) of <paramref name="version"/>, if it has one.</summary>
    /// <param name="version">The version.</param>
    /// <returns>The text.</returns>
    public string? Report(string version) => Store.ReadModelReport(version);

    /// <summary>Keeps a trained bundle as a version (not yet served).</summary>
    /// <param name="bundle">The bundle.</param>
    /// <param name="status"><c>candidate</c>, <c>rejected</c>, ...</param>
    /// <param name="report">Its comparison report (Markdown), relative to the registry folder; its text is kept in the store.</param>
    /// <returns>The entry.</returns>
    public ModelEntry Add(ModelBundle bundle, string status, string? report = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var entry = Entry(bundle.Manifest, status, report);
        var text = report is not null && File.Exists(Path.Combine(Directory, report)) ? File.ReadAllText(Path.Combine(Directory, report)) : null;
        Store.AddModel(new StoredModel(entry, Bytes(bundle), text), _time.GetUtcNow());
        return entry;
    }

    /// <summary>Makes <paramref name="version"/> the model every instance serves (each swaps it in without a restart).</summary>
    /// <param name="version">A version in the registry.</param>
    /// <param name="reason">Why, for the history.</param>
    /// <param name="via">Who changes it, for the audit row: <c>web</c>, <c>cli</c> or <c>learning</c>.</param>
    /// <param name="by">The person, for the audit row.</param>
    /// <returns>The version served before.</returns>
    /// <exception cref="ArgumentException">The version is not in the registry.</exception>
    /// <exception cref="ModelBundleException">Its bundle does not load (nothing changes).</exception>
    public string? Promote(string version, string reason, string via = "learning", string? by = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        EnsureSeeded();
        // Load before serving: a bundle that does not load is never put in front of the workers.
        using (ModelBundle.Load(PathOf(version)))
        {
        }
        return Store.ChangeModel(version, reason, _time.GetUtcNow(), c => Audit(c, reason, via, by)).Previous;
    }

    /// <summary>Serves the model that was served before the current one.</summary>
    /// <param name="reason">Why, for the history.</param>
    /// <param name="via">Who changes it, for the audit row: <c>web</c>, <c>cli</c> or <c>learning</c>.</param>
    /// <param name="by">The person, for the audit row.</param>
    /// <returns>The version now served.</returns>
    /// <exception cref="InvalidOperationException">Nothing to roll back to.</exception>
    /// <exception cref="ModelBundleException">Its bundle does not load (nothing changes).</exception>
    public string Rollback(string reason, string via = "learning", string? by = null)
    {
        var record = Read();
        if (record.History.LastOrDefault(e => e.Version == record.Current)?.Previous is { } previous)
        {
            using (ModelBundle.Load(PathOf(previous)))
            {
            }
        }
        // The store finds the version to go back to again, under its lock (another instance may have changed it meanwhile).
        return Store.ChangeModel(null, reason, _time.GetUtcNow(), c => Audit(c, reason, via, by)).Version;
    }

    /// <summary>
    /// Deletes a version that is not served (its bundle in the store and this instance's cache file): a model trained on
    /// mail a person had erased, or one no longer wanted. Its history rows stay. Other instances' cache files go when their
    /// data directory is cleaned.
    /// </summary>
    /// <param name="version">The version.</param>
    /// <param name="reason">Why, for the audit row.</param>
    /// <param name="via">Who deletes it: <c>web</c>, <c>cli</c> or <c>learning</c>.</param>
    /// <param name="by">The person.</param>
    /// <exception cref="ArgumentException">The version is not in the registry.</exception>
    /// <exception cref="InvalidOperationException">The version is served now.</exception>
    public void Delete(string version, string reason, string via = "cli", string? by = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        Store.DeleteModel(version, new AuditEntry
        {
            Time = _time.GetUtcNow(),
            DecisionId = "",
            Fingerprint = "",
            Mailbox = "",
            Source = via,
            ModelVersion = version,
            Reason = $"model {version} deleted via {via}: {reason}",
            Destination = "",
            Outcome = "delete-model",
            By = by,
        });
        File.Delete(Path.Combine(Directory, CacheFile(version)));
    }

    private AuditEntry Audit(ModelChange change, string reason, string via, string? by) => new()
    {
        Time = _time.GetUtcNow(),
        DecisionId = "",
        Fingerprint = "",
        Mailbox = "",
        Source = via,
        ModelVersion = change.Version,
        Reason = $"model {change.Version} {(change.Action == "rollback" ? "served again by a rollback" : "promoted")} via {via} " +
            $"(was {change.Previous ?? "the configured model"}): {reason}",
        Destination = "",
        Outcome = change.Action,
        By = by,
    };

    /// <summary>The version served now.</summary>
    /// <returns>The version, from the registry or the configured bundle's manifest.</returns>
    public string CurrentVersion()
    {
        if (Store.CurrentModel() is { } head)
        {
            return head.Version;
        }
        using var seed = ModelBundle.Load(SeedModelPath);
        return seed.Manifest.ModelVersion;
    }

    /// <summary>Records the configured model as the first version (so a rollback can return to it), unless the registry has a history.</summary>
    public void EnsureSeeded()
    {
        if (Store.CurrentModel() is not null || !File.Exists(SeedModelPath))
        {
            return;
        }
        using var seed = ModelBundle.Load(SeedModelPath);
        Store.SeedModel(new StoredModel(Entry(seed.Manifest, "current", null), File.ReadAllBytes(SeedModelPath), null),
            $"the configured model {Path.GetFileName(SeedModelPath)}", _time.GetUtcNow());
    }

    /// <summary>
    /// Imports the files registry of an earlier SmartMail (<c>registry.json</c>, <c>versions/</c>, <c>reports/</c>) into an
    /// empty registry in the store, once: <c>registry.json</c> is renamed <c>registry.json.imported</c> (the bundles and
    /// reports stay where they were). When the store's registry has other versions already (another instance's, on a shared
    /// database), nothing is imported and the file is renamed <c>registry.json.not-imported</c>.
    /// </summary>
    /// <returns>Whether anything was imported.</returns>
    /// <exception cref="IOException"><c>registry.json</c> is not readable.</exception>
    public bool ImportFiles()
    {
        var file = Path.Combine(Directory, "registry.json");
        if (!File.Exists(file))
        {
            return false;
        }
        RegistryRecord old;
        try
        {
            old = JsonSerializer.Deserialize<RegistryRecord>(File.ReadAllText(file), Json) ?? new RegistryRecord();
        }
        catch (JsonException ex)
        {
            throw new IOException($"The model registry '{file}' of an earlier SmartMail is not readable, so it cannot be imported into the state store: {ex.Message}", ex);
        }
        var models = new List<StoredModel>();
        foreach (var m in old.Models)
        {
            var bundle = Path.Combine(Directory, m.File);
            if (!File.Exists(bundle) && m.Version == old.Current)
            {
                bundle = Path.Combine(Directory, "current.zip");
            }
            if (File.Exists(bundle))
            {
                var report = m.Report is { } r && File.Exists(Path.Combine(Directory, r)) ? File.ReadAllText(Path.Combine(Directory, r)) : null;
                models.Add(new StoredModel(m with { File = CacheFile(m.Version) }, File.ReadAllBytes(bundle), report));
            }
        }
        var imported = Store.ImportModels(models, old.History);
        var known = Read().Models.Select(m => m.Version).ToHashSet(StringComparer.Ordinal);
        File.Move(file, file + (imported || models.All(m => known.Contains(m.Entry.Version)) ? ".imported" : ".not-imported"), overwrite: true);
        return imported;
    }

    // The bundle's bytes, saved into its cache file on the way (Save writes, then renames), never into a shared temporary folder.
    private byte[] Bytes(ModelBundle bundle)
    {
        var path = Path.Combine(Directory, CacheFile(bundle.Manifest.ModelVersion));
        bundle.Save(path);
        return File.ReadAllBytes(path);
    }

    private static ModelEntry Entry(ModelManifest manifest, string status, string? report) =>
        new(manifest.ModelVersion, manifest.CreatedUtc, CacheFile(manifest.ModelVersion), status, manifest.Labels.Count,
            manifest.Labels.Count(l => l.Threshold is not null), manifest.Training.Documents, manifest.HoldoutMetrics?.MacroF1, report);
}

/// <summary>The registry's record (and the content of an earlier SmartMail's <c>registry.json</c>).</summary>
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
/// <param name="File">The bundle's local file, relative to the registry folder (its cache file).</param>
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
