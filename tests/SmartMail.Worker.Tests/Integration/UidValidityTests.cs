using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Integration;

public sealed class UidValidityTests(DefaultModelFixture model) : IntegrationTest(model)
{

    [Fact]
    public async Task UidValidityChange_WithRoutedMailStillInTheFolder_IsMatchedByFingerprintNotRerouted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync(Enumerable.Range(0, 10).Select(i => System.Text.Encoding.UTF8.GetBytes(Mails.Space(i))));
        var options = new SmartMailOptions { DataDirectory = Data.FullName, ModelPath = Model.ModelPath };
        var journal = new FolderJournalSink(options.JournalPath);
        var policy = new RoutingPolicy([], Model.Bundle);
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        MailProcessor Processor() => new(store, () => policy, new MailExtractor(), journal, options, TimeProvider.System, NullLogger.Instance, new WorkerMetrics());
        uint before;
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            before = mailbox.UidValidity;
            // Routed to the journal, but the mails stay in INBOX (as if every acknowledgement had been lost).
            await Processor().DrainAsync(new KeepInFolder(mailbox), ct);
        }
        Assert.Equal(10, Directory.GetFiles(journal.Root, "*.eml", SearchOption.AllDirectories).Length);

        await dovecot.ResetUidValidityAsync();
        using (var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            Assert.NotEqual(before, mailbox.UidValidity);
            await ImapReconciler.ReconcileAsync(mailbox, store, TimeProvider.System, ct);
            var outcomes = await Processor().DrainAsync(mailbox, ct);

            Assert.All(outcomes, o => Assert.Equal(ProcessOutcome.Duplicate, o));
            Assert.Equal(10, outcomes.Count);
        }
        Assert.Equal(10, Directory.GetFiles(journal.Root, "*.eml", SearchOption.AllDirectories).Length); // nothing delivered twice
        var audit = store.ReadAudit();
        Assert.Equal(10, audit.Count(a => a.Outcome == "routed"));
        Assert.Equal(10, audit.Count(a => a.Outcome == "duplicate"));
        var inventory = await dovecot.InventoryAsync();
        Assert.All(inventory, m => Assert.Equal("SmartMail-Processed", m.Folder));
    }

    /// <summary>A source whose acknowledgements never reach the server.</summary>
    private sealed class KeepInFolder(IMailSource inner) : IMailSource
    {
        public string Mailbox => inner.Mailbox;

        public Task<IReadOnlyList<PendingMail>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public Task<byte[]?> FetchAsync(MailKey key, CancellationToken cancellationToken) => inner.FetchAsync(key, cancellationToken);

        public Task AcknowledgeAsync(MailKey key, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
