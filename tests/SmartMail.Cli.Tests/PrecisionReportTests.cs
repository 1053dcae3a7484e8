using System.Globalization;
using System.Text.Json;

namespace SmartMail.Cli.Tests;

/// <summary>What matters in the reports: the precision–automation curve and realised precision against the target (evaluate), and realised precision in service with the thresholds in force (models list).</summary>
public sealed class PrecisionReportTests
{
    private static string Sample(string name) => CliProcess.EnglishSample(name);

    private static string LabelFolders(string root)
    {
        foreach (var (label, file) in new[] { ("sci.space", "01-shuttle-launch.eml"), ("rec.sport.hockey", "06-hockey.eml"), ("rec.autos", "02-engine-noise.eml") })
        {
            File.Copy(Sample(file), Path.Combine(Directory.CreateDirectory(Path.Combine(root, label)).FullName, file));
        }
        return root;
    }

    [Fact]
    public async Task Evaluate_TextAndJson_ShowTheCurveAndRealisedPrecisionNextToTheTarget()
    {
        var data = LabelFolders(CliProcess.TempDirectory());

        var text = await CliProcess.RunAsync(CliProcess.TempDirectory(), "evaluate", "--model", CliProcess.DefaultModel, "--data", data);
        var json = await CliProcess.RunAsync(CliProcess.TempDirectory(), "evaluate", "--model", CliProcess.DefaultModel, "--data", data, "--json", "-");

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.True(json.ExitCode == 0, json.ToString());
        using var doc = JsonDocument.Parse(json.Stdout);
        var summary = doc.RootElement.GetProperty("report").GetProperty("summary");
        var automation = summary.GetProperty("automationRate").GetDouble();
        var precision = summary.GetProperty("automatedPrecision").GetDouble();
        var target = summary.GetProperty("targetPrecision").GetDouble();
        var curve = summary.GetProperty("curve").EnumerateArray().ToList();
        Assert.NotEmpty(curve);
        Assert.Equal(1.0, curve[^1].GetProperty("automationRate").GetDouble(), 6);
        Assert.All(curve, p => Assert.InRange(p.GetProperty("precision").GetDouble(), 0, 1));
        Assert.Contains("Precision–automation curve", text.Stdout, StringComparison.Ordinal);
        foreach (var point in curve)
        {
            Assert.Contains(point.GetProperty("minConfidence").GetSingle().ToString("0.000", CultureInfo.InvariantCulture), text.Stdout, StringComparison.Ordinal);
        }
        var line = text.Stdout.Split('\n').Single(l => l.Contains("At the model's own thresholds", StringComparison.Ordinal));
        Assert.Contains($"automation rate {automation.ToString("0.000", CultureInfo.InvariantCulture)}", line, StringComparison.Ordinal);
        Assert.Contains($"realised precision {precision.ToString("0.000", CultureInfo.InvariantCulture)}", line, StringComparison.Ordinal);
        Assert.Contains($"target {target.ToString("0.000", CultureInfo.InvariantCulture)}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelsList_AfterACorrectedAutomaticRoute_ShowsRealisedPrecisionPerLabel()
    {
        var dir = CliProcess.TempDirectory();
        var inbox = Directory.CreateDirectory(Path.Combine(dir, "inbox")).FullName;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(CliProcess.RepositoryRoot, "tests", "TestData", "english-inbox"), "*.eml"))
        {
            File.Copy(file, Path.Combine(inbox, Path.GetFileName(file)));
        }
        var data = Path.Combine(dir, "data");
        var model = EveryLabelRoutes(dir);
        string[] settings = [$"--SmartMail:DataDirectory={data}", $"--SmartMail:ModelPath={model}", $"--SmartMail:Inbox={inbox}"];
        var run = await CliProcess.RunAsync(dir, ["run", .. settings]);
        Assert.True(run.ExitCode == 0, run.ToString());
        var routed = Directory.EnumerateFiles(Path.Combine(data, "journal"), "*.json", SearchOption.AllDirectories)
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement)
            .Where(d => d.GetProperty("source").GetString() == "model").ToList();
        Assert.NotEmpty(routed); // every label has a threshold the samples reach
        var corrected = routed[0];
        var label = corrected.GetProperty("label").GetString()!;

        var correct = await CliProcess.RunAsync(dir, ["correct", corrected.GetProperty("fingerprint").GetString()!, "Teknik", "--new-label", .. settings]);
        var json = await CliProcess.RunAsync(dir, ["models", "list", "--json", .. settings]);
        var text = await CliProcess.RunAsync(dir, ["models", "list", .. settings]);

        Assert.True(correct.ExitCode == 0, correct.ToString());
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.True(text.ExitCode == 0, text.ToString());
        using var doc = JsonDocument.Parse(json.Stdout);
        var labels = doc.RootElement.GetProperty("labels").EnumerateArray().ToDictionary(l => l.GetProperty("label").GetString()!);
        Assert.Equal(routed.Count, labels.Values.Sum(l => l.GetProperty("automated").GetInt32()));
        Assert.Equal(1, labels.Values.Sum(l => l.GetProperty("corrected").GetInt32()));
        Assert.Equal(1, labels[label].GetProperty("corrected").GetInt32());
        var automated = labels[label].GetProperty("automated").GetInt32();
        Assert.Equal(1 - (1.0 / automated), labels[label].GetProperty("realisedPrecision").GetDouble(), 6);
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("thresholdChanges").ValueKind);
        Assert.Contains("In service", text.Stdout, StringComparison.Ordinal);
        Assert.Contains(label, text.Stdout, StringComparison.Ordinal);
    }

    // The shipped model with a low threshold for every label, so that the samples are routed by the model alone whatever
    // thresholds the shipped model has.
    private static string EveryLabelRoutes(string dir)
    {
        var path = Path.Combine(dir, "model.zip");
        File.Copy(CliProcess.DefaultModel, path);
        using var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Update);
        var entry = zip.GetEntry("manifest.json")!; // every bundle has one
        System.Text.Json.Nodes.JsonNode manifest;
        using (var read = entry.Open())
        {
            manifest = System.Text.Json.Nodes.JsonNode.Parse(read)!;
        }
        foreach (var label in manifest["labels"]!.AsArray())
        {
            label!["threshold"] = 0.001;
        }
        entry.Delete();
        using var write = zip.CreateEntry("manifest.json").Open();
        using var writer = new Utf8JsonWriter(write);
        manifest.WriteTo(writer);
        return path;
    }
}
