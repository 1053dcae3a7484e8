using MailKit;
using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>The worker against a real Dovecot on 127.0.0.1: real IMAP, real SQLite, the shipped Model.</summary>
public sealed class ImapIntegrationTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{

    private SmartMailOptions WorkerOptions() => new() { DataDirectory = Data.FullName, ModelPath = Model.ModelPath };

    private MailProcessor Processor(SqliteStateStore store, IMailSink sink) =>
        new(store, () => new RoutingPolicy([], Model.Bundle), new MailExtractor(), sink, WorkerOptions(), TimeProvider.System,
            NullLogger.Instance, new WorkerMetrics());

    private static List<byte[]> NewsgroupsTestMails(int count)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "shared", "data", "20news-bydate", "20news-bydate-test")))
        {
            dir = dir.Parent;
        }
        if (dir is null)
        {
            Assert.Skip("../shared/data/20news-bydate not found: this test routes real 20 Newsgroups test mails.");
        }
        var root = Path.Combine(dir.FullName, "shared", "data", "20news-bydate", "20news-bydate-test");
        var groups = Directory.GetDirectories(root).Order(StringComparer.Ordinal).ToArray();
        var perGroup = (count + groups.Length - 1) / groups.Length;
        return [.. groups.SelectMany(g => Directory.GetFiles(g).Order(StringComparer.Ordinal).Take(perGroup)).Take(count).Select(File.ReadAllBytes)];
    }

    [Fact]
    public async Task Drain_500NewsgroupsMails_EachEndsInExactlyOneFolderOnce()
    {
        var mails = NewsgroupsTestMails(500);
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync(mails);
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        using var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId);
        await mailbox.ConnectAsync(TestContext.Current.CancellationToken);

        var stopwatch = Stopwatch.StartNew();
        var outcomes = await Processor(store, mailbox).DrainAsync(mailbox, 200, TestContext.Current.CancellationToken);
        output.WriteLine($"500 mails drained in batches of 200 in {stopwatch.Elapsed.TotalSeconds:F2} s ({500 / stopwatch.Elapsed.TotalSeconds:F0} mails/s, Debug build)");

        Assert.Equal(500, outcomes.Count);
        await AssertExactlyOnceAsync(dovecot, store, 500);
        Assert.Contains(store.ReadAudit(), a => a.Source == "model");
        Assert.Contains(store.ReadAudit(), a => a.Source == "manual");
    }

    [Fact]
    public async Task Drain_OneByOne_AlsoExactlyOnce()
    {
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync(Enumerable.Range(0, 20).Select(i => System.Text.Encoding.UTF8.GetBytes(i % 2 == 0 ? Mails.Space(i) : Mails.Danish(i))));
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        using var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId);
        await mailbox.ConnectAsync(TestContext.Current.CancellationToken);

        await Processor(store, mailbox).DrainAsync(mailbox, TestContext.Current.CancellationToken);

        await AssertExactlyOnceAsync(dovecot, store, 20);
    }

    /// <summary>Every appended mail is in exactly one folder (not INBOX): the one its single decision in the audit trail names.</summary>
    private static async Task AssertExactlyOnceAsync(Dovecot dovecot, SqliteStateStore store, int count)
    {
        var inventory = await dovecot.InventoryAsync();
        Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
        Assert.Equal(count, inventory.Count);
        var decisions = store.ReadAudit().Where(a => a.Outcome is "routed" or "manual" or "quarantined").ToList();
        Assert.Equal(count, decisions.Count);
        Assert.Equal(count, decisions.Select(a => a.Fingerprint).Distinct().Count());
        var folderOf = inventory.ToLookup(m => m.Fingerprint, m => m.Folder);
        Assert.All(decisions, a => Assert.Equal(FolderJournalSink.SafeName(a.Destination).Replace('.', '_'), Assert.Single(folderOf[a.Fingerprint])));
        Assert.Equal(count, store.CountByState()[MailState.Acknowledged]);
    }

    [Fact]
    public async Task Drain_ServerWithoutMove_FallsBackToCopyAndExpunge()
    {
        await using var dovecot = await Dovecot.StartAsync(extra: Dovecot.WithoutMove);
        await dovecot.AppendAsync(Enumerable.Range(0, 10).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Space(i))));
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        using var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId);
        await mailbox.ConnectAsync(TestContext.Current.CancellationToken);
        Assert.False(mailbox.SupportsMove);
        Assert.False(mailbox.SupportsClaims); // no CONDSTORE either: plain STORE, as before claims

        await Processor(store, mailbox).DrainAsync(mailbox, 4, TestContext.Current.CancellationToken);

        await AssertExactlyOnceAsync(dovecot, store, 10);
    }

    [Fact]
    public async Task Crash_AfterMoveBeforeLedger_RestartReconcilesWithoutRedelivery()
    {
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync(Enumerable.Range(0, 5).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Space(i))));
        var dbPath = Path.Combine(Data.FullName, "state.db");
        using (var store = new SqliteStateStore(dbPath))
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(TestContext.Current.CancellationToken);
            var crashing = new TestWorld.CountingSink(mailbox, new()) { CrashAt = CrashPoint.AfterDeliver };
            // The process dies right after the UID MOVE, before the ledger records the delivery.
            await Assert.ThrowsAsync<CrashException>(() => Processor(store, crashing).DrainAsync(mailbox, TestContext.Current.CancellationToken));
        }

        using (var store = new SqliteStateStore(dbPath))
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(TestContext.Current.CancellationToken);
            var (delivered, gone) = await ImapReconciler.ReconcileAsync(mailbox, store, TimeProvider.System, TestContext.Current.CancellationToken);
            await Processor(store, mailbox).DrainAsync(mailbox, TestContext.Current.CancellationToken);

            Assert.Equal((1, 0), (delivered, gone));
            Assert.Equal(5, store.CountByState()[MailState.Acknowledged]);
            Assert.Equal(5, store.ReadAudit().Count(a => a.Outcome is "routed" or "manual"));
        }
        var inventory = await dovecot.InventoryAsync();
        Assert.Equal(5, inventory.Count);
        Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
    }

    [Fact]
    public async Task Deliver_AnotherClientTookTheMailFirst_IsRecordedAsGoneNotRetried()
    {
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync([System.Text.Encoding.UTF8.GetBytes(Mails.Space(1))]);
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        using var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId);
        await mailbox.ConnectAsync(TestContext.Current.CancellationToken);
        var pending = Assert.Single(await mailbox.ListAsync(TestContext.Current.CancellationToken));
        var stealing = new StealingSource(mailbox, dovecot);

        var outcome = Assert.Single(await Processor(store, mailbox).DrainAsync(stealing, TestContext.Current.CancellationToken));

        Assert.Equal(ProcessOutcome.Gone, outcome);
        Assert.Equal("gone", store.ReadAudit()[^1].Outcome);
        Assert.Equal(MailState.Gone, store.Get(pending.Key)!.State);
    }

    [Fact]
    public async Task Worker_MailArrivesWhileIdling_IsRoutedByIdleNotPolling()
    {
        await using var dovecot = await Dovecot.StartAsync();
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        using var worker = await StartIdleOnlyWorkerAsync(dovecot, store);

        var stopwatch = Stopwatch.StartNew();
        await dovecot.AppendAsync([System.Text.Encoding.UTF8.GetBytes(Mails.Space(42))]);
        await WaitUntil(() => store.CountByState().GetValueOrDefault(MailState.Acknowledged) == 1, TimeSpan.FromSeconds(15));
        output.WriteLine($"APPEND to routed: {stopwatch.Elapsed.TotalMilliseconds:F0} ms");

        await worker.StopAsync(TestContext.Current.CancellationToken);
        Assert.Single(await dovecot.InventoryAsync(), m => m.Folder != "INBOX");
    }

    [Fact]
    public async Task Worker_MailsArrivingOneByOne_AreAllRoutedByIdle_LatencyReported()
    {
        const int Count = 20;
        await using var dovecot = await Dovecot.StartAsync();
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        using var worker = await StartIdleOnlyWorkerAsync(dovecot, store);
        var latencies = new List<double>();

        for (var i = 0; i < Count; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            await dovecot.AppendAsync([System.Text.Encoding.UTF8.GetBytes(Mails.Space(100 + i))]);
            await WaitUntil(() => store.CountByState().GetValueOrDefault(MailState.Acknowledged) == i + 1, TimeSpan.FromSeconds(15));
            latencies.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        await worker.StopAsync(TestContext.Current.CancellationToken);
        latencies.Sort();
        output.WriteLine($"APPEND to routed over {Count} mails: p50 {latencies[Count / 2]:F0} ms, p90 {latencies[(int)(Count * 0.9)]:F0} ms, max {latencies[^1]:F0} ms");
        Assert.Equal(Count, (await dovecot.InventoryAsync()).Count(m => m.Folder != "INBOX"));
    }

    [Fact]
    public async Task Worker_DovecotRestarts_ReconnectsAndCarriesOn()
    {
        await using var dovecot = await Dovecot.StartAsync();
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        using var worker = NewWorker(dovecot.Options(), store);
        await worker.StartAsync(TestContext.Current.CancellationToken);
        await dovecot.AppendAsync(Enumerable.Range(0, 5).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Space(i))));
        await WaitUntil(() => store.CountByState().GetValueOrDefault(MailState.Acknowledged) == 5, TimeSpan.FromSeconds(20));

        var restart = Stopwatch.StartNew();
        await dovecot.RestartAsync();
        await dovecot.AppendAsync(Enumerable.Range(5, 5).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Space(i))));
        await WaitUntil(() => store.CountByState().GetValueOrDefault(MailState.Acknowledged) > 5, TimeSpan.FromSeconds(30));
        output.WriteLine($"recovery (Dovecot restart -> routing again): {restart.Elapsed.TotalSeconds:F2} s");
        await WaitUntil(() => store.CountByState().GetValueOrDefault(MailState.Acknowledged) == 10, TimeSpan.FromSeconds(30));

        await worker.StopAsync(TestContext.Current.CancellationToken);
        var inventory = await dovecot.InventoryAsync();
        Assert.Equal(10, inventory.Count);
        Assert.DoesNotContain(inventory, m => m.Folder == "INBOX");
    }

    [Fact]
    public async Task Connect_Tls_TrustsConfiguredCaAndRefusesUnknownCertificate()
    {
        await using var dovecot = await Dovecot.StartAsync(tls: true);
        var imaps = dovecot.Options();
        imaps.Port = dovecot.TlsPort!.Value;
        imaps.Security = "SslOnConnect";
        imaps.AllowPlaintext = false;
        imaps.CaCertificateFile = dovecot.CaFile;
        var startTls = dovecot.Options();
        startTls.Security = "StartTls";
        startTls.AllowPlaintext = false;
        startTls.CaCertificateFile = dovecot.CaFile;
        var untrusted = dovecot.Options();
        untrusted.Port = dovecot.TlsPort!.Value;
        untrusted.Security = "SslOnConnect";

        using (var ok = new ImapMailbox(imaps, "tls"))
        {
            await ok.ConnectAsync(TestContext.Current.CancellationToken);
        }
        using (var ok = new ImapMailbox(startTls, "tls"))
        {
            await ok.ConnectAsync(TestContext.Current.CancellationToken);
        }
        using var refused = new ImapMailbox(untrusted, "tls");
        var ex = await Assert.ThrowsAsync<MailKit.Security.SslHandshakeException>(() => refused.ConnectAsync(TestContext.Current.CancellationToken));
        Assert.Contains("certificate", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A started worker whose polling is set to 10 minutes: only IDLE can wake it in time.</summary>
    private async Task<ImapWorker> StartIdleOnlyWorkerAsync(Dovecot dovecot, SqliteStateStore store)
    {
        var options = dovecot.Options();
        options.PollInterval = TimeSpan.FromMinutes(10);
        var worker = NewWorker(options, store);
        await worker.StartAsync(TestContext.Current.CancellationToken);
        await WaitUntil(() => worker.IsConnected, TimeSpan.FromSeconds(20));
        await Task.Delay(500, TestContext.Current.CancellationToken); // let the IDLE connection settle
        return worker;
    }

    private ImapWorker NewWorker(ImapMailboxOptions options, SqliteStateStore store) =>
        new(options, mailbox => Processor(store, mailbox), store, TimeProvider.System, new NoLifetime(), new OutputLogger(output));

    private sealed class OutputLogger(ITestOutputHelper output) : Microsoft.Extensions.Logging.ILogger<ImapWorker>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
            Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                output.WriteLine($"{logLevel}: {formatter(state, exception)} {exception?.GetType().Name} {exception?.Message}");
            }
            catch (InvalidOperationException)
            {
                // the test has finished
            }
        }
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < timeout, $"condition not met within {timeout}");
            await Task.Delay(50);
        }
    }

    /// <summary>Another mail client deletes the mail between our fetch and our delivery.</summary>
    private sealed class StealingSource(ImapMailbox inner, Dovecot dovecot) : IMailSource
    {
        public string Mailbox => inner.Mailbox;

        public Task<IReadOnlyList<PendingMail>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public async Task<byte[]?> FetchAsync(MailKey key, CancellationToken cancellationToken)
        {
            var raw = await inner.FetchAsync(key, cancellationToken);
            using var client = await dovecot.ClientAsync();
            await client.Inbox.OpenAsync(MailKit.FolderAccess.ReadWrite, cancellationToken);
            await client.Inbox.AddFlagsAsync(0, MailKit.MessageFlags.Deleted, true, cancellationToken);
            await client.Inbox.ExpungeAsync(cancellationToken);
            await client.DisconnectAsync(true, cancellationToken);
            return raw;
        }

        public Task AcknowledgeAsync(MailKey key, CancellationToken cancellationToken) => inner.AcknowledgeAsync(key, cancellationToken);

        public Task<IReadOnlyList<Exception?>> ClaimBatchAsync(IReadOnlyList<Delivery> deliveries, IStateStore store, CancellationToken cancellationToken) =>
            inner.ClaimBatchAsync(deliveries, store, cancellationToken);
    }
}
