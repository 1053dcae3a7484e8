using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.State;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary><c>smartmail correct</c>: records a correction reported outside a mailbox (a case system, a drop-folder deployment).</summary>
internal static class CorrectCommand
{
    public static int Run(string[] argv)
    {
        var (settings, own) = WorkerConfig.Split(argv);
        var args = CliArgs.Parse(own, "help");
        if (args.Flag("help") || args.Positional.Count != 2)
        {
            Console.WriteLine("""
                smartmail correct FINGERPRINT LABEL [--by NAME] [--SmartMail:Setting=value ...]
                  Records that the mail with this fingerprint (or its first 12+ characters, as in the decision .json)
                  belongs to LABEL. The mail becomes a labeled example for the next retrain, using the text kept when it
                  was decided (Learning:StoreExamples); the correction is written to the audit trail.
                """);
            return args.Flag("help") ? 0 : 2;
        }
        var (prefix, label) = (args.Positional[0], args.Positional[1]);
        var by = args.Get("by") ?? Environment.UserName;
        args.EnsureAllUsed();
        if (prefix.Length < 12 || !prefix.All(char.IsAsciiHexDigit))
        {
            throw new UsageException("FINGERPRINT must be at least 12 hexadecimal characters of the mail's SHA-256 fingerprint");
        }
        using var host = WorkerConfig.Build(settings);
        if (host is null)
        {
            return 1;
        }
        var store = host.Services.GetRequiredService<SqliteStateStore>();
        var examples = host.Services.GetRequiredService<ExampleStore>();
        var matches = store.FindDecided(prefix);
        if (matches.Select(m => (m.Mailbox, m.Fingerprint)).Distinct().Count() != 1)
        {
            Console.Error.WriteLine(matches.Count == 0
                ? $"smartmail: error: no decided mail has a fingerprint starting with {prefix}."
                : $"smartmail: error: {prefix} matches {matches.Count} mails; give more characters.");
            return 1;
        }
        var mail = matches[0];
        var (decided, modelVersion) = CorrectionScanner.Decided(mail.DecisionJson);
        var current = examples.LabelOf(mail.Mailbox, mail.Fingerprint) ?? decided;
        if (current == label)
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Mail {mail.Fingerprint[..12]} already has label [bold]{label}[/]; nothing recorded.");
            return 0;
        }
        var hasText = CorrectionRecorder.Record(store, examples, host.Options(),
            new Correction(DateTimeOffset.UtcNow, mail.Mailbox, mail.Fingerprint, mail.DecisionId, current, mail.Destination, label, "cli", by, "cli", modelVersion),
            null, $"corrected by {SmartMail.Core.Privacy.Redactor.Redact(by)} from {(current is null ? mail.Destination : $"'{current}'")}",
            mail.Destination ?? "");
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"Recorded: mail {mail.Fingerprint[..12]} ({mail.DecisionId}) '{current ?? mail.Destination}' -> [bold]{label}[/].");
        if (!hasText)
        {
            AnsiConsole.MarkupLine("[yellow]No text is kept for this mail (Learning:StoreExamples was off, or it passed the retention period): " +
                "the correction is recorded but cannot train a model.[/]");
        }
        return 0;
    }
}

