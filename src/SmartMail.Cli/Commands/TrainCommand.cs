using System.Globalization;
using SmartMail.Core.Classification;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary><c>smartmail train</c>: trains a model bundle from folders of mail or a CSV export.</summary>
internal static class TrainCommand
{
    public static async Task<int> RunAsync(string[] argv, CancellationToken cancellationToken)
    {
        var (settings, own) = WorkerConfig.Split(argv);
        var args = CliArgs.Parse(own, "no-refit", "help", "imap");
        if (args.Flag("help"))
        {
            Console.WriteLine("""
                smartmail train --data DIR | --csv FILE [--text-column text] [--label-column label] [--separator C]
                                | --imap [--mailbox NAME] [--folders A,B] [--max-per-folder N] [--SmartMail:Setting=value ...]
                                --out model.zip [--target-precision 0.95] [--holdout 0.2] [--seed 1]
                                [--min-examples 10] [--no-refit]
                  DIR holds one sub-folder per label with raw messages (.eml or RFC 822 files). --imap reads the
                  department folders of a configured mailbox instead (folder = label; read-only), for a first model
                  from existing practice.
                  Thresholds are chosen per label on the held-out share for the target precision; the model is then
                  retrained on all data (unless --no-refit). The same --seed gives the same model.
                """);
            return 0;
        }
        var output = args.Required("out");
        var options = new TrainingOptions
        {
            TargetPrecision = args.Double("target-precision", 0.95, 0.5, 1.0),
            HoldoutFraction = args.Double("holdout", 0.2, 0.0, 0.5),
            Seed = args.Int("seed", 1, 0, int.MaxValue),
            MinExamplesPerLabel = args.Int("min-examples", 10, 2, 1_000_000),
            Refit = !args.Flag("no-refit"),
        };
        var set = await DataArgs.LoadAsync(args, settings, cancellationToken);
        args.EnsureAllUsed();

        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Read [bold]{set.Documents.Count}[/] documents from {set.SourceName}; skipped {set.Skipped} unreadable.");
        TrainingResult? result = null;
        AnsiConsole.Status().Start("training", ctx =>
        {
            result = ModelTraining.Train(set, options, new Progress<string>(line =>
            {
                ctx.Status(line);
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[grey]{DateTime.Now:HH:mm:ss}[/] {line}");
            }));
        });
        using var bundle = result!.Bundle;
        bundle.Save(output);

        var m = bundle.Manifest;
        foreach (var manual in m.ManualOnlyLabels)
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                $"[yellow]manual-only:[/] '{manual.Name}' has {manual.Count} examples; {manual.Needed} more are needed before it is learned.");
        }
        if (result.Holdout is { } report)
        {
            ReportWriter.WriteSummary(report);
        }
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"Wrote [bold]{output}[/] (model {m.ModelVersion}, {m.Labels.Count} labels, {new FileInfo(output).Length / 1024.0 / 1024.0:F1} MB) in {m.Training.TrainingSeconds.ToString("F1", CultureInfo.InvariantCulture)} s.");
        return 0;
    }
}
