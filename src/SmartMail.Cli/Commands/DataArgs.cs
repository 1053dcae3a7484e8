using System.Globalization;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary>The --data / --csv options shared by train and evaluate.</summary>
internal static class DataArgs
{
    public static TrainingSet Load(CliArgs args, CancellationToken cancellationToken)
    {
        var folder = args.Get("data");
        var csv = args.Get("csv");
        var textColumn = args.Get("text-column") ?? "text";
        var labelColumn = args.Get("label-column") ?? "label";
        var separator = args.Get("separator");
        if ((folder is null) == (csv is null))
        {
            throw new UsageException("give exactly one of --data DIR or --csv FILE");
        }
        if (separator is { Length: not 1 } && separator != "\\t")
        {
            throw new UsageException("--separator must be one character (or \\t)");
        }
        if (csv is not null)
        {
            return TrainingSet.FromCsv(csv, textColumn, labelColumn, separator switch { null => null, "\\t" => '\t', _ => separator[0] });
        }

        TrainingSet? set = null;
        AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("reading mail");
                set = TrainingSet.FromFolders(folder!, new MailExtractor(), new Progress<(int Done, int Total)>(p =>
                {
                    task.MaxValue = p.Total;
                    task.Value = p.Done;
                }), cancellationToken);
            });
        return set!;
    }
}
