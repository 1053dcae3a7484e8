using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary><c>smartmail correct</c>: records a correction reported outside a mailbox (a case system, a drop-folder deployment).</summary>
internal static class CorrectCommand
{
    public static Command Create(string[] settings)
    {
        var command = new Command("correct", $"""
            Records that the mail with this fingerprint (or its first 12+ characters, as in the decision .json) belongs to
            LABEL. The mail becomes a labeled example for the next retrain, using the text kept when it was decided
            (Learning:StoreExamples); the correction is written to the audit trail. A label neither the model nor the
            routes know is refused, unless --new-label says it is a new department.
            {CliOptions.SettingsNote}
            """);
        var fingerprint = new Argument<string>("FINGERPRINT") { Description = "The mail's SHA-256 fingerprint, or its first 12+ characters." };
        var labelArgument = new Argument<string>("LABEL") { Description = "The label the mail belongs to." };
        var byOption = new Option<string?>("--by") { Description = "Who corrected it (default: the user name).", HelpName = "NAME" };
        var newLabel = new Option<bool>("--new-label") { Description = "LABEL is a new department the model has not seen yet." };
        fingerprint.Validators.Add(r =>
        {
            var value = r.GetValueOrDefault<string>();
            if (value is null || value.Length < 12 || !value.All(char.IsAsciiHexDigit))
            {
                r.AddError("FINGERPRINT must be at least 12 hexadecimal characters of the mail's SHA-256 fingerprint.");
            }
        });
        command.Arguments.Add(fingerprint);
        command.Arguments.Add(labelArgument);
        command.Options.Add(byOption);
        command.Options.Add(newLabel);
        command.SetAction(parse => Run(settings, parse.GetRequiredValue(fingerprint), parse.GetRequiredValue(labelArgument),
            parse.GetValue(byOption) ?? Environment.UserName, parse.GetValue(newLabel)));
        return command;
    }

    private static int Run(string[] settings, string prefix, string label, string by, bool isNew)
    {
        using var host = WorkerConfig.Build(settings);
        var store = host.Services.GetRequiredService<IStateStore>();
        var examples = host.Services.GetRequiredService<ExampleStore>();
        var matches = store.FindDecided(prefix);
        if (matches.Select(m => (m.Mailbox, m.Fingerprint)).Distinct().Count() != 1)
        {
            Console.Error.WriteLine(matches.Count == 0
                ? $"smartmail: error: no decided mail has a fingerprint starting with {prefix}."
                : $"smartmail: error: {prefix} matches {matches.Count} mails; give more characters.");
            return ExitCodes.Failure;
        }
        var known = CorrectionRecorder.KnownLabels(examples, host.Options(), store);
        if (!isNew && !known.Contains(label))
        {
            throw new UsageException($"the label '{label}' is not known (known: {string.Join(", ", known.Order(StringComparer.Ordinal))}); " +
                "check the spelling, or add --new-label if it is a new department.");
        }
        var mail = matches[0];
        var (decided, modelVersion) = CorrectionScanner.Decided(mail.DecisionJson);
        var current = examples.LabelOf(mail.Mailbox, mail.Fingerprint) ?? decided;
        if (current == label)
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Mail {mail.Fingerprint[..12]} already has label [bold]{label}[/]; nothing recorded.");
            return ExitCodes.Ok;
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
        return ExitCodes.Ok;
    }
}

