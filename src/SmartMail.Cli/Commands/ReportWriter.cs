using System.Globalization;
using System.Text;
using SmartMail.Core.Classification;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary>Renders evaluation reports for the console and as Markdown.</summary>
internal static class ReportWriter
{
    private static string P(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);

    private static string T(float? t) => t is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "manual";

    public static void WriteSummary(EvaluationReport report)
    {
        var s = report.Summary;
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"Validation: accuracy [bold]{P(s.Accuracy)}[/], macro-F1 {P(s.MacroF1)}, automation rate [bold]{P(s.AutomationRate)}[/] at precision {P(s.AutomatedPrecision)} {Interval(report)} (target {P(s.TargetPrecision ?? 0)}) over {s.Documents} documents.");
    }

    /// <summary>The 95 % Clopper–Pearson interval of the realised precision of the automatic routes, e.g. <c>(95 % CI 0.951–0.972, 812 routed)</c>.</summary>
    public static string Interval(EvaluationReport report)
    {
        var routed = report.PerLabel.Sum(l => l.Automated);
        var right = report.PerLabel.Sum(l => (int)Math.Round(l.Automated * l.AutomatedPrecision));
        var (lower, upper) = Precision.ClopperPearson(right, routed, 0.95);
        return routed == 0 ? "(nothing routed)" : string.Create(CultureInfo.InvariantCulture, $"(95 % CI {P(lower)}–{P(upper)}, {routed} routed)");
    }

    public static void WriteConsole(EvaluationReport report, ModelManifest manifest)
    {
        var table = new Table().AddColumns("label", "support", "precision", "recall", "F1", "threshold", "automated", "auto precision");
        foreach (var l in report.PerLabel)
        {
            table.AddRow(Markup.Escape(l.Label), l.Support.ToString(CultureInfo.InvariantCulture), P(l.Precision), P(l.Recall), P(l.F1),
                T(l.Threshold), l.Automated.ToString(CultureInfo.InvariantCulture), P(l.AutomatedPrecision));
        }
        AnsiConsole.Write(table);
        var confusion = new Table().AddColumn("actual \\ predicted");
        for (var i = 0; i < report.ConfusionLabels.Count; i++)
        {
            confusion.AddColumn(i.ToString(CultureInfo.InvariantCulture));
        }
        for (var i = 0; i < report.ConfusionLabels.Count; i++)
        {
            confusion.AddRow([$"{i} {Markup.Escape(report.ConfusionLabels[i])}", .. report.Confusion[i].Select(c => c.ToString(CultureInfo.InvariantCulture))]);
        }
        AnsiConsole.Write(confusion);
        var s = report.Summary;
        if (s.Curve is { Count: > 0 } curve)
        {
            var points = new Table().AddColumns("min confidence", "automation", "precision");
            foreach (var point in curve)
            {
                var precision = P(point.Precision);
                points.AddRow(point.MinConfidence.ToString("0.000", CultureInfo.InvariantCulture), P(point.AutomationRate),
                    s.TargetPrecision is { } t && point.Precision < t ? $"[yellow]{precision}[/]" : precision);
            }
            AnsiConsole.MarkupLine("Precision–automation curve (one confidence cut for all labels; below the target in yellow):");
            AnsiConsole.Write(points);
        }
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Model {manifest.ModelVersion}: accuracy [bold]{P(s.Accuracy)}[/], macro-F1 [bold]{P(s.MacroF1)}[/] over {s.Documents} documents.");
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"At the model's own thresholds: automation rate [bold]{P(s.AutomationRate)}[/], realised precision [bold]{P(s.AutomatedPrecision)}[/] {Interval(report)}") +
            (s.TargetPrecision is { } target ? $", target {P(target)}: {Verdict(s.AutomatedPrecision, target)}." : "."));
    }

    // Whether the realised precision keeps the target (0.01 below it is the issue's tolerance for later mail).
    private static string Verdict(double precision, double target) =>
        precision >= target ? "[green]kept[/]"
        : precision >= target - 0.01 ? string.Create(CultureInfo.InvariantCulture, $"[yellow]within 0.01 ({P(precision - target)})[/]")
        : string.Create(CultureInfo.InvariantCulture, $"[red]not kept ({P(precision - target)})[/]");

    public static string Markdown(EvaluationReport report, ModelManifest manifest, string dataName)
    {
        var s = report.Summary;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Evaluation of model `{manifest.ModelVersion}` on `{dataName}`");
        sb.AppendLine();
        sb.AppendLine("| documents | accuracy | macro-F1 | automation rate | automated precision | its 95 % CI | target precision |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---|---:|");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| {s.Documents} | {P(s.Accuracy)} | {P(s.MacroF1)} | {P(s.AutomationRate)} | {P(s.AutomatedPrecision)} | {Interval(report).Trim('(', ')')} | {P(s.TargetPrecision ?? 0)} |");
        sb.AppendLine();
        if (s.Curve is { Count: > 0 } curve)
        {
            sb.AppendLine("Precision–automation curve (one confidence cut for all labels):");
            sb.AppendLine();
            sb.AppendLine("| min confidence | automation | precision |");
            sb.AppendLine("|---:|---:|---:|");
            foreach (var point in curve)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {point.MinConfidence.ToString("0.000", CultureInfo.InvariantCulture)} | {P(point.AutomationRate)} | {P(point.Precision)} |");
            }
            sb.AppendLine();
        }
        sb.AppendLine("| label | support | precision | recall | F1 | threshold | automated | automated precision |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var l in report.PerLabel)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {l.Label} | {l.Support} | {P(l.Precision)} | {P(l.Recall)} | {P(l.F1)} | {T(l.Threshold)} | {l.Automated} | {P(l.AutomatedPrecision)} |");
        }
        sb.AppendLine();
        sb.AppendLine("Confusion matrix (rows: actual, columns: predicted, by index):");
        sb.AppendLine();
        sb.AppendLine("| # | label | " + string.Join(" | ", Enumerable.Range(0, report.ConfusionLabels.Count)) + " |");
        sb.AppendLine("|---|---|" + string.Concat(Enumerable.Repeat("---:|", report.ConfusionLabels.Count)));
        for (var i = 0; i < report.ConfusionLabels.Count; i++)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {i} | {report.ConfusionLabels[i]} | {string.Join(" | ", report.Confusion[i])} |");
        }
        return sb.ToString();
    }
}
