using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SmartMail.Core.Classification;

namespace SmartMail.Cli.Commands;

/// <summary><c>smartmail evaluate</c>: measures a model bundle on labeled data at its thresholds.</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var command = new Command("evaluate", """
            Measures a model bundle on labeled data at its thresholds: accuracy, macro-F1, per-label precision/recall/F1,
            the confusion matrix and the automation rate (share routed without a person) with its precision.
            """);
        var model = new Option<string>("--model") { Description = "The model bundle.", Required = true, HelpName = "model.zip" };
        var data = DataArgs.AddTo(command);
        var json = new Option<string?>("--json") { Description = "Write the report as JSON to FILE, or to stdout with '-'.", HelpName = "FILE|-" };
        var markdown = new Option<string?>("--markdown") { Description = "Write the report as Markdown to FILE, or to stdout with '-'.", HelpName = "FILE|-" };
        var threads = CliOptions.Number("--threads", Environment.ProcessorCount, 1, 256, "Threads for prediction.");
        foreach (var option in new Option[] { model, json, markdown, threads })
        {
            command.Options.Add(option);
        }
        command.SetAction((parse, cancellationToken) =>
        {
            using var bundle = ModelBundle.Load(parse.GetRequiredValue(model));
            var set = data.Load(parse, cancellationToken);
            return Task.FromResult(Evaluate(bundle, set, data.Folder(parse), parse.GetValue(json), parse.GetValue(markdown), parse.GetValue(threads)));
        });
        return command;
    }

    private static int Evaluate(ModelBundle bundle, TrainingSet set, string? folder, string? json, string? markdown, int threads)
    {
        // Rates are a running service's: one untimed pass first, so the JIT has tiered the hot path up.
        var scored = new ScoredExample[set.Documents.Count];
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        for (var pass = 0; pass < 2; pass++)
        {
            stopwatch.Restart();
            Parallel.For(0, scored.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
                scored[i] = new ScoredExample(set.Documents[i].Label, bundle.Predict(set.Documents[i].Text)));
        }
        var predictSeconds = stopwatch.Elapsed.TotalSeconds;
        var endToEnd = folder is not null ? EndToEnd(bundle, folder, threads) : (double?)null;
        var report = Evaluator.Evaluate(scored, bundle.Model.Labels, bundle.Thresholds, bundle.Manifest.Training.TargetPrecision);
        if (json is null && markdown is null)
        {
            ReportWriter.WriteConsole(report, bundle.Manifest);
        }
        Console.Error.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"Predicted {scored.Length} documents in {predictSeconds:F2} s on {threads} thread(s): {scored.Length / predictSeconds:F0} docs/s (text already extracted)."));
        if (endToEnd is { } rate)
        {
            Console.Error.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"End to end (raw bytes in memory -> extract -> featurize -> predict -> routing decision) on {threads} thread(s): {rate:F0} mails/s."));
        }
        if (json is not null)
        {
            Write(json, JsonSerializer.Serialize(new { model = bundle.Manifest.ModelVersion, data = set.SourceName, skipped = set.Skipped, report }, CliJson.Indented));
        }
        if (markdown is not null)
        {
            Write(markdown, ReportWriter.Markdown(report, bundle.Manifest, set.SourceName));
        }
        return ExitCodes.Ok;
    }

    // Raw bytes are read first, so only extraction, featurizing, prediction and the policy are timed (second pass).
    private static double EndToEnd(ModelBundle bundle, string folder, int threads)
    {
        var raws = Directory.EnumerateDirectories(folder).SelectMany(Directory.EnumerateFiles).Select(File.ReadAllBytes).ToArray();
        var extractor = new SmartMail.Core.Mime.MailExtractor();
        var policy = new SmartMail.Core.Routing.RoutingPolicy([], bundle);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        for (var pass = 0; pass < 2; pass++)
        {
            stopwatch.Restart();
            Parallel.For(0, raws.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, i => policy.Decide(extractor.Extract(raws[i])));
        }
        return raws.Length / stopwatch.Elapsed.TotalSeconds;
    }

    private static void Write(string target, string content)
    {
        if (target == "-")
        {
            Console.Out.Write(content);
            Console.Out.WriteLine();
        }
        else
        {
            File.WriteAllText(target, content);
        }
    }
}
