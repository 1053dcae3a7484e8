using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.StateStores;

/// <summary>
/// What every state store provider must do, run against each (<see cref="SqliteConformanceTests"/>,
/// <see cref="PostgreSqlConformanceTests"/>): every row of the transition table, audit atomicity, concurrent writers on one
/// database, a crash between steps, and the schema's migrations.
/// </summary>
public abstract class StateStoreConformanceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly ThresholdTracker Tracker = new(0.9, 0.05, 0.99);
    private readonly List<IDisposable> _open = [];

    /// <summary>The database this test uses (a file, or a connection string); made by <see cref="InitializeAsync"/>.</summary>
    protected string Database { get; private set; } = "";

    /// <summary>A new, empty database.</summary>
    protected abstract Task<string> NewDatabaseAsync();

    /// <summary>Opens a store on <paramref name="database"/>; a second instance on the same database has another id.</summary>
    protected abstract StateStore OpenStore(string database, string instance);

    /// <summary>Whether instances share the database (PostgreSQL), rather than each keeping its own file (SQLite).</summary>
    protected virtual bool SharedByInstances => false;

    /// <summary>An open connection of the provider's own to <paramref name="database"/>, to look at rows as they are stored.</summary>
    protected abstract System.Data.Common.DbConnection Connect(string database);

    /// <summary>Sets the recorded schema version, as a newer binary would have left it.</summary>
    private void ForceSchemaVersion(string database, int version)
    {
        using var connection = Connect(database);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'";
        cmd.ExecuteNonQuery();
    }

    // The rows sql answers, each column as text (NULL: null).
    private List<string?[]> Rows(string sql)
    {
        using var connection = Connect(Database);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<string?[]>();
        while (r.Read())
        {
            rows.Add([.. Enumerable.Range(0, r.FieldCount).Select(i => r.IsDBNull(i) ? null : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))]);
        }
        return rows;
    }

    public async ValueTask InitializeAsync() => Database = await NewDatabaseAsync();

    public ValueTask DisposeAsync()
    {
        foreach (var d in _open)
        {
            d.Dispose();
        }
        Cleanup();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>After the stores are closed: the provider's own cleanup.</summary>
    protected virtual void Cleanup()
    {
    }

    private StateStore Open(string instance = "a")
    {
        var store = OpenStore(Database, instance);
        lock (_open)
        {
            _open.Add(store);
        }
        return store;
    }

    private static readonly MailKey Earlier = new("box", "INBOX", 7, "900");

    private static MailKey Key(int n) => new("box", "INBOX", 7, n.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static TheoryData<MailTransition> MailTransitions() =>
    [
        MailTransition.Begin, MailTransition.Reopen, MailTransition.Decide, MailTransition.Claim, MailTransition.Defer, MailTransition.Fail,
        MailTransition.Deliver, MailTransition.Acknowledge, MailTransition.Duplicate, MailTransition.Leave, MailTransition.LoseClaim,
        MailTransition.Recover, MailTransition.Correct,
    ];

    // Every row of the table: the transition from every state (none, and each MailState), one mail per state in one database.
    [Theory]
    [MemberData(nameof(MailTransitions))]
    public void MailTransition_FromEveryState_DoesWhatTheTableSays(MailTransition transition)
    {
        var store = Open();
        if (transition == MailTransition.Duplicate)
        {
            Bring(store, Earlier, MailState.Delivered);
        }
        MailState?[] starts = [null, .. Enum.GetValues<MailState>()];
        for (var n = 0; n < starts.Length; n++)
        {
            var (key, from) = (Key(n), starts[n]);
            Bring(store, key, from);
            var auditBefore = store.ReadAudit().Count;
            // Begin takes Reopen from Gone and ClaimedElsewhere (one call, two rows of the table).
            var legal = transition switch
            {
                MailTransition.Reopen => from is MailState.Gone or MailState.ClaimedElsewhere,
                MailTransition.Begin => MailLedger.IsLegal(MailTransition.Begin, from) || MailLedger.IsLegal(MailTransition.Reopen, from),
                _ => MailLedger.IsLegal(transition, from),
            };
            if (transition == MailTransition.Reopen && !legal)
            {
                continue; // no call reaches Reopen from elsewhere: Begin's rows cover those states
            }
            var act = () => Apply(store, transition, key);
            if (!legal)
            {
                Assert.Throws<IllegalTransitionException>(act);
                Assert.Equal(from, store.Get(key)?.State);
                Assert.Equal(auditBefore, store.ReadAudit().Count);
                continue;
            }
            act();
            if (transition == MailTransition.Correct)
            {
                Assert.Equal(from, store.Get(key)?.State);
                Assert.Single(store.ReadAudit().Skip(auditBefore), a => a.Outcome == "corrected");
                continue;
            }
            var expected = transition == MailTransition.Begin && from is MailState.Gone or MailState.ClaimedElsewhere
                ? MailState.Seen
                : (MailState?)MailLedger.Table[transition].To ?? from ?? MailState.Seen;
            Assert.Equal(expected, store.Get(key)!.State);
        }
    }

    public static TheoryData<MailTransition> ActionTransitions() =>
        [MailTransition.RequestAction, MailTransition.MoveAction, MailTransition.FailAction, MailTransition.CompleteAction];

    [Theory]
    [MemberData(nameof(ActionTransitions))]
    public void ActionTransition_FromEveryStep_DoesWhatTheTableSays(MailTransition transition)
    {
        var store = Open();
        WebActionStep?[] starts = [null, .. Enum.GetValues<WebActionStep>()];
        for (var n = 0; n < starts.Length; n++)
        {
            var from = starts[n];
            Bring(store, Key(n), MailState.Delivered);
            var action = BringAction(store, n, from);
            var act = () => transition switch
            {
                MailTransition.RequestAction => store.Ledger.RequestAction(action, Now),
                MailTransition.MoveAction => store.Ledger.MoveAction(action, Now),
                MailTransition.FailAction => store.Ledger.FailAction(action, "refused", Now),
                _ => Complete(store, action),
            };
            // RequestAction of an open action returns it unchanged (the same action asked twice is performed once).
            if (transition == MailTransition.RequestAction && from is WebActionStep.Intent or WebActionStep.Moved)
            {
                Assert.Equal(from, act().Step);
            }
            else if (MailLedger.IsLegal(transition, from))
            {
                act();
                Assert.Equal((WebActionStep)MailLedger.Table[transition].To!, store.ActionStep(action));
            }
            else
            {
                Assert.Throws<IllegalTransitionException>(() => act());
                Assert.Equal(from, store.ActionStep(action));
            }
        }
    }

    // A batch's step is one transaction however its writes travel (PostgreSQL sends them together and checks each after):
    // one mail that may not take the step, after others that may, leaves every mail and the audit trail as they were.
    [Fact]
    public void BatchStep_OneMailMayNotTakeIt_NoMailTakesIt_AndTheStoreGoesOn()
    {
        var store = Open();
        store.Ledger.Begin([(Key(1), "fp1", "sm-1"), (Key(2), "fp2", "sm-2"), (Key(3), "fp3", "sm-3")], Now);
        store.Ledger.Decide([Decision(Key(1), "fp1", "sm-1"), Decision(Key(2), "fp2", "sm-2")]); // the third is only seen
        var audit = store.ReadAudit().Count;

        var error = Assert.Throws<IllegalTransitionException>(() => store.Ledger.Deliver([Key(1), Key(2), Key(3)], Now));

        Assert.Contains("mail 3 of box in INBOX: it is Seen", error.Message, StringComparison.Ordinal);
        Assert.All(new[] { 1, 2 }, n => Assert.Equal(MailState.Decided, store.Get(Key(n))!.State));
        Assert.Equal(MailState.Seen, store.Get(Key(3))!.State);
        Assert.Equal(audit, store.ReadAudit().Count);
        store.Ledger.Deliver([Key(1), Key(2)], Now);
        Assert.All(new[] { 1, 2 }, n => Assert.Equal(MailState.Delivered, store.Get(Key(n))!.State));
    }

    // A batch's decisions are one statement per table where the store writes sets (PostgreSQL): every mail still gets its own
    // values (NULLs among them, and a column NULL in every row), and the audit rows keep the batch's order.
    [Fact]
    public void Decide_ABatch_EachMailKeepsItsOwnValues_AndTheAuditItsOrder()
    {
        var store = Open();
        var keys = Enumerable.Range(1, 4).Select(Key).ToArray();
        store.Ledger.Begin([.. keys.Select(k => (k, Fp(k), Id(k)))], Now);
        var decisions = keys.Select((k, i) => Decision(k, Fp(k), Id(k)) with
        {
            Destination = "dest-" + k.Uid, DecisionJson = "{\"n\":" + k.Uid + "}",
            Summary = new SummaryToRecord("subject " + k.Uid, "s" + k.Uid + "@example.org", null, "model", i == 2 ? null : "L" + k.Uid,
                i == 2 ? null : 0.5f + (i / 10f), null, i == 2 ? "triage" : "routed"),
        }).ToList();

        store.Ledger.Decide(decisions);

        Assert.All(keys, k => Assert.Equal(("dest-" + k.Uid, "{\"n\":" + k.Uid + "}"), (store.Get(k)!.Destination, store.Get(k)!.DecisionJson)));
        var summaries = Rows("SELECT decision_id, subject, label, confidence, model_version, outcome, state FROM mail_summary ORDER BY decision_id");
        Assert.Equal(keys.Select(k => Id(k)), summaries.Select(r => r[0]));
        Assert.Equal(["subject 1", "subject 2", "subject 3", "subject 4"], summaries.Select(r => r[1]));
        Assert.Equal(["L1", "L2", null, "L4"], summaries.Select(r => r[2]));
        Assert.Null(summaries[2][3]);
        Assert.Equal(0.6, double.Parse(summaries[1][3]!, System.Globalization.CultureInfo.InvariantCulture), 3);
        Assert.All(summaries, r => Assert.Null(r[4]));
        Assert.Equal(["routed", "routed", "triage", "routed"], summaries.Select(r => r[5]));
        Assert.All(summaries, r => Assert.Equal("pending", r[6]));
        Assert.Equal(keys.Select(k => Id(k)), store.ReadAudit().Select(a => a.DecisionId));
    }

    // A mail of the batch that may not be decided (delivered already): no mail is decided, the error names that mail.
    [Fact]
    public void Decide_OneMailOfTheBatchMayNotBeDecided_NoneIs_AndTheErrorNamesIt()
    {
        var store = Open();
        store.Ledger.Begin([(Key(1), "fp1", "sm-1"), (Key(2), "fp2", "sm-2"), (Key(3), "fp3", "sm-3")], Now);
        store.Ledger.Decide([Decision(Key(2), "fp2", "sm-2")]);
        store.Ledger.Deliver([Key(2)], Now);
        var audit = store.ReadAudit().Count;

        var error = Assert.Throws<IllegalTransitionException>(() =>
            store.Ledger.Decide([Decision(Key(1), "fp1", "sm-1"), Decision(Key(2), "fp2", "sm-2"), Decision(Key(3), "fp3", "sm-3")]));

        Assert.Contains("mail 2 of box in INBOX: it is Delivered", error.Message, StringComparison.Ordinal);
        Assert.Equal([MailState.Seen, MailState.Delivered, MailState.Seen], new[] { 1, 2, 3 }.Select(n => store.Get(Key(n))!.State));
        Assert.Equal(audit, store.ReadAudit().Count);
    }

    // The same mail twice in one Begin (one set statement could not insert it and count it again): one row, two attempts.
    [Fact]
    public void Begin_TheSameMailTwiceInABatch_OneRowWithTwoAttempts()
    {
        var store = Open();

        store.Ledger.Begin([(Key(1), "fp1", "sm-1"), (Key(2), "fp2", "sm-2"), (Key(1), "fp1", "sm-1")], Now);

        Assert.Equal(2, store.Get(Key(1))!.Attempts);
        Assert.Equal(1, store.Get(Key(2))!.Attempts);
    }

    // The batch reads: more keys than one IN list takes, over two folders; only rows that exist, and only bytes really delivered.
    [Fact]
    public void GetMany_AndFindDeliveredMany_AnswerForEveryKeyAndFingerprint()
    {
        var store = Open();
        var keys = Enumerable.Range(1, 1200).Select(n => n % 2 == 0 ? Key(n) : new MailKey("box", "Other", 7, n.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        var recorded = keys.Where((_, i) => i % 3 != 0).ToArray();
        store.Ledger.Begin([.. recorded.Select(k => (k, $"fp-{k.Folder}-{k.Uid}", $"sm-{k.Folder}-{k.Uid}"))], Now);
        var delivered = recorded.Take(700).ToArray();
        store.Ledger.Decide([.. delivered.Select(k => Decision(k, $"fp-{k.Folder}-{k.Uid}", $"sm-{k.Folder}-{k.Uid}"))]);
        store.Ledger.Deliver(delivered, Now);

        var rows = store.GetMany(keys);
        var found = store.FindDeliveredMany("box", [.. keys.Select(k => $"fp-{k.Folder}-{k.Uid}"), "fp-never"]);

        Assert.Equal(recorded.ToHashSet(), rows.Keys.ToHashSet());
        Assert.All(recorded, k => Assert.Equal(store.Get(k), rows[k]));
        Assert.Equal(delivered.Select(k => $"fp-{k.Folder}-{k.Uid}").ToHashSet(), found.Keys.ToHashSet());
        Assert.All(delivered, k => Assert.Equal(k, found[$"fp-{k.Folder}-{k.Uid}"].Key));
        Assert.Empty(store.FindDeliveredMany("other-box", [.. found.Keys]));
    }

    [Fact]
    public void FailedTransaction_LeavesNeitherStateNorAudit()
    {
        var store = Open();
        store.Ledger.Begin([(Key(1), "fp1", "sm-1"), (Key(2), "fp2", "sm-2")], Now);
        // The second decision's audit row breaks a NOT NULL constraint: the database refuses the whole transaction.
        var broken = Decision(Key(2), "fp2", "sm-2");
        broken = broken with { Audit = new AuditEntry { Time = Now, DecisionId = "sm-2", Fingerprint = "fp2", Mailbox = "box", Source = "t", Reason = "r", Destination = "d", Outcome = null! } };

        Assert.Throws<StateStoreException>(() => store.Ledger.Decide([Decision(Key(1), "fp1", "sm-1"), broken]));

        Assert.Equal(MailState.Seen, store.Get(Key(1))!.State);
        Assert.Equal(MailState.Seen, store.Get(Key(2))!.State);
        Assert.Empty(store.ReadAudit());
        store.Ledger.Decide([Decision(Key(1), "fp1", "sm-1")]); // and the store goes on
        Assert.Single(store.ReadAudit());
    }

    [Fact]
    public async Task TwoStoresOnOneDatabase_EachMailDeliveredOnceAndEveryAuditRowKept()
    {
        const int mails = 40;
        var a = Open("a");
        var b = Open("b");
        var delivered = new int[mails];
        var decided = 0;
        Task Worker(StateStore store) => Task.Run(() =>
        {
            for (var i = 0; i < mails; i++)
            {
                try
                {
                    store.Ledger.Begin([(Key(i), $"fp{i}", $"sm-{i}")], Now);
                    store.Ledger.Decide([Decision(Key(i), $"fp{i}", $"sm-{i}")]);
                    Interlocked.Increment(ref decided);
                    store.Ledger.Deliver([Key(i)], Now);
                    Interlocked.Increment(ref delivered[i]);
                }
                catch (IllegalTransitionException)
                {
                    // the other instance got there first
                }
            }
        });

        await Task.WhenAll(Worker(a), Worker(b));

        Assert.All(delivered, d => Assert.Equal(1, d));
        Assert.Equal(mails, a.CountByState()[MailState.Delivered]);
        Assert.Equal(decided, b.ReadAudit().Count);
        if (SharedByInstances)
        {
            Assert.NotEqual(a.InstanceId, b.InstanceId);
            a.SetMeta("lease", "1");
            b.SetMeta("lease", "2");
            Assert.Equal(("1", "2"), (a.GetMeta("lease"), b.GetMeta("lease"))); // each instance's own values
        }
    }

    [Fact]
    public void CrashBetweenSteps_ReopenedStoreResumesWhereTheLastOneStopped()
    {
        var first = OpenStore(Database, "a");
        first.Ledger.Begin([(Key(1), "fp1", "sm-1"), (Key(2), "fp2", "sm-2")], Now);
        first.Ledger.Decide([Decision(Key(1), "fp1", "sm-1"), Decision(Key(2), "fp2", "sm-2")]);
        first.Ledger.Deliver([Key(1)], Now);
        var action = first.Ledger.MoveAction(first.Ledger.RequestAction(
            new WebActionRecord("sm-1", "correct", "Tax", "alice", "box", "sci_space", "Tax", WebActionStep.Intent, null), Now), Now);
        first.Dispose(); // the process dies here

        var again = Open("a");
        var unfinished = again.ListUnfinished("box").ToDictionary(r => r.Key.Uid, r => r.State);
        Assert.Equal(MailState.Delivered, unfinished["1"]);
        Assert.Equal(MailState.Decided, unfinished["2"]);
        Assert.Equal(action, Assert.Single(again.OpenActions()));
        again.Ledger.Acknowledge([Key(1)], Now);
        again.Ledger.Deliver([Key(2)], Now);
        again.Ledger.Acknowledge([Key(2)], Now);
        Complete(again, action);
        Assert.Empty(again.ListUnfinished("box"));
        Assert.Empty(again.OpenActions());
        Assert.Equal(2, again.ReadAudit().Count(r => r.Outcome == "routed"));
    }

    [Fact]
    public void Migrations_FreshRerunAndNewerThanTheBinary()
    {
        var fresh = Open();
        var version = fresh.SchemaVersion;
        Assert.True(version >= 1);
        Assert.Equal(version.ToString(System.Globalization.CultureInfo.InvariantCulture), fresh.GetMetaRaw("schema_version"));
        fresh.Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);
        fresh.Dispose();

        using (var rerun = OpenStore(Database, "a"))
        {
            Assert.Equal(version, rerun.SchemaVersion);
            Assert.Equal(MailState.Seen, rerun.Get(Key(1))!.State); // nothing lost, nothing applied twice
        }

        ForceSchemaVersion(Database, version + 1);
        var refused = Assert.Throws<StateStoreException>(() => OpenStore(Database, "a"));
        Assert.Contains("newer than this SmartMail", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
    }

    // A fleet started together on a new database: every instance migrates at once (the fleet test once saw PostgreSQL's
    // 23505 on pg_type from two CREATE TABLE IF NOT EXISTS racing outside the migration lock).
    [Fact]
    public async Task Migrations_InstancesOpeningANewDatabaseTogether_AllComeUpOnOneSchema()
    {
        const int instances = 6;
        using var together = new Barrier(instances);
        var opened = await Task.WhenAll(Enumerable.Range(0, instances).Select(i => Task.Run(() =>
        {
            together.SignalAndWait(TestContext.Current.CancellationToken);
            return Open("i" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }, TestContext.Current.CancellationToken)));

        Assert.All(opened, store => Assert.Equal(opened[0].SchemaVersion, store.SchemaVersion));
        opened[0].Ledger.Begin([(Key(1), "fp1", "sm-1")], Now);
        Assert.Equal(MailState.Seen, opened[^1].Get(Key(1))!.State);
    }

    private static void Bring(StateStore store, MailKey key, MailState? state)
    {
        if (state is null)
        {
            return;
        }
        store.Ledger.Begin([(key, Fp(key), Id(key))], Now);
        switch (state)
        {
            case MailState.Gone:
                store.Ledger.Leave(key, Audit("gone"));
                return;
            case MailState.ClaimedElsewhere:
                store.Ledger.LoseClaim(key, Audit("claimed"));
                return;
            case MailState.Seen:
                return;
        }
        store.Ledger.Decide([Decision(key, Fp(key), Id(key))]);
        if (state == MailState.Decided)
        {
            return;
        }
        store.Ledger.Deliver([key], Now);
        if (state == MailState.Acknowledged)
        {
            store.Ledger.Acknowledge([key], Now);
        }
    }

    private static void Apply(StateStore store, MailTransition transition, MailKey key)
    {
        switch (transition)
        {
            case MailTransition.Begin or MailTransition.Reopen:
                store.Ledger.Begin([(key, Fp(key), Id(key))], Now);
                break;
            case MailTransition.Decide:
                store.Ledger.Decide([Decision(key, Fp(key), Id(key))]);
                break;
            case MailTransition.Claim:
                store.Ledger.Claim([(key, "$SM_x_" + Id(key))]);
                break;
            case MailTransition.Defer:
                store.Ledger.Defer(key, "down", Now.AddMinutes(5), Now);
                break;
            case MailTransition.Fail:
                store.Ledger.Fail(key, "failed", Now);
                break;
            case MailTransition.Deliver:
                store.Ledger.Deliver([key], Now);
                break;
            case MailTransition.Acknowledge:
                store.Ledger.Acknowledge([key], Now);
                break;
            case MailTransition.Duplicate:
                store.Ledger.Duplicate(key, Fp(key), Id(key), store.Get(Earlier)!, Audit("duplicate"));
                break;
            case MailTransition.Leave:
                store.Ledger.Leave(key, Audit("gone"));
                break;
            case MailTransition.LoseClaim:
                store.Ledger.LoseClaim(key, Audit("claimed"));
                break;
            case MailTransition.Recover:
                store.Ledger.Recover(key, Audit("delivered"));
                break;
            case MailTransition.Correct:
                var c = Correction(key);
                store.Ledger.Correct(c, new NewExample("box", Fp(key), Id(key), "Housing", "v1", new TextInput("s", "b"), Now),
                    CorrectionRecorder.Audit(c, "test", "Tax"), Tracker, adjust: true);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(transition), transition, null);
        }
    }

    private static WebActionRecord BringAction(StateStore store, int n, WebActionStep? step)
    {
        var action = new WebActionRecord(Id(Key(n)), "correct", "Tax", "alice", "box", "sci_space", "Tax", WebActionStep.Intent, null);
        if (step is null)
        {
            return action;
        }
        action = store.Ledger.RequestAction(action, Now);
        return step switch
        {
            WebActionStep.Moved => store.Ledger.MoveAction(action, Now),
            WebActionStep.Failed => store.Ledger.FailAction(action, "refused", Now),
            WebActionStep.Done => Complete(store, store.Ledger.MoveAction(action, Now)),
            _ => action,
        };
    }

    private static WebActionRecord Complete(StateStore store, WebActionRecord action)
    {
        var c = Correction(Key(int.Parse(action.DecisionId[3..], System.Globalization.CultureInfo.InvariantCulture)));
        store.Ledger.CompleteAction(action, "corrected", "Tax", (c, CorrectionRecorder.Audit(c, "web", "Tax"), Tracker, true), [], Now);
        return action with { Step = WebActionStep.Done };
    }

    private static string Fp(MailKey key) => "fp" + key.Uid;

    private static string Id(MailKey key) => "sm-" + key.Uid;

    private static Correction Correction(MailKey key) => new(Now, "box", Fp(key), Id(key), "Housing", "sci_space", "Tax", "Tax", "alice", "web", "v1");

    private static DecisionToRecord Decision(MailKey key, string fingerprint, string decisionId) =>
        new(key, "sci_space", "{}", new AuditEntry
        {
            Time = Now, DecisionId = decisionId, Fingerprint = fingerprint, Mailbox = "box", Source = "model", Label = "Housing",
            Reason = "test", Destination = "sci_space", Outcome = "routed",
        });

    private static AuditEntry Audit(string outcome) => new()
    {
        Time = Now, DecisionId = "sm-1", Fingerprint = "fp1", Mailbox = "box", Source = "test", Reason = "test", Destination = "sci_space", Outcome = outcome,
    };
}

/// <summary>The conformance suite on SQLite (a file per test).</summary>
public sealed class SqliteConformanceTests : StateStoreConformanceTests
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-conformance-");
    private readonly System.Collections.Concurrent.ConcurrentQueue<ExampleStore> _examples = new(); // Open runs on several threads at once in the migration race test

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(Path.Combine(_dir.FullName, "state.db"));

    protected override StateStore OpenStore(string database, string instance)
    {
        var store = new SqliteStateStore(database);
        _examples.Enqueue(new ExampleStore(database)); // the learning tables (PostgreSQL's schema has them from its first migration)
        return store;
    }

    // Each new mail asks whether the same bytes were delivered before; with the (mailbox, state) index that walked every
    // delivered mail of the mailbox, so a backlog slowed as it was worked.
    [Fact]
    public void FindDelivered_SearchesByFingerprint_NotByState()
    {
        using var store = new SqliteStateStore(Database);
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Database};Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "EXPLAIN QUERY PLAN " + StateStore.FindDeliveredSql;
        foreach (var name in new[] { "@m", "@fp", "@delivered", "@acknowledged" })
        {
            cmd.Parameters.AddWithValue(name, 0);
        }
        using var plan = cmd.ExecuteReader();
        var steps = new List<string>();
        while (plan.Read())
        {
            steps.Add(plan.GetString(3));
        }

        Assert.Contains(steps, s => s.Contains("INDEX mail_fingerprint", StringComparison.Ordinal));
        Assert.DoesNotContain(steps, s => s.Contains("mail_state", StringComparison.Ordinal));
    }

    protected override System.Data.Common.DbConnection Connect(string database)
    {
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Pooling=False");
        connection.Open();
        return connection;
    }

    protected override void Cleanup()
    {
        foreach (var e in _examples)
        {
            e.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }
}

/// <summary>The conformance suite on a real PostgreSQL (one server per class, one database per test).</summary>
public sealed class PostgreSqlConformanceTests(PostgreSqlFixture postgres) : StateStoreConformanceTests, IClassFixture<PostgreSqlFixture>
{
    protected override Task<string> NewDatabaseAsync() => postgres.NewDatabaseAsync();

    protected override bool SharedByInstances => true;

    protected override StateStore OpenStore(string database, string instance) => new PostgreSqlStateStore(database, instance);

    protected override System.Data.Common.DbConnection Connect(string database)
    {
        var connection = new Npgsql.NpgsqlConnection(database);
        connection.Open();
        return connection;
    }
}
