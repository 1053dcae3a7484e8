using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.StateStores;

namespace SmartMail.Worker.Tests.Learning;

/// <summary>Two small models trained once per test class: the configured one (two labels) and a candidate (three).</summary>
public sealed class RegistryModels : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-registry-models-");

    public RegistryModels()
    {
        Seed = Train("seed", Topics.Space, Topics.Cars);
        Next = Train("next", Topics.Space, Topics.Cars, Topics.Parking);
    }

    public (string Path, string Version) Seed { get; }

    public (string Path, string Version) Next { get; }

    public void Dispose() => _dir.Delete(recursive: true);

    private (string Path, string Version) Train(string name, params string[] topics)
    {
        var history = TrainingSet.FromFolders(Topics.WriteHistory(Path.Combine(_dir.FullName, name), 20, topics), new Core.Mime.MailExtractor());
        using var bundle = ModelTraining.Train(history, new TrainingOptions { Seed = name.Length }).Bundle;
        var path = Path.Combine(_dir.FullName, name + ".zip");
        bundle.Save(path);
        return (path, bundle.Manifest.ModelVersion);
    }
}

/// <summary>
/// The model registry in the state store, run against each provider (<see cref="SqliteModelRegistryTests"/>,
/// <see cref="PostgreSqlModelRegistryTests"/>): instances are store objects on one database, each with its own data directory
/// (model cache, audit.jsonl) and its own model provider.
/// </summary>
public abstract class ModelRegistryTests(RegistryModels models) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-registry-");
    private readonly List<IDisposable> _open = [];
    private string? _database;

    /// <summary>A new, empty database.</summary>
    protected abstract string NewDatabase(string directory);

    /// <summary>A store on <paramref name="database"/> as instance <paramref name="instance"/>, mirroring its audit rows to <paramref name="auditFile"/>.</summary>
    protected abstract StateStore OpenStore(string database, string instance, string auditFile);

    public void Dispose()
    {
        foreach (var d in Enumerable.Reverse(_open))
        {
            d.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
        GC.SuppressFinalize(this);
    }

    private sealed record Instance(SmartMailOptions Options, StateStore Store, ModelRegistry Registry, ModelProvider Provider)
    {
        public string AuditFile => Path.Combine(Options.DataDirectory, "audit.jsonl");

        public string Serves => Provider.Policy.Model!.Manifest.ModelVersion;
    }

    private Instance Start(string name)
    {
        _database ??= NewDatabase(_dir.FullName);
        var options = new SmartMailOptions { DataDirectory = Path.Combine(_dir.FullName, name), ModelPath = models.Seed.Path };
        DataDirectoryPermissions.Prepare(options.DataDirectory);
        var store = OpenStore(_database, name, Path.Combine(options.DataDirectory, "audit.jsonl"));
        _open.Add(store);
        var provider = new ModelProvider(options, NullLogger<ModelProvider>.Instance, store: store);
        _open.Add(provider);
        return new Instance(options, store, ModelRegistry.For(options, store), provider);
    }

    private string AddNext(Instance instance)
    {
        using var bundle = ModelBundle.Load(models.Next.Path);
        return instance.Registry.Add(bundle, "candidate").Version;
    }

    private static string[] ModelAuditLines(Instance instance) => File.Exists(instance.AuditFile)
        ? [.. File.ReadLines(instance.AuditFile).Where(l => l.Contains("\"promote\"", StringComparison.Ordinal) || l.Contains("\"rollback\"", StringComparison.Ordinal))]
        : [];

    [Fact]
    public void PromoteOnA_IsServedByB_WithoutRestart_RollbackOnB_IsServedByA_EachWithOneAuditRow()
    {
        var a = Start("a");
        var b = Start("b");
        Assert.Equal(models.Seed.Version, b.Serves); // nothing promoted: the configured model
        Assert.False(b.Provider.RefreshIfChanged());
        var next = AddNext(a);

        Assert.Equal(models.Seed.Version, a.Registry.Promote(next, "better", "cli", "alice")); // the configured model, recorded as the first version

        Assert.True(b.Provider.RefreshIfChanged());
        Assert.Equal(next, b.Serves);
        Assert.Equal(3, b.Provider.Policy.Model!.Model.Labels.Count);
        Assert.True(File.Exists(Path.Combine(b.Options.DataDirectory, "models", ModelRegistry.CacheFile(next))));
        Assert.True(a.Provider.RefreshIfChanged());
        Assert.Equal(next, a.Serves);
        Assert.False(b.Provider.RefreshIfChanged()); // nothing changed since
        var record = b.Registry.Read();
        Assert.Equal(next, record.Current);
        Assert.Equal(["seed", "promote"], record.History.Select(h => h.Action));
        Assert.Equal("retired", record.Models.Single(m => m.Version == models.Seed.Version).Status);
        Assert.Equal("current", record.Models.Single(m => m.Version == next).Status);
        var promoted = Assert.Single(b.Store.ReadAudit(), r => r.Outcome == "promote");
        Assert.Equal((next, "cli", "alice"), (promoted.ModelVersion, promoted.Source, promoted.By));
        Assert.Contains(next, Assert.Single(ModelAuditLines(a)), StringComparison.Ordinal);

        Assert.Equal(models.Seed.Version, b.Registry.Rollback("worse in service", "web", "ida"));

        Assert.True(a.Provider.RefreshIfChanged());
        Assert.Equal(models.Seed.Version, a.Serves);
        Assert.True(b.Provider.RefreshIfChanged());
        Assert.Equal(models.Seed.Version, b.Serves);
        var rolledBack = Assert.Single(a.Store.ReadAudit(), r => r.Outcome == "rollback");
        Assert.Equal((models.Seed.Version, "web", "ida"), (rolledBack.ModelVersion, rolledBack.Source, rolledBack.By));
        Assert.Single(ModelAuditLines(a)); // A's audit.jsonl: its own promotion only
        Assert.Contains("rollback", Assert.Single(ModelAuditLines(b)), StringComparison.Ordinal);
        Assert.Equal(["seed", "promote", "rollback"], a.Registry.Read().History.Select(h => h.Action));

        // A version no longer wanted leaves the store (not the one served), with one audit row; its history stays.
        Assert.Throws<InvalidOperationException>(() => b.Registry.Delete(models.Seed.Version, "test"));
        b.Registry.Delete(next, "trained on erased mail", "cli", "dorte");
        Assert.Null(a.Store.ReadModelBundle(next));
        Assert.False(File.Exists(Path.Combine(b.Options.DataDirectory, "models", ModelRegistry.CacheFile(next))));
        Assert.DoesNotContain(a.Registry.Read().Models, m => m.Version == next);
        Assert.Equal(3, a.Registry.Read().History.Count);
        var deleted = Assert.Single(a.Store.ReadAudit(), r => r.Outcome == "delete-model");
        Assert.Equal((next, "cli", "dorte"), (deleted.ModelVersion, deleted.Source, deleted.By));
        Assert.Throws<ArgumentException>(() => b.Registry.Delete(next, "again"));
    }

    [Fact]
    public void UnknownVersion_BrokenBundle_AndNothingToRollBackTo_AreRefused_TheModelServedStays()
    {
        var a = Start("a");
        var b = Start("b");
        Assert.Contains("no earlier model", Assert.Throws<InvalidOperationException>(() => a.Registry.Rollback("test")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => a.Registry.Promote("no-such-version", "test"));
        var next = AddNext(a);
        a.Registry.Promote(next, "test");
        Assert.True(b.Provider.RefreshIfChanged());

        // A version whose bytes do not load (another binary wrote it, or the bytes were damaged): promote refuses it before serving it.
        var broken = a.Registry.Read().Models.Single(m => m.Version == next) with { Version = "broken-1", Status = "candidate" };
        a.Store.AddModel(new StoredModel(broken, "not a zip"u8.ToArray(), null), DateTimeOffset.UtcNow);
        Assert.Throws<ModelBundleException>(() => a.Registry.Promote("broken-1", "test"));
        Assert.Equal(next, a.Registry.CurrentVersion());
        Assert.Single(a.Store.ReadAudit(), r => r.Outcome == "promote");

        // Served all the same (the store written past the registry's check): each instance refuses it with one line and keeps its model.
        a.Store.ChangeModel("broken-1", "test", DateTimeOffset.UtcNow, c => new AuditEntry
        {
            Time = DateTimeOffset.UtcNow, DecisionId = "", Fingerprint = "", Mailbox = "", Source = "test", Reason = "test", Destination = "",
            Outcome = c.Action, ModelVersion = c.Version,
        });
        Assert.False(b.Provider.RefreshIfChanged());
        Assert.Equal(next, b.Serves);
        Assert.False(b.Provider.RefreshIfChanged()); // not tried again until the registry changes
        Assert.Equal(next, b.Registry.Rollback("test"));
        Assert.True(b.Provider.RefreshIfChanged());
        Assert.Equal(next, b.Serves);
    }

    [Fact]
    public void ConcurrentPromotionsFromFourInstances_LeaveOneConsistentHistory()
    {
        var first = Start("i0");
        var next = AddNext(first);
        first.Registry.EnsureSeeded();
        var instances = new[] { first, Start("i1"), Start("i2"), Start("i3") };
        const int Rounds = 5;
        Parallel.ForEach(instances, new ParallelOptions { MaxDegreeOfParallelism = instances.Length }, instance =>
        {
            for (var i = 0; i < Rounds; i++)
            {
                instance.Registry.Promote(i % 2 == 0 ? next : models.Seed.Version, $"round {i}", "cli", instance.Store.InstanceId);
            }
        });

        var record = first.Registry.Read();
        var changes = record.History.Skip(1).ToList();
        Assert.Equal("seed", record.History[0].Action);
        Assert.Equal(instances.Length * Rounds, changes.Count);
        // Each change names as its previous the version the change before it served: no promotion saw a stale registry.
        for (var i = 0; i < changes.Count; i++)
        {
            Assert.Equal(record.History[i].Version, changes[i].Previous);
        }
        Assert.Equal(record.Current, Assert.Single(record.Models, m => m.Status == "current").Version);
        Assert.Equal(instances.Length * Rounds, first.Store.ReadAudit().Count(r => r.Outcome == "promote"));
        Assert.All(instances, i => Assert.Equal(Rounds, ModelAuditLines(i).Length));
    }

    [Fact]
    public void FilesRegistryOfAnEarlierVersion_IsImportedOnce_AndServed()
    {
        var options = new SmartMailOptions { DataDirectory = Path.Combine(_dir.FullName, "old"), ModelPath = models.Seed.Path };
        var folder = Path.Combine(options.DataDirectory, "models");
        Directory.CreateDirectory(Path.Combine(folder, "versions"));
        Directory.CreateDirectory(Path.Combine(folder, "reports"));
        File.Copy(models.Seed.Path, Path.Combine(folder, "versions", models.Seed.Version + ".zip"));
        File.Copy(models.Next.Path, Path.Combine(folder, "versions", models.Next.Version + ".zip"));
        File.Copy(models.Next.Path, Path.Combine(folder, "current.zip"));
        File.WriteAllText(Path.Combine(folder, "reports", "r.md"), "# Retrain: Promoted");
        var time = new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
        File.WriteAllText(Path.Combine(folder, "registry.json"), System.Text.Json.JsonSerializer.Serialize(new RegistryRecord
        {
            Current = models.Next.Version,
            Models =
            [
                new ModelEntry(models.Seed.Version, time, $"versions/{models.Seed.Version}.zip", "retired", 2, 2, 40, 0.9, null),
                new ModelEntry(models.Next.Version, time.AddDays(1), $"versions/{models.Next.Version}.zip", "current", 3, 3, 60, 0.95, "reports/r.md"),
            ],
            History =
            [
                new RegistryEvent(time, "seed", models.Seed.Version, null, "the configured model"),
                new RegistryEvent(time.AddDays(1), "promote", models.Next.Version, models.Seed.Version, "better"),
            ],
        }, ModelBundle.JsonOptions));
        _database ??= NewDatabase(_dir.FullName);
        var store = OpenStore(_database, "old", Path.Combine(options.DataDirectory, "audit.jsonl"));
        _open.Add(store);

        using var provider = new ModelProvider(options, NullLogger<ModelProvider>.Instance, store: store);

        Assert.Equal(models.Next.Version, provider.Policy.Model!.Manifest.ModelVersion);
        Assert.False(File.Exists(Path.Combine(folder, "registry.json")));
        Assert.True(File.Exists(Path.Combine(folder, "registry.json.imported")));
        Assert.True(File.Exists(Path.Combine(folder, "versions", models.Next.Version + ".zip"))); // the old files are kept
        var registry = ModelRegistry.For(options, store);
        Assert.False(registry.ImportFiles()); // once
        var record = registry.Read();
        Assert.Equal(models.Next.Version, record.Current);
        Assert.Equal(["seed", "promote"], record.History.Select(h => h.Action));
        Assert.Equal(time.AddDays(1), record.History[1].TimeUtc);
        Assert.Equal("# Retrain: Promoted", registry.Report(models.Next.Version));
        Assert.Equal(models.Seed.Version, registry.Rollback("back to the first"));
        Assert.True(provider.RefreshIfChanged());
        Assert.Equal(models.Seed.Version, provider.Policy.Model!.Manifest.ModelVersion);
    }
}

/// <summary>The registry on SQLite: instances are store objects on one file.</summary>
public sealed class SqliteModelRegistryTests(RegistryModels models) : ModelRegistryTests(models), IClassFixture<RegistryModels>
{
    protected override string NewDatabase(string directory) => Path.Combine(directory, "state.db");

    protected override StateStore OpenStore(string database, string instance, string auditFile) =>
        new SqliteStateStore(database, TimeSpan.FromSeconds(30), auditFile);
}

/// <summary>The registry on a real PostgreSQL shared by the instances (one server per class, one database per test).</summary>
public sealed class PostgreSqlModelRegistryTests(RegistryModels models, PostgreSqlFixture postgres)
    : ModelRegistryTests(models), IClassFixture<RegistryModels>, IClassFixture<PostgreSqlFixture>
{
    protected override string NewDatabase(string directory) => postgres.NewDatabaseAsync().GetAwaiter().GetResult();

    protected override StateStore OpenStore(string database, string instance, string auditFile) =>
        new PostgreSqlStateStore(database, instance, auditFile);
}
