using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Cli.Tests;

/// <summary>What <c>smartmail run</c> says is true for the sources and sinks configured.</summary>
public sealed class RunSummaryTests
{
    private static SmartMailOptions Imap() => new()
    {
        DataDirectory = "/var/lib/smartmail",
        Mailboxes = [new ImapMailboxOptions { Name = "post", Host = "imap.kommune.example", Port = 993, Username = "post", Folder = "INBOX" }],
    };

    [Fact]
    public void WatchLine_Imap_NamesTheMailboxNotTheDropFolder()
    {
        var options = Imap();

        var line = RunSummary.WatchLine(options);

        Assert.Contains("IMAP mailbox post", line, StringComparison.Ordinal);
        Assert.Contains("imap.kommune.example:993", line, StringComparison.Ordinal);
        Assert.DoesNotContain(options.InboxPath, line, StringComparison.Ordinal);
        Assert.DoesNotContain(options.JournalPath, line, StringComparison.Ordinal);
    }

    [Fact]
    public void WatchLine_DropFolder_NamesTheInboxAndTheJournal()
    {
        var options = new SmartMailOptions { DataDirectory = "/tmp/sm" };

        var line = RunSummary.WatchLine(options);

        Assert.Contains(options.InboxPath, line, StringComparison.Ordinal);
        Assert.Contains(options.JournalPath, line, StringComparison.Ordinal);
    }

    [Fact]
    public void Destinations_Imap_CountsThisRunsDecisionsByHowTheyAreDelivered()
    {
        var options = Imap();
        options.Routes["skat"] = new RouteOptions { Kind = RouteKind.Smtp, Address = "skat@kommune.example" };
        options.Routes["byg"] = new RouteOptions { Kind = RouteKind.Folder, Destination = "Byggeri" };
        AuditEntry Row(string id, string destination, string outcome) => new()
        {
            Time = DateTimeOffset.UtcNow,
            DecisionId = id,
            Fingerprint = id,
            Mailbox = "post",
            Source = "model",
            Reason = "r",
            Destination = destination,
            Outcome = outcome,
        };

        var rows = RunSummary.Destinations(options,
        [
            Row("a", "skat", "routed"), Row("b", "skat", "routed"), Row("c", "Byggeri", "routed"),
            Row("d", "_manual-triage", "manual"), Row("a", "skat", "delivered"),
        ]);

        Assert.Equal(("post", "skat", "SMTP to skat@kommune.example", 2), Assert.Single(rows, r => r.Destination == "skat"));
        Assert.Contains("journal", Assert.Single(rows, r => r.Destination == "Byggeri").DeliveredTo, StringComparison.Ordinal);
        Assert.Equal("IMAP folder _manual-triage of post", Assert.Single(rows, r => r.Destination == "_manual-triage").DeliveredTo);
    }

    [Fact]
    public async Task Run_Imap_SummaryListsTheMailboxDestinationsAndNoJournal()
    {
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync([
            RunFailureTests.Mail("Shuttle launch"),
            System.Text.Encoding.UTF8.GetBytes("From: b@example.org\r\nSubject: game\r\nMessage-ID: <h1@example.org>\r\n\r\nThe hockey game went to overtime; the goalie stopped every puck in the playoffs.\r\n"),
        ]);
        var data = CliProcess.TempDirectory();

        var result = await CliProcess.RunAsync(data, "run", $"--SmartMail:DataDirectory={data}", $"--SmartMail:ModelPath={CliProcess.DefaultModel}",
            "--SmartMail:Mailboxes:0:Name=post", "--SmartMail:Mailboxes:0:Host=127.0.0.1", $"--SmartMail:Mailboxes:0:Port={dovecot.Port}",
            "--SmartMail:Mailboxes:0:Security=None", "--SmartMail:Mailboxes:0:AllowPlaintext=true",
            $"--SmartMail:Mailboxes:0:Username={dovecot.User}", $"--SmartMail:Mailboxes:0:Password={dovecot.Password}");

        Assert.True(result.ExitCode == 0, result.ToString());
        var folders = (await dovecot.InventoryAsync()).Select(m => m.Folder).Where(f => f != "INBOX").Distinct().ToList();
        Assert.NotEmpty(folders);
        foreach (var folder in folders)
        {
            // The hierarchy separator ('.' here) in a destination becomes '_' in its folder's name.
            Assert.Contains($"IMAP folder {folder} of post", result.Stdout.Replace('.', '_'), StringComparison.Ordinal);
        }
        Assert.DoesNotContain("journal", result.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Seeded", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("IMAP mailbox post", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Imap_LeaseHeldByAWatchingInstance_SkipsTheMailboxAndLeavesItsMail()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync([RunFailureTests.Mail("Shuttle launch")]);
        var data = CliProcess.TempDirectory();
        using var watcherStore = new SqliteStateStore(Path.Combine(CliProcess.TempDirectory(), "state.db"));
        using var watcher = new ImapLease(dovecot.Options("post"), watcherStore, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.True(await watcher.TryAcquireAsync(ct));

        var result = await CliProcess.RunAsync(data, "run", $"--SmartMail:DataDirectory={data}", $"--SmartMail:ModelPath={CliProcess.DefaultModel}",
            "--SmartMail:Mailboxes:0:Name=post", "--SmartMail:Mailboxes:0:Host=127.0.0.1", $"--SmartMail:Mailboxes:0:Port={dovecot.Port}",
            "--SmartMail:Mailboxes:0:Security=None", "--SmartMail:Mailboxes:0:AllowPlaintext=true",
            $"--SmartMail:Mailboxes:0:Username={dovecot.User}", $"--SmartMail:Mailboxes:0:Password={dovecot.Password}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Mailbox post: another SmartMail instance holds its lease and routes it; skipped.", result.Stdout, StringComparison.Ordinal);
        Assert.Equal("INBOX", Assert.Single(await dovecot.InventoryAsync()).Folder); // not routed: the lease holder routes it
        Assert.True(watcher.IsHeld);
    }
}
