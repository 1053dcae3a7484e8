using System.Text.Json;
using Microsoft.Data.Sqlite;
using SmartMail.Worker.State;

namespace SmartMail.Cli.Tests.Ops;

/// <summary>
/// <c>smartmail backup</c> and <c>smartmail restore</c> as processes: a backup taken while <c>smartmail run --watch</c>
/// routes a stream of mail is a consistent snapshot, restores into an empty directory, and the restored instance routes
/// on with every audit row written before the backup (in the ledger and in audit.jsonl); a non-empty target or a damaged
/// backup is refused with one line and nothing written.
/// </summary>
public sealed class BackupRestoreTests
{
    private static string[] Settings(string data, string inbox, string journal) =>
    [
        $"--SmartMail:DataDirectory={data}",
        $"--SmartMail:ModelPath={CliProcess.DefaultModel}",
        $"--SmartMail:Inbox={inbox}",
        $"--SmartMail:Journal={journal}",
        "--SmartMail:PollInterval=00:00:00.100",
        "--SmartMail:Web:Enabled=false",
    ];

    [Fact]
    public async Task Backup_WhileMailFlows_RestoredInstanceRoutesOn_WithEveryEarlierAuditRow()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = CliProcess.TempDirectory();
        var (data, inbox, journal, backup) = (Path.Combine(root, "data"), Path.Combine(root, "inbox"), Path.Combine(root, "journal"), Path.Combine(root, "backup"));
        Directory.CreateDirectory(inbox);
        Drop(inbox, 20);
        await using var watch = BackgroundCli.Start(root, ["run", "--watch", .. Settings(data, inbox, journal)]);
        await WaitUntilAsync(() => AuditRows(data).Count >= 5, watch);

        // Mail keeps arriving while the backup runs; what was recorded before it began must all be in it.
        var before = AuditRows(data);
        using var stopDropping = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var dropping = Task.Run(async () =>
        {
            while (!stopDropping.IsCancellationRequested)
            {
                Drop(inbox, 1);
                await Task.Delay(20, CancellationToken.None);
            }
        }, CancellationToken.None);
        var result = await CliProcess.RunAsync(root, ["backup", "--out", backup, .. Settings(data, inbox, journal)]);
        await stopDropping.CancelAsync();
        await dropping;
        Assert.True(result.ExitCode == 0, result.ToString());
        var inBackup = AuditRowsOf(Path.Combine(backup, "state.db"));
        await WaitUntilAsync(() => AuditRows(data).Count > inBackup.Count && Directory.GetFiles(inbox).Length == 0, watch);
        Assert.Contains(await watch.StopAsync(), new[] { 0, 130 }); // SIGTERM: a clean stop, or "cancelled" when it came mid-wait
        Assert.Contains("Application is shutting down", watch.Output, StringComparison.Ordinal); // the host stopped, not the process cut short
        var live = AuditRows(data);

        var restored = PrivateDirectory(Path.Combine(root, "restored")); // empty and 0700, as an administrator prepares it
        var restore = await CliProcess.RunAsync(root, ["restore", "--from", backup, .. Settings(restored, inbox, journal)]);

        Assert.True(restore.ExitCode == 0, restore.ToString());
        var restoredRows = AuditRows(restored);
        Assert.Equal(before, restoredRows.Take(before.Count)); // every row written before the backup began
        Assert.Equal(restoredRows, live.Take(restoredRows.Count)); // a consistent snapshot: a prefix of the live trail
        Assert.True(live.Count > restoredRows.Count, "mail went on being routed after the snapshot");
        Assert.Equal(restoredRows, AuditLines(Path.Combine(restored, "audit.jsonl"))); // the file mirrors the ledger, no row short
        Assert.False(File.Exists(Path.Combine(restored, "smartmail.lock")));
        Assert.Empty(Directory.GetDirectories(restored, ".restoring-*"));

