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
        var markdown = args.Get("markdown");
        using var bundle = ModelBundle.Load(modelPath);
        var set = DataArgs.Load(args, cancellationToken);
        args.EnsureAllUsed();

        var scored = ModelTraining.Score(bundle.Model, set.Documents);
        var report = Evaluator.Evaluate(scored, bundle.Model.Labels, bundle.Thresholds, bundle.Manifest.Training.TargetPrecision);
        if (json is null && markdown is null)
        {
            ReportWriter.WriteConsole(report, bundle.Manifest);
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
