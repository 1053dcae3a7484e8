using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.StateStores;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// Instances sharing one ledger (PostgreSQL) hand a mailbox over through its lease. A claim the last holder recorded (and
/// perhaps set on the mail) before it died is the fleet's claim: the next holder continues it under the same marker once it
/// adopts claims, and leaves the row alone before that. The fleet test found a mail moved with two markers and decided twice:
/// the next holder had claimed it again under its own marker, and earlier marked the shared row "claimed elsewhere", which
/// reopened the mail and decided it again.
/// </summary>
public sealed class SharedLedgerClaimTests(DefaultModelFixture model, PostgreSqlFixture postgres) : IntegrationTest(model), IClassFixture<PostgreSqlFixture>
{
    private const string Dead = "dead0001";
    private const string Next = "next0002";

    [Fact]
    public async Task ClaimSetByTheDeadHolder_TheNextHolderMovesTheMailUnderThatMarker_DecidedOnce()
    {
        await using var world = await WorldAsync();
        var (dovecot, dead, next) = (world.Dovecot, world.Dead, world.Next);
        // The holder dies after the claim: recorded and set, the mail not moved.
        var key = await DeadHolderAsync(dovecot, dead, async (mailbox, prepared) =>
            Assert.Null(Assert.Single(await mailbox.ClaimBatchAsync([prepared.Delivery], dead, TestContext.Current.CancellationToken))));
        var marker = next.Get(key)!.Marker!;

        var outcome = await DrainAsync(dovecot, next, adopt: true);

        Assert.Equal([ProcessOutcome.Routed], outcome);
        await AssertMovedOnceUnderAsync(dovecot, next, key, marker);
    }

    [Fact]
    public async Task ClaimRecordedByTheDeadHolder_BeforeAdoptingTheRowIsLeftAlone_ThenTheMailMovesUnderThatMarker_DecidedOnce()
    {
        await using var world = await WorldAsync();
        var (dovecot, dead, next) = (world.Dovecot, world.Dead, world.Next);
        // The holder dies after recording the claim: the STORE never sent (or still on its way).
        var marker = "";
        var key = await DeadHolderAsync(dovecot, dead, (_, prepared) =>
        {
            marker = ImapMailbox.MarkerPrefix + Dead + "_" + prepared.Record!.DecisionId;
            dead.Ledger.Claim([(prepared.Record.Key, marker)]);
            return Task.CompletedTask;
        });

        Assert.Equal([ProcessOutcome.Claimed], await DrainAsync(dovecot, next, adopt: false));
        var row = next.Get(key)!;
        Assert.Equal((MailState.Decided, marker), (row.State, row.Marker)); // not "claimed elsewhere": that would reopen it
        Assert.Equal("INBOX", Assert.Single(await dovecot.InventoryAsync()).Folder);

        Assert.Equal([ProcessOutcome.Routed], await DrainAsync(dovecot, next, adopt: true));
        await AssertMovedOnceUnderAsync(dovecot, next, key, marker);
    }

    [Fact]
    public async Task ClaimSetByTheDeadHolder_TheNextHoldersReconcileAtConnect_LeavesTheMailInTheFolderUnfinished_NotGone()
    {
        await using var world = await WorldAsync();
        var (dovecot, dead, next) = (world.Dovecot, world.Dead, world.Next);
        var ct = TestContext.Current.CancellationToken;
        var key = await DeadHolderAsync(dovecot, dead, async (mailbox, prepared) =>
            Assert.Null(Assert.Single(await mailbox.ClaimBatchAsync([prepared.Delivery], dead, ct))));
        var marker = next.Get(key)!.Marker!;

        // The next holder connects as MailboxCycle does, reconciling before it adopts claims: the mail it does not list
        // (another instance's marker) is still in the folder, so its row is not "gone" (which would reopen and decide it again).
        using (var mailbox = new ImapMailbox(dovecot.Options(), next.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            Assert.Empty(await mailbox.ListAsync(ct));
            Assert.Equal((0, 0), await ImapReconciler.ReconcileAsync(mailbox, next, TimeProvider.System, ct, Processor(next, mailbox).Sink));
        }
        Assert.Equal((MailState.Decided, marker), (next.Get(key)!.State, next.Get(key)!.Marker));

        Assert.Equal([ProcessOutcome.Routed], await DrainAsync(dovecot, next, adopt: true));
        await AssertMovedOnceUnderAsync(dovecot, next, key, marker);
    }

    // The dead holder's last session: the one mail listed and prepared (decided), then lastStep, then the process is gone.
    private async Task<MailKey> DeadHolderAsync(Dovecot dovecot, PostgreSqlStateStore dead, Func<ImapMailbox, PreparedMail, Task> lastStep)
    {
        var ct = TestContext.Current.CancellationToken;
        using var mailbox = new ImapMailbox(dovecot.Options(), Dead);
        await mailbox.ConnectAsync(ct);
        var pending = Assert.Single(await mailbox.ListAsync(ct));
        var prepared = await Processor(dead, mailbox).PrepareBatchAsync(mailbox, [(pending, await mailbox.FetchAsync(pending.Key, ct))], 10, ct);
        await lastStep(mailbox, prepared[0]);
        return pending.Key;
    }

    // One mail in a Dovecot, and the two instances' stores on one database.
    private async Task<World> WorldAsync()
    {
        var database = await postgres.NewDatabaseAsync();
        var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync([System.Text.Encoding.UTF8.GetBytes(Mails.Space(1))]);
        return new World(dovecot, new PostgreSqlStateStore(database, Dead), new PostgreSqlStateStore(database, Next));
    }

    private sealed record World(Dovecot Dovecot, PostgreSqlStateStore Dead, PostgreSqlStateStore Next) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Dead.Dispose();
            Next.Dispose();
            await Dovecot.DisposeAsync();
        }
    }

    private MailProcessor Processor(IStateStore store, ImapMailbox mailbox) =>
        new(store, () => new RoutingPolicy([], Model.Bundle), new MailExtractor(), mailbox,
            new SmartMailOptions { DataDirectory = Data.FullName, ModelPath = Model.ModelPath }, TimeProvider.System, NullLogger.Instance, new WorkerMetrics());

    // One drain by the next holder, adopting other instances' claims or not yet.
    private async Task<IReadOnlyList<ProcessOutcome>> DrainAsync(Dovecot dovecot, PostgreSqlStateStore store, bool adopt)
    {
        var ct = TestContext.Current.CancellationToken;
        using var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId) { AdoptForeignClaims = adopt };
        await mailbox.ConnectAsync(ct);
        return await Processor(store, mailbox).DrainAsync(mailbox, 10, ct);
    }

    // The mail is out of INBOX, one copy carrying one marker (the dead holder's), its row acknowledged and decided once.
    private static async Task AssertMovedOnceUnderAsync(Dovecot dovecot, PostgreSqlStateStore store, MailKey key, string marker)
    {
        var routed = Assert.Single(await dovecot.InventoryAsync());
        Assert.NotEqual("INBOX", routed.Folder);
        Assert.Equal(marker, Assert.Single(routed.Keywords));
        var row = store.Get(key)!;
        Assert.Equal(MailState.Acknowledged, row.State);
        Assert.Single(store.ReadAudit(), a => a.DecisionId == row.DecisionId && a.Outcome is "routed" or "manual");
    }
}