        // The restored instance routes on, from a fresh inbox, adding to the same trail.
        var (inbox2, journal2) = (Path.Combine(root, "inbox2"), Path.Combine(root, "journal2"));
        Directory.CreateDirectory(inbox2);
        Drop(inbox2, 3);
        var run = await CliProcess.RunAsync(root, ["run", .. Settings(restored, inbox2, journal2)]);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Empty(Directory.GetFiles(inbox2));
        Assert.Equal(3, Directory.GetFiles(journal2, "*.eml", SearchOption.AllDirectories).Length);
        var after = AuditRows(restored);
        Assert.Equal(restoredRows, after.Take(restoredRows.Count));
        Assert.True(after.Count >= restoredRows.Count + 3, $"{after.Count} rows after, {restoredRows.Count} restored");
        Assert.Equal(after, AuditLines(Path.Combine(restored, "audit.jsonl")));
    }

    [Fact]
    public async Task Restore_IntoANonEmptyDataDirectory_OneLineNamingTheSetting_NothingChanged()
    {
        var root = CliProcess.TempDirectory();
        var backup = await SmallBackupAsync(root);
        var data = PrivateDirectory(Path.Combine(root, "in-use"));
        await File.WriteAllTextAsync(Path.Combine(data, "state.db"), "the ledger of a running instance", TestContext.Current.CancellationToken);
        var before = CheckCommandTests.Snapshot(data);

        var result = await CliProcess.RunAsync(root, ["restore", "--from", backup, .. Settings(data, Path.Combine(root, "i"), Path.Combine(root, "j"))]);

        Assert.True(result.ExitCode == 1, result.ToString());
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("SmartMail:DataDirectory", line, StringComparison.Ordinal);
        Assert.Contains("not empty", line, StringComparison.Ordinal);
        Assert.Equal(before, CheckCommandTests.Snapshot(data));
    }

    [Fact]
    public async Task Restore_DamagedBackup_OneLineNamingTheFile_NothingWritten()
    {
        var root = CliProcess.TempDirectory();
        var backup = await SmallBackupAsync(root);
        var db = Path.Combine(backup, "state.db");
        var bytes = await File.ReadAllBytesAsync(db, TestContext.Current.CancellationToken);
        bytes[^1] ^= 0xFF;
        await File.WriteAllBytesAsync(db, bytes, TestContext.Current.CancellationToken);
        var data = Path.Combine(root, "new-data");

        var result = await CliProcess.RunAsync(root, ["restore", "--from", backup, .. Settings(data, Path.Combine(root, "i"), Path.Combine(root, "j"))]);

        Assert.True(result.ExitCode == 1, result.ToString());
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("'state.db' is damaged", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data));
        Assert.Empty(Directory.GetDirectories(root, "new-data.restoring-*"));
    }

    [Fact]
    public async Task Backup_IntoANonEmptyDirectory_OneLine_Exit1_ItsFilesKept()
    {
        var root = CliProcess.TempDirectory();
        var data = await LedgerAsync(root);
        var output = Directory.CreateDirectory(Path.Combine(root, "last-week")).FullName;
        await File.WriteAllTextAsync(Path.Combine(output, "state.db"), "last week's backup", TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(root, ["backup", "--out", output, .. Settings(data, Path.Combine(root, "i"), Path.Combine(root, "j"))]);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("--out", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.Equal("last week's backup", await File.ReadAllTextAsync(Path.Combine(output, "state.db"), TestContext.Current.CancellationToken));
    }

    // A data directory with a ledger of three audit rows (mirrored to audit.jsonl), web keys and a model registry file, backed up.
    private static async Task<string> SmallBackupAsync(string root)
    {
        var data = await LedgerAsync(root);
        var backup = Path.Combine(root, "backup");
        var result = await CliProcess.RunAsync(root, ["backup", "--out", backup, .. Settings(data, Path.Combine(root, "i"), Path.Combine(root, "j"))]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["audit.jsonl", "backup-manifest.json", "models/registry.json", "state.db", "web-keys/key-1.xml"],
            Directory.GetFiles(backup, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(backup, f).Replace('\\', '/')).Order(StringComparer.Ordinal));
        return backup;
    }

    private static async Task<string> LedgerAsync(string root)
    {
        var data = PrivateDirectory(Path.Combine(root, "data"));
        using (var store = new SqliteStateStore(Path.Combine(data, "state.db")))
        {
            for (var i = 0; i < 3; i++)
            {
                store.AppendAudit(new AuditEntry
                {
                    Time = DateTimeOffset.UtcNow, DecisionId = $"sm-{i:D24}", Fingerprint = new string('a', 64), Mailbox = "drop",
                    Source = "manual", Reason = "test", Destination = "sci.space", Outcome = "routed",
                });
            }
        }
        await File.WriteAllLinesAsync(Path.Combine(data, "audit.jsonl"), ["{\"decisionId\":\"sm-0\"}"], TestContext.Current.CancellationToken);
        Directory.CreateDirectory(Path.Combine(data, "web-keys"));
        await File.WriteAllTextAsync(Path.Combine(data, "web-keys", "key-1.xml"), "<key/>", TestContext.Current.CancellationToken);
        Directory.CreateDirectory(Path.Combine(data, "models"));
        await File.WriteAllTextAsync(Path.Combine(data, "models", "registry.json"), "{}", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(data, "smartmail.lock"), "", TestContext.Current.CancellationToken);
        return data;
    }

    // A data directory only its owner may enter: SmartMail refuses any other (SmartMail:DataDirectory, docs/operations.md).
    private static string PrivateDirectory(string path) => OperatingSystem.IsWindows()
        ? Directory.CreateDirectory(path).FullName
        : Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;

    private static void Drop(string inbox, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var name = Path.Combine(inbox, $"{Guid.NewGuid():N}.eml");
            File.WriteAllBytes(name + ".part", RunFailureTests.Mail($"Launch {Guid.NewGuid():N}"));
            File.Move(name + ".part", name); // the inbox sees whole files only
        }
    }

    private static List<string> AuditRows(string data) => AuditRowsOf(Path.Combine(data, "state.db"));

    // Decision id and outcome of every audit row, in order, read as another process would (read-only, beside the writer).
    private static List<string> AuditRowsOf(string database)
    {
        if (!File.Exists(database))
        {
            return [];
        }
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE name='audit'";
        if ((long)command.ExecuteScalar()! == 0)
        {
            return [];
        }
        command.CommandText = "SELECT decision_id, outcome FROM audit ORDER BY seq";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add($"{reader.GetString(0)} {reader.GetString(1)}");
        }
        return rows;
    }

    private static List<string> AuditLines(string file) =>
        [.. File.ReadLines(file).Select(l => JsonDocument.Parse(l).RootElement).Select(e => $"{e.GetProperty("decisionId").GetString()} {e.GetProperty("outcome").GetString()}")];

    private static async Task WaitUntilAsync(Func<bool> condition, BackgroundCli watch)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        while (!condition())
        {
            Assert.False(watch.HasExited, $"smartmail run --watch ended early:\n{watch.Output}");
            try
            {
                await Task.Delay(100, timeout.Token);
            }
            catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                Assert.Fail($"not reached within 3 minutes; smartmail run --watch printed:\n{watch.Output}");
            }
        }
    }
}
