using System.Text.Json;
using SmartMail.Core.Mime;

namespace SmartMail.Cli.Tests;

/// <summary>The verbs as a user runs them: from any directory, with JSON a script can read.</summary>
public sealed class CommandTests
{
    private static string Sample(string name) => CliProcess.EnglishSample(name);

    [Fact]
    public async Task Classify_WithoutModel_FromAnotherDirectory_UsesTheDanishDemoModel()
    {
        var mail = Path.Combine(CliProcess.RepositoryRoot, "samples", "inbox", "01-storskrald.eml");

        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "classify", mail);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("01-storskrald.eml: 07 Affald og Genanvendelse", result.Stdout, StringComparison.Ordinal); // a KLE main group
    }

    [Fact]
    public async Task Classify_Json_WritesEnumNames()
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "classify", "--model", CliProcess.DefaultModel, "--json",
            Sample("01-shuttle-launch.eml"), Sample("03-newsletter-html.eml"));

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var line in result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            var source = doc.RootElement.GetProperty("decision").GetProperty("source");
            Assert.Equal(JsonValueKind.String, source.ValueKind);
            Assert.Contains(source.GetString(), new[] { "Rule", "Model", "Manual" });
        }
    }

    [Fact]
    public async Task Evaluate_Json_KeepsTheSummaryFieldNames()
    {
        var data = LabelFolders(CliProcess.TempDirectory());

        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "evaluate", "--model", CliProcess.DefaultModel, "--data", data, "--json", "-");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        var summary = doc.RootElement.GetProperty("report").GetProperty("summary");
        Assert.Equal(JsonValueKind.Number, summary.GetProperty("automationRate").ValueKind);
        Assert.Equal(JsonValueKind.Number, summary.GetProperty("automatedPrecision").ValueKind);
        Assert.Equal(JsonValueKind.Number, summary.GetProperty("targetPrecision").ValueKind);
    }

    [Fact]
    public async Task Train_EmptyAndBinaryFiles_AreNamedInTheOutput()
    {
        var data = CliProcess.TempDirectory();
        foreach (var (label, word) in new[] { ("skat", "ejendomsskat restance rykker betaling"), ("byggeri", "carport byggetilladelse tegning skur") })
        {
            var dir = Directory.CreateDirectory(Path.Combine(data, label)).FullName;
            for (var i = 0; i < 12; i++)
            {
                await File.WriteAllTextAsync(Path.Combine(dir, $"{i}.eml"), $"Subject: {label} {i}\r\n\r\nHej. {word} nummer {i}.\r\n", TestContext.Current.CancellationToken);
            }
        }
        await File.WriteAllBytesAsync(Path.Combine(data, "skat", "tom.eml"), [], TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(Path.Combine(data, "byggeri", "scanning.eml"), [0x25, 0x50, 0x44, 0x46, 0, 1, 2, 3, 0, 0, 0xff, 0xfe], TestContext.Current.CancellationToken);
        var model = Path.Combine(CliProcess.TempDirectory(), "model.zip");

        var result = await CliProcess.RunAsync(data, "train", "--data", data, "--out", model, "--holdout", "0", "--min-examples", "5");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("tom.eml", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("scanning.eml", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("skipped 2", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Correct_UnknownLabel_IsRefusedNamingTheKnownLabels_UnlessNew()
    {
        var dir = CliProcess.TempDirectory();
        var inbox = Directory.CreateDirectory(Path.Combine(dir, "inbox")).FullName;
        File.Copy(Sample("01-shuttle-launch.eml"), Path.Combine(inbox, "01.eml"));
        string[] settings = [$"--SmartMail:DataDirectory={Path.Combine(dir, "data")}", $"--SmartMail:ModelPath={CliProcess.DefaultModel}", $"--SmartMail:Inbox={inbox}"];
        var run = await CliProcess.RunAsync(dir, ["run", .. settings]);
        Assert.True(run.ExitCode == 0, run.ToString());
        var fingerprint = MailExtractor.Fingerprint(await File.ReadAllBytesAsync(Sample("01-shuttle-launch.eml"), TestContext.Current.CancellationToken))[..16];

        var refused = await CliProcess.RunAsync(dir, ["correct", fingerprint, "byggesag", .. settings]);
        var known = await CliProcess.RunAsync(dir, ["correct", fingerprint, "sci.med", .. settings]);
        var added = await CliProcess.RunAsync(dir, ["correct", fingerprint, "byggesag", "--new-label", .. settings]);

        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("byggesag", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("sci.space", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("--new-label", refused.Stderr, StringComparison.Ordinal);
        Assert.True(known.ExitCode == 0, known.ToString());
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Contains("byggesag", added.Stdout, StringComparison.Ordinal);
    }

    /// <summary>Two label folders with sample mails the default model knows.</summary>
    private static string LabelFolders(string root)
    {
        var space = Directory.CreateDirectory(Path.Combine(root, "sci.space")).FullName;
        var hockey = Directory.CreateDirectory(Path.Combine(root, "rec.sport.hockey")).FullName;
        File.Copy(Sample("01-shuttle-launch.eml"), Path.Combine(space, "01.eml"));
        File.Copy(Sample("06-hockey.eml"), Path.Combine(hockey, "06.eml"));
        return root;
    }
}
