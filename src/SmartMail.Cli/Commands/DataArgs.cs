using System.Globalization;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary>The --data / --csv options shared by train and evaluate.</summary>
internal static class DataArgs
{
    /// <summary>--data, --csv, or --imap (the department folders of a configured mailbox; needs the worker's settings).</summary>
    public static async Task<TrainingSet> LoadAsync(CliArgs args, string[] settings, CancellationToken cancellationToken)
    {
        var mailboxName = args.Get("mailbox");
        var folders = args.Get("folders")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        var maxPerFolder = args.Int("max-per-folder", 100_000, 1, int.MaxValue);
        if (!args.Flag("imap"))
        {
            return Load(args, cancellationToken);
        }
        if (args.Get("data") is not null || args.Get("csv") is not null)
        {
            throw new UsageException("give one of --data DIR, --csv FILE or --imap");
        }
        using var host = WorkerConfig.Build(settings) ?? throw new UsageException("the configuration above must be fixed first");
        var options = host.Options();
        var mailbox = (mailboxName is null ? options.Mailboxes.FirstOrDefault() : options.Mailboxes.FirstOrDefault(m => m.Name == mailboxName))
            ?? throw new UsageException(mailboxName is null
                ? "--imap needs a mailbox in SmartMail:Mailboxes (appsettings.json or --SmartMail:Mailboxes:0:Host=... settings)"
                : $"no mailbox '{mailboxName}' in SmartMail:Mailboxes");
        IReadOnlyList<string> known;
        using (var current = ModelBundle.Load(SmartMail.Worker.Learning.ModelRegistry.For(options).ActivePath))
        {
            known = current.Model.Labels;
        }
        TrainingSet? set = null;
        await AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
            .StartAsync(async ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                set = await SmartMail.Worker.Learning.ImapHistory.ReadAsync(mailbox, options, folders, known, maxPerFolder,
                    new Progress<(string Folder, int Done, int Total)>(p =>
                    {
                        if (!tasks.TryGetValue(p.Folder, out var task))
                        {
                            tasks[p.Folder] = task = ctx.AddTask(Markup.Escape(p.Folder));
                        }
                        task.MaxValue = Math.Max(p.Total, 1);
                        task.Value = p.Done;
                    }), cancellationToken);
            });
        foreach (var (label, count) in set!.LabelCounts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  {label}: {count} mails");
        }
        return set;
    }

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
