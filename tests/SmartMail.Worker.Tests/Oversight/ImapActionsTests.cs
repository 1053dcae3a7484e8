using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Oversight;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Oversight;

/// <summary>
/// The web app's actions on a real IMAP mailbox (Dovecot on 127.0.0.1, real SQLite): a mail the worker put in manual
/// triage is moved to the chosen department folder exactly once, whatever the clicks, crashes and instances.
/// </summary>
public sealed class ImapActionsTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("smartmail-webact-");

    private SmartMailOptions Options(Dovecot dovecot) => new()
    {
        DataDirectory = _data.FullName,
        ModelPath = "unused",
        Mailboxes = [dovecot.Options()],
    };

    // The worker's own path: the mail is decided (no model, no rule: manual triage) and moved to the triage folder.
    private async Task<string> ToTriageAsync(Dovecot dovecot, SmartMailOptions options)
    {
        await dovecot.AppendAsync([System.Text.Encoding.UTF8.GetBytes(OversightWorld.Mail(7))]);
        using var store = new SqliteStateStore(Path.Combine(_data.FullName, "state.db"));
        using var examples = new ExampleStore(Path.Combine(_data.FullName, "state.db"));
        using var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId);
        await mailbox.ConnectAsync(TestContext.Current.CancellationToken);
        var policy = new RoutingPolicy([], null);
        var processor = new MailProcessor(store, () => policy, new MailExtractor(), mailbox, options, TimeProvider.System, NullLogger.Instance,
            new WorkerMetrics(), examples);
        await processor.DrainAsync(mailbox, 10, TestContext.Current.CancellationToken);
        return Assert.Single(new OversightQueries(store, examples, options, () => null, null, TimeProvider.System).TriageQueue("test", 0, 10).Items).DecisionId;
    }

    // A mail in manual triage and the claim marker the ledger recorded for it (what a web move looks for).
    private async Task<(string Id, string Marker)> ToTriageWithMarkerAsync(Dovecot dovecot)
    {
        var id = await ToTriageAsync(dovecot, Options(dovecot));
        using var store = new SqliteStateStore(Path.Combine(_data.FullName, "state.db"));
        return (id, new LedgerMarker(store).Of(id));
    }

    private static (SqliteStateStore Store, ExampleStore Examples, MailActions Actions) Open(SmartMailOptions options)
    {
        var path = Path.Combine(options.DataDirectory, "state.db");
        var store = new SqliteStateStore(path);
        var examples = new ExampleStore(path);
        var journal = new FolderJournalSink(options.JournalPath);
        return (store, examples, new MailActions(store, examples, options, () => OversightWorld.Labels, new RoutingSink(options, journal, journal, null, null),
            TimeProvider.System, NullLogger.Instance));
    }

    private static async Task AssertOnceInAsync(Dovecot dovecot, string folder)
    {
        var inventory = await dovecot.InventoryAsync();
        var where = Assert.Single(inventory);
        Assert.Equal(folder, where.Folder);
    }

    [Fact]
    public async Task Route_DoubleClick_MovesOnceToTheFolderAndRecordsTheCorrectionWithWho()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var options = Options(dovecot);
        var id = await ToTriageAsync(dovecot, options);
        await AssertOnceInAsync(dovecot, "_manual-triage");
        var (store, examples, actions) = Open(options);
        using var _ = new Disposables(store, examples);

        var outcomes = await Task.WhenAll(
            actions.RouteAsync(id, "Housing", "alice", TestContext.Current.CancellationToken),
            actions.RouteAsync(id, "Housing", "alice", TestContext.Current.CancellationToken));
        var again = await actions.RouteAsync(id, "Housing", "alice", TestContext.Current.CancellationToken);

        Assert.All(outcomes.Append(again), o => Assert.True(o.Ok, o.Message));
        await AssertOnceInAsync(dovecot, "Housing");
        var correction = Assert.Single(examples.ReadCorrections());
        Assert.Equal(("alice", "web", "Housing"), (correction.By, correction.Via, correction.ToLabel));
        Assert.Contains(store.ReadAudit(), a => a.Outcome == "corrected" && a.By == "alice");
    }

    [Fact]
    public async Task Route_CrashBetweenIntentAndMove_IsMovedOnceAfterRestart()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var options = Options(dovecot);
        var id = await ToTriageAsync(dovecot, options);
        var (store, examples, actions) = Open(options);
        actions.BeforeStep = step => throw new CrashException(step);

        await Assert.ThrowsAsync<CrashException>(() => actions.RouteAsync(id, "Tax", "bob", TestContext.Current.CancellationToken));
        store.Dispose();
        examples.Dispose();
        await AssertOnceInAsync(dovecot, "_manual-triage");
        (store, examples, actions) = Open(options);
        using var _ = new Disposables(store, examples);
        var finished = await actions.RecoverAsync(TestContext.Current.CancellationToken);
        var again = await actions.RecoverAsync(TestContext.Current.CancellationToken);

        Assert.Equal((1, 0), (finished, again));
        await AssertOnceInAsync(dovecot, "Tax");
        Assert.Single(examples.ReadCorrections());
    }

    [Fact]
    public async Task Route_MailboxDown_WaitsThenIsFinishedOnceByTheRecovery()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var options = Options(dovecot);
        var id = await ToTriageAsync(dovecot, options);
        var (store, examples, actions) = Open(options);
        using var _ = new Disposables(store, examples);
        await dovecot.StopAsync();

        var down = await actions.RouteAsync(id, "Schools", "carol", TestContext.Current.CancellationToken);
        await dovecot.StartAgainAsync();
        var finished = await actions.RecoverAsync(TestContext.Current.CancellationToken);

        Assert.False(down.Ok);
        Assert.Equal(1, finished);
        await AssertOnceInAsync(dovecot, "Schools");
        Assert.Single(examples.ReadCorrections());
    }

    [Fact]
    public async Task Move_TwoInstancesAtOnce_TheMailLandsOnce()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var (id, marker) = await ToTriageWithMarkerAsync(dovecot);

        // Two worker instances, each with its own connection, move the same mail at the same moment.
        await Task.WhenAll(
            new ImapActionMover(dovecot.Options(), "inst0001").MoveAsync(id, marker, "_manual-triage", "Housing", TestContext.Current.CancellationToken),
            new ImapActionMover(dovecot.Options(), "inst0002").MoveAsync(id, marker, "_manual-triage", "Housing", TestContext.Current.CancellationToken));

        await AssertOnceInAsync(dovecot, "Housing");
    }

    // The outcome of two claims that both landed (Dovecot let two concurrent UNCHANGEDSINCE stores through once in CI):
    // the other instance's MOVE already put a copy in the destination when this instance moves its own.
    [Fact]
    public async Task Move_TheOtherInstancesCopyIsAlreadyInTheDestination_OneCopyRemains()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var (id, marker) = await ToTriageWithMarkerAsync(dovecot);
        using (var client = await dovecot.ClientAsync())
        {
            var triage = await client.GetFolderAsync("_manual-triage", TestContext.Current.CancellationToken);
            var housing = await client.GetFolder(client.PersonalNamespaces[0])
                .CreateAsync("Housing", true, TestContext.Current.CancellationToken);
            await triage.OpenAsync(MailKit.FolderAccess.ReadWrite, TestContext.Current.CancellationToken);
            var uids = await triage.SearchAsync(MailKit.Search.SearchQuery.All, TestContext.Current.CancellationToken);
            await triage.CopyToAsync(uids, housing!, TestContext.Current.CancellationToken);
            await client.DisconnectAsync(true, TestContext.Current.CancellationToken);
        }

        await new ImapActionMover(dovecot.Options(), "inst0001").MoveAsync(id, marker, "_manual-triage", "Housing", TestContext.Current.CancellationToken);

        await AssertOnceInAsync(dovecot, "Housing");
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }

    private sealed class Disposables(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }

    // The claim marker the ledger recorded for the decision.
    private sealed class LedgerMarker(SqliteStateStore store)
    {
        public string Of(string decisionId)
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store.Path};Pooling=False");
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT marker FROM mail WHERE decision_id = $d";
            cmd.Parameters.AddWithValue("$d", decisionId);
            return (string)cmd.ExecuteScalar()!;
        }
    }
}
