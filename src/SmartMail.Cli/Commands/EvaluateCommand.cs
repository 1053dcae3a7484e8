using System.Globalization;
using System.Text.Json;
using SmartMail.Core.Classification;

namespace SmartMail.Cli.Commands;

/// <summary><c>smartmail evaluate</c>: measures a model bundle on labeled data at its thresholds.</summary>
internal static class EvaluateCommand
{
    public static int Run(string[] argv, CancellationToken cancellationToken)
    {
        var args = CliArgs.Parse(argv, "help");
        if (args.Flag("help"))
        {
            Console.WriteLine("""
                smartmail evaluate --model model.zip --data DIR | --csv FILE [--text-column C --label-column C]
                                   [--json FILE|-] [--markdown FILE|-]
                  Prints accuracy, macro-F1, per-label precision/recall/F1, the confusion matrix and the automation
                  rate (share routed without a person) with its precision at the model's thresholds.
                """);
            return 0;
        }
        var modelPath = args.Required("model");
        var json = args.Get("json");
        var threads = args.Int("threads", Environment.ProcessorCount, 1, 256);
        var markdown = args.Get("markdown");
        using var bundle = ModelBundle.Load(modelPath);
        var set = DataArgs.Load(args, cancellationToken);
        args.EnsureAllUsed();

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
        var endToEnd = args.Get("data") is { } folder ? EndToEnd(bundle, folder, threads) : (double?)null;
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
            Write(json, JsonSerializer.Serialize(new { model = bundle.Manifest.ModelVersion, data = set.SourceName, skipped = set.Skipped, report }, ModelBundle.JsonOptions));
        }
        if (markdown is not null)
        {
            Write(markdown, ReportWriter.Markdown(report, bundle.Manifest, set.SourceName));
        }
        return 0;
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