/// <summary><c>smartmail retrain</c>: trains a candidate, compares it with the model in force, promotes it when not worse.</summary>
internal static class RetrainCommand
{
    public static async Task<int> RunAsync(string[] argv, CancellationToken cancellationToken)
    {
        var (settings, own) = WorkerConfig.Split(argv);
        var args = CliArgs.Parse(own, "help", "dry-run", "shuffle-labels", "allow-dropping-labels", "imap");
        if (args.Flag("help"))
        {
            Console.WriteLine("""
                smartmail retrain [--data DIR | --csv FILE | --imap [--mailbox NAME] [--folders A,B]] [--dry-run]
                                  [--target-precision P] [--min-compare N] [--confirm-after-hours H] [--seed 1]
                                  [--allow-dropping-labels] [--shuffle-labels] [--SmartMail:Setting=value ...]
                  Trains a candidate from the history given (if any) plus the stored examples (corrections, and routes
                  that stood uncorrected for the confirmation period), compares it with the model in force on each
                  label's newest held-out examples, and promotes it only when its automation rate at the target
                  precision is not lower (macro-F1 breaks a tie). A running worker swaps a promoted model in.
                  The comparison report is written to DataDirectory/models/reports/. --dry-run never promotes.
                  --shuffle-labels trains on shuffled labels: a check that the gate refuses a useless model.
                  Exit code 0 whatever the decision; read it from the output or the report's "decision".
                """);
            return 0;
        }
        using var host = WorkerConfig.Build(settings);
        if (host is null)
        {
            return 1;
        }
        var options = host.Options();
        var retrain = new RetrainOptions
        {
            TargetPrecision = args.Double("target-precision", options.Learning.TargetPrecision, 0.5, 0.999),
            MinComparisonExamples = args.Int("min-compare", options.Learning.MinComparisonExamples, 1, 1_000_000),
            ConfirmAfter = TimeSpan.FromHours(args.Double("confirm-after-hours", options.Learning.ConfirmAfter.TotalHours, 0, 24 * 365)),
            Seed = args.Int("seed", 1, 0, int.MaxValue),
            DryRun = args.Flag("dry-run"),
            ShuffleLabels = args.Flag("shuffle-labels"),
            AllowDroppingLabels = args.Flag("allow-dropping-labels"),
        };
        TrainingSet? history = args.Get("data") is not null || args.Get("csv") is not null || args.Flag("imap")
            ? await DataArgs.LoadAsync(args, settings, cancellationToken)
            : null;
        args.EnsureAllUsed();
        var examples = host.Services.GetRequiredService<ExampleStore>();
        _ = host.Services.GetRequiredService<SqliteStateStore>();
        examples.Purge(DateTimeOffset.UtcNow.AddDays(-options.Learning.RetentionDays));
        var report = Retrainer.Run(examples, history, ModelRegistry.For(options), retrain, TimeProvider.System,
            new Progress<string>(line => AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[grey]{DateTime.Now:HH:mm:ss}[/] {line}")));
        var color = report.Decision == RetrainDecision.Promoted ? "green" : "yellow";
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[{color}]{report.Decision}[/]: {report.Reason}");
        if (report.Current is { } current && report.Candidate is { } candidate)
        {
            var table = new Table().AddColumns("on held-out new mail", "current", "candidate");
            table.AddRow($"automation at precision ≥ {retrain.TargetPrecision:0.###}", $"{current.AutomationAtTarget:P1}", $"{candidate.AutomationAtTarget:P1}");
            table.AddRow("macro-F1", $"{current.MacroF1:F3}", $"{candidate.MacroF1:F3}");
            table.AddRow("accuracy", $"{current.Accuracy:F3}", $"{candidate.Accuracy:F3}");
            table.AddRow("version", Markup.Escape(current.Version), Markup.Escape(candidate.Version));
            AnsiConsole.Write(table);
        }
        foreach (var manual in report.ManualOnlyLabels)
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                $"[yellow]manual-only:[/] '{manual.Name}' has {manual.Count} examples; {manual.Needed} more are needed before it is learned.");
        }
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Report: {report.ReportFile}");
        return 0;
    }
}

/// <summary><c>smartmail models list|promote VERSION|rollback</c>.</summary>
internal static class ModelsCommand
{
    public static int Run(string[] argv)
    {
        var (settings, own) = WorkerConfig.Split(argv);
        var args = CliArgs.Parse(own, "help");
        var action = args.Positional.Count > 0 ? args.Positional[0] : null;
        if (args.Flag("help") || action is null)
        {
            Console.WriteLine("""
                smartmail models list | promote VERSION [--reason TEXT] | rollback [--reason TEXT] [--SmartMail:Setting=value ...]
                  The model versions in DataDirectory/models/: list them, serve one (a running worker swaps it in
                  without a restart), or go back to the model served before the current one.
                """);
            return args.Flag("help") ? 0 : 2;
        }
        var reason = args.Get("reason");
        args.EnsureAllUsed();
        using var host = WorkerConfig.Build(settings);
        if (host is null)
        {
            return 1;
        }
        var registry = ModelRegistry.For(host.Options());
        switch (action)
        {
            case "list":
                List(registry);
                return 0;
            case "promote" when args.Positional.Count == 2:
                var before = registry.Promote(args.Positional[1], reason ?? $"promoted by hand by {Environment.UserName}");
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Serving [bold]{args.Positional[1]}[/] (was {before ?? "the configured model"}).");
                return 0;
            case "rollback":
                var now = registry.Rollback(reason ?? $"rolled back by hand by {Environment.UserName}");
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Serving [bold]{now}[/] again.");
                return 0;
            default:
                throw new UsageException("use: models list | models promote VERSION | models rollback");
        }
    }

    private static void List(ModelRegistry registry)
    {
        var record = registry.Read();
        if (record.Models.Count == 0)
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                $"No retrained models yet; serving the configured model {registry.SeedModelPath} ({registry.CurrentVersion()}).");
            return;
        }
        var table = new Table().AddColumns("version", "status", "created (UTC)", "labels", "routed labels", "documents", "holdout macro-F1", "report");
        foreach (var m in record.Models.OrderBy(m => m.CreatedUtc))
        {
            table.AddRow(Markup.Escape(m.Version), m.Version == record.Current ? "[green]current[/]" : m.Status, m.CreatedUtc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
                m.Labels.ToString(CultureInfo.InvariantCulture), m.RoutedLabels.ToString(CultureInfo.InvariantCulture), m.Documents.ToString(CultureInfo.InvariantCulture),
                m.HoldoutMacroF1?.ToString("F3", CultureInfo.InvariantCulture) ?? "-", Markup.Escape(m.Report ?? "-"));
        }
        AnsiConsole.Write(table);
        foreach (var e in record.History.TakeLast(5))
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"{e.TimeUtc:yyyy-MM-dd HH:mm} {e.Action} {e.Version}: {e.Reason}");
        }
    }
}
