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
            $"Held-out: accuracy [bold]{P(s.Accuracy)}[/], macro-F1 {P(s.MacroF1)}, automation rate [bold]{P(s.AutomationRate)}[/] at precision {P(s.AutomatedPrecision)} (target {P(s.TargetPrecision ?? 0)}) over {s.Documents} documents.");
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
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Model {manifest.ModelVersion}: accuracy [bold]{P(s.Accuracy)}[/], macro-F1 [bold]{P(s.MacroF1)}[/] over {s.Documents} documents.");
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Automation rate [bold]{P(s.AutomationRate)}[/] with precision [bold]{P(s.AutomatedPrecision)}[/] (thresholds chosen for {P(s.TargetPrecision ?? 0)}).");
    }

    public static string Markdown(EvaluationReport report, ModelManifest manifest, string dataName)
    {
        var s = report.Summary;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Evaluation of model `{manifest.ModelVersion}` on `{dataName}`");
        sb.AppendLine();
        sb.AppendLine("| documents | accuracy | macro-F1 | automation rate | automated precision | target precision |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| {s.Documents} | {P(s.Accuracy)} | {P(s.MacroF1)} | {P(s.AutomationRate)} | {P(s.AutomatedPrecision)} | {P(s.TargetPrecision ?? 0)} |");
        sb.AppendLine();
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
