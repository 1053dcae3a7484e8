using SmartMail.Worker.Sinks;

namespace SmartMail.Cli.Tests;

/// <summary>
/// The README's main command, <c>smartmail run</c> with no configuration at all: it seeds its inbox with the Danish sample
/// mails and routes them with the Danish demo model (KLE main groups), the unsure ones to manual triage, and no CPR number
/// reaches the ledger, the audit trail or the decision files.
/// </summary>
public sealed class QuickStartTests
{
    private static string Samples => Path.Combine(CliProcess.RepositoryRoot, "samples", "inbox");

    [Fact]
    public async Task Run_WithoutConfiguration_RoutesTheDanishSamplesToKleGroups_AndTheUnsureToManualTriage()
    {
        var dir = CliProcess.TempDirectory();
        var samples = Directory.GetFiles(Samples, "*.eml");

        var result = await CliProcess.RunAsync(dir, "run");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"with {samples.Length} sample mails", result.Stdout, StringComparison.Ordinal);
        var journal = Path.Combine(dir, ".smartmail", "journal");
        var placed = Directory.GetDirectories(journal).ToDictionary(
            d => Path.GetFileName(d), d => Directory.GetFiles(d, "*.eml").Length, StringComparer.Ordinal);
        Assert.True(placed.Values.Sum() == samples.Length, result.ToString());
        // The demo model is sure of these (confidence 1.000 in the README's table) and unsure of the reply about "my case".
        foreach (var group in new[] { "07 Affald og Genanvendelse", "17 Folkeskoleundervisning", "21 Biblioteker" })
        {
            Assert.True(placed.ContainsKey(FolderJournalSink.SafeName(group)), $"nothing in {group}: {string.Join(", ", placed.Keys)}");
        }
        Assert.True(placed.TryGetValue("_manual-triage", out var manual) && manual >= 1, string.Join(", ", placed.Keys));
    }

    [Fact]
    public async Task Run_WithoutConfiguration_KeepsTheSampleCprNumbersOutOfLedgerAuditAndDecisions()
    {
        var dir = CliProcess.TempDirectory();

        var result = await CliProcess.RunAsync(dir, "run");

        Assert.True(result.ExitCode == 0, result.ToString());
        var data = Path.Combine(dir, ".smartmail");
        var written = Directory.GetFiles(data, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".eml", StringComparison.Ordinal)) // the journal keeps the citizen's original mail
            .ToList();
        Assert.Contains(written, f => f.EndsWith(".json", StringComparison.Ordinal));
        Assert.Contains(written, f => Path.GetFileName(f) == "state.db");
        foreach (var file in written)
        {
            var bytes = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
            foreach (var cpr in new[] { "010190-1234", "0101901234", "0101151235" })
            {
                Assert.False(bytes.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(cpr)) >= 0, $"{cpr} in {file}");
            }
        }
        Assert.DoesNotContain("010190-1234", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }
}
