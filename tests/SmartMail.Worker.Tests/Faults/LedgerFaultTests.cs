using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Worker.Health;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Faults;

/// <summary>
/// The ledger's disk fills up, or its files turn read-only, while the worker runs over a real Dovecot. It must fail closed
/// (stop taking mail, say so in the log and the health check, move nothing without a durable record) and, once the fault is
/// gone and the service restarted (as systemd does), route everything exactly once. Both faults are real file-system
/// conditions that hold for root too: a 16 MB tmpfs filled to the last byte (ENOSPC), and the immutable attribute
/// (<c>chattr +i</c>, EPERM even for root and even on descriptors already open).
/// </summary>
public sealed class LedgerFaultTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    [Theory]
    [InlineData("disk full")]
    [InlineData("read-only")]
    public async Task LedgerCannotRecord_WorkerFailsClosed_ThenAfterRestartRoutesEverythingOnce(string fault)
    {
        var ct = TestContext.Current.CancellationToken;
        var data = Directory.CreateDirectory(Path.Combine(Data.FullName, "ledger")).FullName;
        ILedgerFault injector = fault == "disk full" ? await DiskFull.MountAsync(data) : new ReadOnly(data);
        try
        {
            await using var rig = await FaultRig.StartAsync(new IntegrationTestContext(data, Model, output));
            rig.Mailbox.PollInterval = TimeSpan.FromMilliseconds(300);
            rig.Mailbox.BatchSize = 10;
            await rig.AppendAsync(Enumerable.Range(0, 20).Select(Mail));
            await rig.StartWorkerAsync(ct);
            await FaultRig.WaitUntilAsync(() => rig.Acknowledged == 20, TimeSpan.FromSeconds(60), "the mail before the fault");

            await injector.InjectAsync();
            await rig.AppendAsync(Enumerable.Range(20, 40).Select(Mail));
            await FaultRig.WaitUntilAsync(() => rig.Lifetime.StopRequested, TimeSpan.FromSeconds(60), "the worker stops taking mail");
            await Task.Delay(1000, ct); // a worker that went on would move mail now

            using var models = new ModelProvider(rig.Options, NullLogger<ModelProvider>.Instance);
            var health = await new SmartMailHealthCheck(rig.Health, models).CheckHealthAsync(new HealthCheckContext(), ct);
            Assert.Equal(HealthStatus.Unhealthy, health.Status);
            Assert.Contains(rig.Log.Lines, l => l.Level == LogLevel.Critical && l.Line.Contains("state store cannot record", StringComparison.Ordinal));
            var inventory = await rig.Dovecot.InventoryAsync();
            var recorded = Recorded(rig.StorePath);
            Assert.All(inventory.Where(m => m.Folder != "INBOX"), m => Assert.Contains(m.Fingerprint, recorded)); // nothing moved without a record
            var waiting = inventory.Count(m => m.Folder == "INBOX");
            output.WriteLine($"{fault}: the worker stopped with {waiting} mails left in INBOX; health: {health.Description}");
            Assert.InRange(waiting, 1, 40);

            await injector.RemoveAsync();
            var stopwatch = Stopwatch.StartNew();
            await rig.StartWorkerAsync(ct); // the restart systemd would do (Restart=on-failure)
            var recovery = await FaultRig.WaitUntilAsync(() => rig.Acknowledged == 60, TimeSpan.FromSeconds(60), "every mail after the fault is gone");

            var tally = await rig.StopAndTallyAsync(ct);
            FaultReport.Write(output, $"ledger {fault}", tally, recovery);
            tally.AssertExactlyOnce();
        }
        finally
        {
            await injector.RemoveAsync();
            await injector.DisposeAsync();
        }
    }

    private static string Mail(int i) => (i % 3) switch { 0 => Mails.Space(i), 1 => Mails.Car(i), _ => Mails.Danish(i) };

    /// <summary>Fingerprints the ledger holds a durable record for: decided with its marker set, or further.</summary>
    private static HashSet<string> Recorded(string db) =>
        [.. LedgerQuery.Rows(db, "SELECT fingerprint FROM mail WHERE state >= 2 OR (state = 1 AND marker IS NOT NULL)")];

    private static async Task RunAsync(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
        }
    }

    private interface ILedgerFault : IAsyncDisposable
    {
        Task InjectAsync();

        Task RemoveAsync();
    }

    /// <summary>The data directory is a 16 MB tmpfs; the fault fills it to the last byte.</summary>
    private sealed class DiskFull : ILedgerFault
    {
        private readonly string _dir;

        private DiskFull(string dir) => _dir = dir;

        private string Filler => Path.Combine(_dir, "filler");

        public static async Task<DiskFull> MountAsync(string dir)
        {
            try
            {
                await RunAsync("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                Assert.Skip($"The disk-full test mounts a small tmpfs and needs root with CAP_SYS_ADMIN: {ex.Message}");
            }
            return new DiskFull(dir);
        }

        public Task InjectAsync()
        {
            var chunk = new byte[64 * 1024];
            using var filler = new FileStream(Filler, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
            try
            {
                while (true)
                {
                    filler.Write(chunk);
                }
            }
            catch (IOException)
            {
                // ENOSPC: full
            }
            for (var size = 4096; size > 0; size /= 2)
            {
                try
                {
                    filler.Write(chunk.AsSpan(0, size));
                    filler.Flush();
                }
                catch (IOException)
                {
                    // the last pages
                }
            }
            return Task.CompletedTask;
        }

        public Task RemoveAsync()
        {
            File.Delete(Filler);
            return Task.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            SqliteConnection.ClearAllPools();
            await RunAsync("umount", "-l", _dir);
        }
    }

    /// <summary>The ledger's files and directory get the immutable attribute, which refuses writes even to root.</summary>
    private sealed class ReadOnly(string dir) : ILedgerFault
    {
        private bool _set;

        private IEnumerable<string> Targets =>
            Directory.GetFiles(dir).Where(f => Path.GetFileName(f).StartsWith("state.db", StringComparison.Ordinal)).Append(dir);

        public async Task InjectAsync()
        {
            try
            {
                await RunAsync("chattr", ["+i", .. Targets]);
                _set = true;
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                Assert.Skip($"The read-only test sets the immutable attribute (chattr +i) and needs root on a file system that has it: {ex.Message}");
            }
        }

        public async Task RemoveAsync()
        {
            if (_set)
            {
                await RunAsync("chattr", ["-i", .. Targets]);
                _set = false;
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
