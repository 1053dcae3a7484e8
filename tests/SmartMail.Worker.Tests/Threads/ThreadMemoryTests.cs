using Microsoft.Data.Sqlite;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Threads;

/// <summary>The thread table in a real SQLite state store: what counts as a parent, and what is kept of a Message-ID.</summary>
public sealed class ThreadMemoryTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("smartmail-threads-");
    private readonly SqliteStateStore _store;

    public ThreadMemoryTests() => _store = new SqliteStateStore(Path.Combine(_data.FullName, "state.db"));

    private static MailKey Key(int uid) => new("box", "INBOX", 1, uid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    // Begin + Decide (with the thread entry, as MailProcessor records it) for a mail routed to 'label'.
    private void Route(int uid, string messageId, string label, string destination, DateTimeOffset? time = null)
    {
        var at = time ?? Now;
        _store.Ledger.Begin([(Key(uid), $"fp{uid}", $"sm-{uid}")], at);
        var audit = new AuditEntry
        {
            Time = at,
            DecisionId = $"sm-{uid}",
            Fingerprint = $"fp{uid}",
            Mailbox = "box",
            Source = "model",
            Label = label,
            Reason = "test",
            Destination = destination,
            Outcome = "routed",
        };
        _store.Ledger.Decide([new DecisionToRecord(Key(uid), destination, "{}", audit)
        {
            Thread = _store.Threads.Routed("box", messageId, label, destination, $"sm-{uid}", $"fp{uid}", at),
        }]);
    }

    [Fact]
    public void Find_RoutedParent_CountsOnlyOnceDelivered()
    {
        Route(1, "parent@example.dk", "skat", "Skat");

        Assert.Null(_store.Threads.Find("box", ["parent@example.dk"])); // decided, not yet delivered
        _store.Ledger.Deliver([Key(1)], Now);
        var parent = _store.Threads.Find("box", ["<parent@example.dk>"]);

        Assert.Equal(("skat", "sm-1"), (parent?.Label, parent?.DecisionId));
        Assert.Null(_store.Threads.Find("other-mailbox", ["parent@example.dk"])); // per mailbox
    }

    [Fact]
    public void Find_ParentRedecidedToQuarantine_IsNoLongerFollowed()
    {
        Route(1, "parent@example.dk", "skat", "Skat");
        var audit = new AuditEntry
        {
            Time = Now,
            DecisionId = "sm-1",
            Fingerprint = "fp1",
            Mailbox = "box",
            Source = "quarantine",
            Reason = "poison",
            Destination = "_quarantine",
            Outcome = "quarantined",
        };
        _store.Ledger.Decide([new DecisionToRecord(Key(1), "_quarantine", "{}", audit)]);
        _store.Ledger.Deliver([Key(1)], Now);

        Assert.Null(_store.Threads.Find("box", ["parent@example.dk"]));
    }

    [Fact]
    public void Find_NewerFolderSighting_WinsOverTheRoute()
    {
        Route(1, "parent@example.dk", "skat", "Skat");
        _store.Ledger.Deliver([Key(1)], Now);

        Assert.True(_store.Threads.SeenInFolder("box", "parent@example.dk", "byggeri", "Byggeri", Now.AddMinutes(5)));
        var parent = _store.Threads.Find("box", ["parent@example.dk"]);

        Assert.Equal(("byggeri", null, "Byggeri"), (parent?.Label, parent?.DecisionId, parent?.Folder));
    }

    [Fact]
    public void Find_TriesTheIdsInOrder()
    {
        _store.Threads.SeenInFolder("box", "old@x", "skat", "Skat", Now);
        _store.Threads.SeenInFolder("box", "new@x", "skole", "Skole", Now);

        Assert.Equal("skole", _store.Threads.Find("box", ["unknown@x", "new@x", "old@x"])?.Label);
    }

    [Fact]
    public void MessageIds_AreKeptOnlyAsKeyedHashes_AndOnesWithACprNumberNotAtAll()
    {
        Assert.True(_store.Threads.SeenInFolder("box", "svar-17@kommune.dk", "skat", "Skat", Now));
        Assert.False(_store.Threads.SeenInFolder("box", "010190-1234@borger.dk", "skat", "Skat", Now));
        Assert.Null(_store.Threads.Find("box", ["010190-1234@borger.dk"]));

        var hashes = Column("SELECT message_hash FROM thread");
        Assert.Equal([_store.Threads.Hash("svar-17@kommune.dk")!], hashes);
        Assert.NotEqual(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("svar-17@kommune.dk"u8)), hashes[0]); // keyed, not a plain SHA-256
        var file = File.ReadAllBytes(Path.Combine(_data.FullName, "state.db"))
            .Concat(File.Exists(Path.Combine(_data.FullName, "state.db-wal")) ? File.ReadAllBytes(Path.Combine(_data.FullName, "state.db-wal")) : []).ToArray();
        Assert.DoesNotContain("svar-17", System.Text.Encoding.Latin1.GetString(file), StringComparison.Ordinal);
        Assert.DoesNotContain("010190", System.Text.Encoding.Latin1.GetString(file), StringComparison.Ordinal);
    }

    [Fact]
    public void Hash_SameKeyAfterReopening_DifferentKeyInAnotherStore()
    {
        var before = _store.Threads.Hash("a@b");
        using (var again = new SqliteStateStore(Path.Combine(_data.FullName, "state.db")))
        {
            Assert.Equal(before, again.Threads.Hash("a@b"));
        }
        using var other = new SqliteStateStore(Path.Combine(_data.FullName, "other.db"));

        Assert.NotEqual(before, other.Threads.Hash("a@b"));
    }

    private List<string> Column(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_data.FullName, "state.db")};Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var result = new List<string>();
        while (r.Read())
        {
            result.Add(r.GetString(0));
        }
        return result;
    }

    public void Dispose()
    {
        _store.Dispose();
        _data.Delete(recursive: true);
    }
}
