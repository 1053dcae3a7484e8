using Microsoft.Data.Sqlite;
using Npgsql;
using SmartMail.Core.Mime;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.StateStores;

namespace SmartMail.Cli.Tests.Ops;

/// <summary><c>smartmail state migrate</c> and <c>smartmail state copy</c>, the real CLI against a real PostgreSQL.</summary>
public sealed class StateCommandTests(PostgreSqlFixture postgres) : IClassFixture<PostgreSqlFixture>
{
    private static string Sample(string name) => CliProcess.EnglishSample(name);

    [Fact]
    public async Task Migrate_OnPostgreSqlAndOnSqlite_AppliesTheSchemaAndPrintsItsVersion()
    {
        var connection = await postgres.NewDatabaseAsync();
        var dir = CliProcess.TempDirectory();

        var pg = await CliProcess.RunAsync(dir, "state", "migrate", $"--SmartMail:DataDirectory={Path.Combine(dir, "pg")}", $"--SmartMail:ModelPath={CliProcess.DefaultModel}",
            "--SmartMail:State:Provider=PostgreSql", $"--SmartMail:State:ConnectionString={connection}");
        var sqlite = await CliProcess.RunAsync(dir, "state", "migrate", $"--SmartMail:DataDirectory={Path.Combine(dir, "data")}", $"--SmartMail:ModelPath={CliProcess.DefaultModel}");

        Assert.True(pg.ExitCode == 0, pg.ToString());
        Assert.Contains("postgresql://127.0.0.1:", pg.Stdout, StringComparison.Ordinal);
        Assert.Contains("schema version 3.", pg.Stdout, StringComparison.Ordinal); // PostgreSQL's third: the model registry
        Assert.Equal("3", Scalar(connection, "SELECT value FROM meta WHERE key = 'schema_version'"));
        Assert.DoesNotContain(new NpgsqlConnectionStringBuilder(connection).Password!, pg.Stdout + pg.Stderr, StringComparison.Ordinal);
        Assert.True(sqlite.ExitCode == 0, sqlite.ToString());
        Assert.Contains("schema version 2.", sqlite.Stdout, StringComparison.Ordinal); // SQLite's second: the model registry
        Assert.True(File.Exists(Path.Combine(dir, "data", "state.db")));
    }

    [Fact]
    public async Task Copy_ARoutedAndCorrectedSqliteState_FillsAnEmptyDatabaseWithEveryRow_AndRefusesANonEmptyOne()
    {
        var connection = await postgres.NewDatabaseAsync();
        var dir = CliProcess.TempDirectory();
        var inbox = Directory.CreateDirectory(Path.Combine(dir, "inbox")).FullName;
        foreach (var name in new[] { "01-shuttle-launch.eml", "02-engine-noise.eml", "06-hockey.eml" })
        {
            File.Copy(Sample(name), Path.Combine(inbox, name));
        }
        var data = Path.Combine(dir, "data");
        string[] settings = [$"--SmartMail:DataDirectory={data}", $"--SmartMail:ModelPath={CliProcess.DefaultModel}", $"--SmartMail:Inbox={inbox}"];
        var run = await CliProcess.RunAsync(dir, ["run", .. settings]);
        Assert.True(run.ExitCode == 0, run.ToString());
        var fingerprint = MailExtractor.Fingerprint(await File.ReadAllBytesAsync(Sample("01-shuttle-launch.eml"), TestContext.Current.CancellationToken))[..16];
        var correct = await CliProcess.RunAsync(dir, ["correct", fingerprint, "sci.med", .. settings]);
        Assert.True(correct.ExitCode == 0, correct.ToString());
        string served;
        using (var bundle = SmartMail.Core.Classification.ModelBundle.Load(CliProcess.DefaultModel))
        {
            served = bundle.Manifest.ModelVersion;
        }
        var promote = await CliProcess.RunAsync(dir, ["models", "promote", served, .. settings]); // the registry's rows, a bundle among them
        Assert.True(promote.ExitCode == 0, promote.ToString());
        var state = Path.Combine(data, "state.db");
        var before = StateCopy.Tables.ToDictionary(t => t, t => SqliteCount(state, t));
        var sqliteAudit = SqliteColumn(state, "SELECT outcome || '/' || decision_id FROM audit ORDER BY seq");

        var copy = await CliProcess.RunAsync(dir, ["state", "copy", "--to", connection, .. settings]);
        var again = await CliProcess.RunAsync(dir, ["state", "copy", "--to", connection, .. settings]);

        Assert.True(copy.ExitCode == 0, copy.ToString());
        Assert.Equal(3, before["mail"]);
        Assert.True(before["audit"] >= 5 && before["correction"] == 1 && before["example"] == 3, string.Join(", ", before));
        Assert.True(before["model_version"] == 1 && before["model_event"] == 2, string.Join(", ", before));
        foreach (var (table, rows) in before)
        {
            Assert.Equal(rows, long.Parse(Scalar(connection, $"SELECT COUNT(*) FROM {table}")!, System.Globalization.CultureInfo.InvariantCulture));
        }
        // The audit trail in its order, read through the store; the instance keeps the file's id (its IMAP claims carry it).
        var instance = SqliteColumn(state, "SELECT value FROM meta WHERE key = 'instance_id'").Single();
        Assert.Contains($"SmartMail:State:InstanceId={instance}", copy.Stdout, StringComparison.Ordinal);
        using (var store = new PostgreSqlStateStore(connection, instance))
        {
            Assert.Equal(sqliteAudit, store.ReadAudit().Select(a => a.Outcome + "/" + a.DecisionId));
            store.AppendAudit(store.ReadAudit()[0] with { Outcome = "after-copy" });
            Assert.Equal("after-copy", store.ReadAudit()[^1].Outcome); // the sequence continues after the copied rows
            Assert.Equal(served, store.CurrentModel()!.Version); // the model served, with its bundle's bytes
            Assert.Equal(await File.ReadAllBytesAsync(CliProcess.DefaultModel, TestContext.Current.CancellationToken), store.ReadModelBundle(served));
        }
        Assert.Equal(SqliteColumn(state, "SELECT value FROM meta WHERE key = 'thread_key'").Single(), Scalar(connection, "SELECT value FROM meta WHERE key = 'thread_key'"));
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("is not empty", again.Stderr, StringComparison.Ordinal);
        Assert.Equal(before["audit"] + 1, long.Parse(Scalar(connection, "SELECT COUNT(*) FROM audit")!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Copy_WithoutATarget_IsAUsageError()
    {
        var dir = CliProcess.TempDirectory();

        var result = await CliProcess.RunAsync(dir, "state", "copy", $"--SmartMail:DataDirectory={Path.Combine(dir, "data")}", $"--SmartMail:ModelPath={CliProcess.DefaultModel}");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--to", result.Stderr, StringComparison.Ordinal);
    }

    private static string? Scalar(string connection, string sql)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        return Convert.ToString(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long SqliteCount(string path, string table) => long.Parse(SqliteColumn(path, $"SELECT COUNT(*) FROM {table}").Single(), System.Globalization.CultureInfo.InvariantCulture);

    private static List<string> SqliteColumn(string path, string sql)
    {
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var result = new List<string>();
        while (r.Read())
        {
            result.Add(Convert.ToString(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }
        return result;
    }
}
