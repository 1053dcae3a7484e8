using System.CommandLine;
using System.Globalization;
using SmartMail.Core.Classification;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary><c>smartmail train</c>: trains a model bundle from folders of mail, a CSV export or a mailbox's department folders.</summary>
internal static class TrainCommand
{
    public static Command Create(string[] settings)
    {
        var command = new Command("train", $"""
            Trains a model bundle. DIR holds one sub-folder per label with raw messages (.eml or RFC 822 files); empty and
            binary files are skipped and named. --imap reads the department folders of a configured mailbox instead
            (folder = label; read-only), for a first model from existing practice.
            Features (words, characters or both) and thresholds are chosen on validation mail: each label's newest share for
            dated mail, out-of-fold scores (5-fold cross-fitting) for up to 5,000 undated mails, each label's last share in
            input order beyond. One threshold is shared by all labels' pooled evidence, a label's own where its evidence
            supports one; labels that stay manual are named with why. The model is then retrained on all data (unless
            --no-refit). The same --seed gives the same model.
            {CliOptions.SettingsNote}
            """);
        var data = DataArgs.AddTo(command, withImap: true);
        var output = new Option<string>("--out") { Description = "The model bundle to write.", Required = true, HelpName = "model.zip" };
        var targetPrecision = CliOptions.Number("--target-precision", 0.95, 0.5, 1.0, "The precision the per-label thresholds aim for.");
        var holdout = CliOptions.Number("--holdout", 0.2, 0.0, 0.5, "The share held out to choose thresholds and measure.");
        var seed = CliOptions.Number("--seed", 1, 0, int.MaxValue, "The random seed.");
        var minExamples = CliOptions.Number("--min-examples", 10, 2, 1_000_000, "Fewer examples make a label manual-only.");
        var noRefit = new Option<bool>("--no-refit") { Description = "Keep the model trained without the held-out share." };
        foreach (var option in new Option[] { output, targetPrecision, holdout, seed, minExamples, noRefit })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new TrainingOptions
            {
                TargetPrecision = parse.GetValue(targetPrecision),
                HoldoutFraction = parse.GetValue(holdout),
                Seed = parse.GetValue(seed),
                MinExamplesPerLabel = parse.GetValue(minExamples),
                Refit = !parse.GetValue(noRefit),
            };
            var set = await data.LoadAsync(parse, settings, cancellationToken);
            return Train(set, options, parse.GetRequiredValue(output));
        });
        return command;
    }

    private static int Train(TrainingSet set, TrainingOptions options, string output)
    {
        DataArgs.WriteRead(set);
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
            WriteThresholds(m);
        }
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"Wrote [bold]{output}[/] (model {m.ModelVersion}, {m.Labels.Count} labels, {new FileInfo(output).Length / 1024.0 / 1024.0:F1} MB) in {m.Training.TrainingSeconds.ToString("F1", CultureInfo.InvariantCulture)} s.");
        return ExitCodes.Ok;
    }

    // Per label in plain words: which labels route on their own evidence or the shared threshold, which route only
    // their surer mail (raised or strict thresholds), and which stay with a person and why (never silently manual).
    private static void WriteThresholds(ModelManifest m)
    {
        var shared = m.Labels.Count(l => l.Threshold is { } t && t == m.Training.SharedThreshold);
        var own = m.Labels.Count(l => l.Threshold is not null) - shared;
        var manual = m.Labels.Count(l => l.Threshold is null);
        AnsiConsole.WriteLine(m.Training.SharedThreshold is { } g
            ? string.Create(CultureInfo.InvariantCulture, $"Thresholds: {shared} labels use the shared threshold {g:F3} (all labels' evidence pooled), {own} their own; {manual} manual only.")
            : string.Create(CultureInfo.InvariantCulture, $"Thresholds: {own} labels have a threshold ({m.Training.ThresholdRule}); {manual} manual only."));
        foreach (var label in m.Labels.Where(l => l.Note is not null && (l.Threshold is null || l.Note.Contains("too little evidence", StringComparison.Ordinal) || l.Note.StartsWith("strict threshold", StringComparison.Ordinal) || l.Note.StartsWith("raised threshold", StringComparison.Ordinal))))
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[yellow]{label.Name}[/] ({label.Count} examples): {label.Note}");
        }
    }
}
