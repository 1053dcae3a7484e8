using SmartMail.Worker.Processing;

namespace SmartMail.Worker.Tests.Hostile;

/// <summary>Hostile mail through the real pipeline (drop folder, SQLite ledger, journal): routed or quarantined with a reason, never a crash.</summary>
public sealed class HostileMailTests(DefaultModelFixture model, ITestOutputHelper output) : IClassFixture<DefaultModelFixture>
{
    [Fact]
    public async Task Drain_HostileCatalogue_EachMailRoutedOrQuarantinedWithAReason_MemoryBounded()
    {
        using var world = new TestWorld(model.Bundle);
        var catalogue = HostileMail.All().ToList();
        foreach (var (name, raw) in catalogue)
        {
            world.Drop(name + ".eml", raw);
        }
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var outcomes = await world.DrainAsync();

        GC.Collect();
        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        output.WriteLine($"{catalogue.Count} hostile mails; retained managed memory after the drain: {retained / 1024 / 1024} MB; " +
            string.Join(", ", outcomes.GroupBy(o => o).Select(g => $"{g.Key} {g.Count()}")));
        Assert.True(catalogue.Count >= 20);
        Assert.Equal(catalogue.Count, outcomes.Count);
        Assert.All(outcomes, o => Assert.Contains(o, new[] { ProcessOutcome.Routed, ProcessOutcome.Manual, ProcessOutcome.Quarantined }));
        Assert.Empty(Directory.GetFiles(world.InboxPath));
        var audit = world.Store.ReadAudit();
        Assert.Equal(catalogue.Count, audit.Count);
        Assert.All(audit, a => Assert.False(string.IsNullOrWhiteSpace(a.Reason)));
        Assert.Contains(audit, a => a.Outcome == "quarantined" && a.Reason.Contains("larger than", StringComparison.Ordinal));
        Assert.Contains(audit, a => a.Outcome == "manual" && a.Reason.Contains("not parseable", StringComparison.Ordinal));
        // Same Message-ID, different bodies: two mails, two decisions (the fingerprint, not the Message-ID, is identity).
        Assert.Equal(2, audit.Count(a => a.Outcome != "duplicate" && world.JournalFiles(a.DecisionId + ".eml").Length == 1
            && File.ReadAllText(world.JournalFiles(a.DecisionId + ".eml")[0]).Contains("<same@example.org>", StringComparison.Ordinal)));
        Assert.InRange(retained, long.MinValue, 200L * 1024 * 1024);
    }

    [Fact]
    public async Task Drain_AllOfSpamAssassin_EveryMailHandledOnce()
    {
        var root = FindData("spamassassin");
        using var world = new TestWorld(model.Bundle);
        var files = new[] { "easy_ham", "easy_ham_2", "hard_ham", "spam", "spam_2" }
            .SelectMany(f => Directory.GetFiles(Path.Combine(root, f)).Select(p => (f, p))).ToList();
        foreach (var (folder, path) in files)
        {
            world.Drop($"{folder}-{Path.GetFileName(path)}.eml", File.ReadAllBytes(path));
        }

        var outcomes = await world.DrainAsync();

        Assert.Equal(6047, files.Count);
        Assert.Equal(files.Count, outcomes.Count);
        Assert.Empty(Directory.GetFiles(world.InboxPath));
        var counts = outcomes.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", counts.Select(c => $"{c.Key}: {c.Value}")));
        Assert.Equal(files.Count, counts.GetValueOrDefault(ProcessOutcome.Routed) + counts.GetValueOrDefault(ProcessOutcome.Manual)
            + counts.GetValueOrDefault(ProcessOutcome.Quarantined) + counts.GetValueOrDefault(ProcessOutcome.Duplicate));
        Assert.Equal(files.Count - counts.GetValueOrDefault(ProcessOutcome.Duplicate), world.JournalFiles("*.eml").Length);
    }

    private static string FindData(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", name);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        Assert.Skip($"../shared/data/{name} not found: this test routes the real corpus.");
        return string.Empty;
    }
}
