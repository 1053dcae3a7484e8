using System.Text;
using SmartMail.Core;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Security;

/// <summary>
/// Issue 24, finding 5: symbolic links were followed. A link named <c>*.eml</c> in the drop inbox (pointing at state.db or
/// web-keys) was read into the journal; the journal wrote through a predictable <c>&lt;id&gt;.eml.tmp</c> opened with
/// FileMode.Create, so a link planted under that name made SmartMail overwrite the file it pointed at.
/// </summary>
public sealed class SymlinkTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-links-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task DropInbox_SymlinkNamedEml_IsIgnoredWithALogLineAndNeverRead()
    {
        var ct = TestContext.Current.CancellationToken;
        var inbox = Directory.CreateDirectory(Path.Combine(_dir.FullName, "inbox")).FullName;
        var secret = Path.Combine(_dir.FullName, "state.db");
        await File.WriteAllTextAsync(secret, "SECRET LEDGER BYTES", ct);
        File.CreateSymbolicLink(Path.Combine(inbox, "evil.eml"), secret);
        await File.WriteAllTextAsync(Path.Combine(inbox, "plain.eml"), Mails.Car(1), ct);
        var logger = new ListLogger<DropFolderSource>();
        var source = new DropFolderSource("drop", inbox, logger);

        var pending = await source.ListAsync(ct);
        await source.ListAsync(ct);

        Assert.Equal(["plain.eml"], pending.Select(p => p.Key.Uid));
        Assert.Null(await source.FetchAsync(new MailKey("drop", "inbox", 0, "evil.eml"), ct));
        Assert.Single(logger.With(SmartMailEventId.SymlinkIgnored)); // once per name, not once per look
        Assert.True(File.Exists(Path.Combine(inbox, "evil.eml"))); // left alone
    }

    [Fact]
    public async Task DropInbox_SymlinkNamedEml_NeverReachesTheJournal()
    {
        using var world = new TestWorld();
        var secret = Path.Combine(world.Root.FullName, "web-keys.xml");
        await File.WriteAllTextAsync(secret, "<key>SECRET</key>", TestContext.Current.CancellationToken);
        Directory.CreateDirectory(world.InboxPath);
        File.CreateSymbolicLink(Path.Combine(world.InboxPath, "evil.eml"), secret);
        world.Drop("plain.eml", Mails.Car(1));

        var outcomes = await world.DrainAsync();

        Assert.Single(outcomes);
        Assert.DoesNotContain(world.JournalFiles("*.eml"), f => File.ReadAllText(f).Contains("SECRET", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Journal_LinkPlantedUnderTheOldTemporaryName_IsNotWrittenThrough()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = Path.Combine(_dir.FullName, "journal");
        var victim = Path.Combine(_dir.FullName, "victim.txt");
        await File.WriteAllTextAsync(victim, "untouched", ct);
        var destination = Directory.CreateDirectory(Path.Combine(root, "space-desk")).FullName;
        File.CreateSymbolicLink(Path.Combine(destination, "sm-0123.eml.tmp"), victim);
        File.CreateSymbolicLink(Path.Combine(destination, "sm-0123.json.tmp"), victim);
        var temps = new List<string>();
        var sink = new FolderJournalSink(root) { Steps = (kind, path) => temps.AddRange(kind == "fsync" ? [path] : []) };
        var delivery = new Delivery(new MailKey("drop", "INBOX", 1, "1"), "sm-0123", "space-desk", Encoding.UTF8.GetBytes(Mails.Space(1)), "{}");

        await sink.DeliverAsync(delivery, ct);
        await sink.DeliverAsync(delivery, ct);

        Assert.Equal("untouched", await File.ReadAllTextAsync(victim, ct));
        Assert.Equal(Mails.Space(1), await File.ReadAllTextAsync(Path.Combine(destination, "sm-0123.eml"), ct));
        Assert.Equal(4, temps.Distinct(StringComparer.Ordinal).Count()); // a new, unguessable name every time
        Assert.All(temps, t => Assert.Matches(@"\.(eml|json)\.[0-9a-f]{16}\.tmp$", t));
    }
}