/// <summary><c>smartmail retrain</c>: trains a candidate, compares it with the model in force, promotes it when not worse.</summary>
internal static class RetrainCommand
{
    public static Command Create(string[] settings)
    {
        var command = new Command("retrain", $"""
            Trains a candidate from the history given (if any) plus the stored examples (corrections, and routes that stood
            uncorrected for the confirmation period), compares it with the model in force on each label's newest held-out
            examples, and promotes it only when its automation rate at the target precision is not lower (macro-F1 breaks a
            tie). A running worker swaps a promoted model in. The comparison report is written to
            DataDirectory/models/reports/. Exit code 0 whatever the decision; read it from the output or the report's "decision".
            {CliOptions.SettingsNote}
            """);
        var data = DataArgs.AddTo(command, withImap: true);
        var dryRun = new Option<bool>("--dry-run") { Description = "Never promote." };
        var targetPrecision = CliOptions.OptionalNumber("--target-precision", 0.5, 0.999, "Default: Learning:TargetPrecision.", "P");
        var minCompare = CliOptions.OptionalNumber("--min-compare", 1, 1_000_000, "Default: Learning:MinComparisonExamples.", "N");
        var confirmAfterHours = CliOptions.OptionalNumber("--confirm-after-hours", 0.0, 24 * 365, "Default: Learning:ConfirmAfter.", "H");
        var seed = CliOptions.Number("--seed", 1, 0, int.MaxValue, "The random seed.");
        var allowDropping = new Option<bool>("--allow-dropping-labels") { Description = "Promote even when the candidate no longer routes a label." };
        var shuffle = new Option<bool>("--shuffle-labels") { Description = "Train on shuffled labels: a check that the gate refuses a useless model." };
        foreach (var option in new Option[] { dryRun, targetPrecision, minCompare, confirmAfterHours, seed, allowDropping, shuffle })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var host = WorkerConfig.Build(settings);
            var options = host.Options();
            var retrain = new RetrainOptions
            {
                TargetPrecision = parse.GetValue(targetPrecision) ?? options.Learning.TargetPrecision,
                MinComparisonExamples = parse.GetValue(minCompare) ?? options.Learning.MinComparisonExamples,
                ConfirmAfter = parse.GetValue(confirmAfterHours) is { } hours ? TimeSpan.FromHours(hours) : options.Learning.ConfirmAfter,
                Seed = parse.GetValue(seed),
                DryRun = parse.GetValue(dryRun),
                ShuffleLabels = parse.GetValue(shuffle),
                AllowDroppingLabels = parse.GetValue(allowDropping),
                TrainedOn = SmartMail.Worker.Privacy.PrivacyTraining.Recorder(host.Services.GetRequiredService<SmartMail.Worker.Privacy.IPrivacyStore>(),
                    SmartMail.Worker.Privacy.PrivacyKeyFile.Load(options.DataDirectory)),
            };
            var history = data.HasSource(parse) ? await data.LoadAsync(parse, settings, cancellationToken) : null;
            return Run(host, options, retrain, history);
        });
        return command;
    }

    private static int Run(Microsoft.Extensions.Hosting.IHost host, SmartMailOptions options, RetrainOptions retrain, TrainingSet? history)
    {
        var examples = host.Services.GetRequiredService<ExampleStore>();
        _ = host.Services.GetRequiredService<IStateStore>();
        var cutoff = DateTimeOffset.UtcNow.AddDays(-options.Learning.RetentionDays);
        host.Services.GetRequiredService<SmartMail.Worker.Privacy.IPrivacyStore>().RecordPurge(DateTimeOffset.UtcNow, cutoff, examples.Purge(cutoff), 0);
        var report = Retrainer.Run(examples, history, ModelRegistry.For(options, host.Services.GetRequiredService<IStateStore>()), retrain, TimeProvider.System,
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
        return ExitCodes.Ok;
    }
}

/// <summary><c>smartmail models list|promote VERSION|rollback</c>.</summary>
internal static class ModelsCommand
{
    public static Command Create(string[] settings)
    {
        var command = new Command("models", $"""
            The model versions in the state store's model registry: list them, serve one (every running worker on the
            store swaps it in without a restart), or go back to the model served before the current one. Each change
            writes one audit row.
            {CliOptions.SettingsNote}
            """);
        var reason = new Option<string?>("--reason") { Description = "Why (written to the registry's history).", HelpName = "TEXT" };
        var json = new Option<bool>("--json") { Description = "Write the list as JSON to stdout." };
        var list = new Command("list", """
            Lists the model versions and the last changes, and for the model in force each label's realised precision in
            service (automatic routes, corrected ones), the threshold in force (raised in service or manual-only) and the
            recent threshold changes.
            """) { json };
        list.SetAction(parse =>
        {
            using var host = WorkerConfig.Build(settings);
            var options = host.Options();
            var registry = ModelRegistry.For(options, host.Services.GetRequiredService<IStateStore>());
            var examples = host.Services.GetRequiredService<ExampleStore>();
            if (parse.GetValue(json))
            {
                ListJson(registry, examples, options);
                return ExitCodes.Ok;
            }
            List(registry);
            ListInService(registry.CurrentVersion(), examples, options);
            return ExitCodes.Ok;
        });
        var version = new Argument<string>("VERSION") { Description = "The model version to serve." };
        var promote = new Command("promote", "Serves VERSION.") { version, reason };
        promote.SetAction(parse =>
        {
            using var host = WorkerConfig.Build(settings);
            var v = parse.GetRequiredValue(version);
            var before = ModelRegistry.For(host.Options(), host.Services.GetRequiredService<IStateStore>())
                .Promote(v, parse.GetValue(reason) ?? $"promoted by hand by {Environment.UserName}", "cli", Environment.UserName);
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Serving [bold]{v}[/] (was {before ?? "the configured model"}).");
            return ExitCodes.Ok;
        });
        var rollback = new Command("rollback", "Serves the model served before the current one again.") { reason };
        rollback.SetAction(parse =>
        {
            using var host = WorkerConfig.Build(settings);
            var now = ModelRegistry.For(host.Options(), host.Services.GetRequiredService<IStateStore>())
                .Rollback(parse.GetValue(reason) ?? $"rolled back by hand by {Environment.UserName}", "cli", Environment.UserName);
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Serving [bold]{now}[/] again.");
            return ExitCodes.Ok;
        });
        var delete = new Command("delete", "Deletes VERSION (not the one served): its bundle leaves the registry; its history stays.") { version, reason };
        delete.SetAction(parse =>
        {
            using var host = WorkerConfig.Build(settings);
            var v = parse.GetRequiredValue(version);
            ModelRegistry.For(host.Options(), host.Services.GetRequiredService<IStateStore>())
                .Delete(v, parse.GetValue(reason) ?? $"deleted by hand by {Environment.UserName}", "cli", Environment.UserName);
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Deleted [bold]{v}[/].");
            return ExitCodes.Ok;
        });
        command.Subcommands.Add(list);
        command.Subcommands.Add(promote);
        command.Subcommands.Add(rollback);
        command.Subcommands.Add(delete);
        return command;
    }

    private const int RecentChanges = 10;

    private static void ListJson(ModelRegistry registry, ExampleStore examples, SmartMailOptions options)
    {
        var record = registry.Read();
        var current = registry.CurrentVersion();
        var labels = LabelPrecisionMonitor.Report(examples, options, current);
        Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
        {
            current,
            record.Models,
            record.History,
            targetPrecision = options.Learning.TargetPrecision,
            adjustThresholds = options.Learning.AdjustThresholds,
            labels,
            overrides = labels.Where(l => l.Threshold != l.ModelThreshold)
                .Select(l => new { l.Label, l.ModelThreshold, l.Threshold, l.ManualOnly }),
            thresholdChanges = examples.ReadThresholdChanges(RecentChanges),
        }, CliJson.Indented));
    }

    private static void ListInService(string current, ExampleStore examples, SmartMailOptions options)
    {
        var labels = LabelPrecisionMonitor.Report(examples, options, current);
        if (labels.Count == 0)
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"In service ({current}): no automatic routes counted yet.");
        }
        else
        {
            var table = new Table().AddColumns("label", "automated", "corrected", "realised precision", "95 % lower bound", "target", "model's threshold", "in force");
            foreach (var l in labels)
            {
                var inForce = l.Threshold is { } t ? t.ToString("0.000", CultureInfo.InvariantCulture) : "[red]manual-only[/]";
                table.AddRow(Markup.Escape(l.Label), l.Automated.ToString(CultureInfo.InvariantCulture), l.Corrected.ToString(CultureInfo.InvariantCulture),
                    P(l.RealisedPrecision), P(l.LowerBound), P(l.TargetPrecision), P(l.ModelThreshold),
                    l.Threshold == l.ModelThreshold ? inForce : $"[yellow]{inForce}[/]");
            }
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                $"In service ({current}): realised precision from corrections; thresholds raised in service are shown in yellow{(options.Learning.AdjustThresholds ? "" : " (Learning:AdjustThresholds is off)")}.");
            AnsiConsole.Write(table);
        }
        foreach (var c in examples.ReadThresholdChanges(RecentChanges))
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                $"{c.Time:yyyy-MM-dd HH:mm} {c.Outcome} {c.Label} ({c.ModelVersion}): {c.Reason}");
        }
    }

    private static string P(double? v) => v?.ToString("0.000", CultureInfo.InvariantCulture) ?? "-";

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
