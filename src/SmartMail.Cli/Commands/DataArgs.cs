using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary>The --data / --csv options shared by train, evaluate, retrain and export-text; --imap for train and retrain.</summary>
internal sealed class DataArgs
{
    private readonly Option<string?> _data = new("--data") { Description = "A folder with one sub-folder per label holding raw messages (.eml or RFC 822 files).", HelpName = "DIR" };
    private readonly Option<string?> _csv = new("--csv") { Description = "A CSV or TSV export with a header row.", HelpName = "FILE" };
    private readonly Option<string> _textColumn = new("--text-column") { Description = "The CSV column with the text.", DefaultValueFactory = _ => "text", HelpName = "C" };
    private readonly Option<string> _labelColumn = new("--label-column") { Description = "The CSV column with the label.", DefaultValueFactory = _ => "label", HelpName = "C" };
    private readonly Option<string?> _separator = new("--separator")
    {
        Description = "The CSV separator: one character, or \\t for tab. Detected (';', ',' or tab) when not given.",
        HelpName = "C",
    };
    private readonly Option<bool> _imap = new("--imap") { Description = "Read the department folders of a configured mailbox (folder = label; read-only)." };
    private readonly Option<string?> _mailbox = new("--mailbox") { Description = "With --imap: the mailbox (SmartMail:Mailboxes:N:Name); default the first.", HelpName = "NAME" };
    private readonly Option<string?> _folders = new("--folders") { Description = "With --imap: only these folders.", HelpName = "A,B" };
    private readonly Option<int> _maxPerFolder = CliOptions.Number("--max-per-folder", 100_000, 1, int.MaxValue, "With --imap: at most N mails per folder.");
    private readonly bool _withImap;

    private DataArgs(Command command, bool withImap)
    {
        _withImap = withImap;
        _separator.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } s && s.Length != 1 && s != "\\t")
            {
                r.AddError("--separator must be one character (or \\t).");
            }
        });
        foreach (var option in new Option[] { _data, _csv, _textColumn, _labelColumn, _separator })
        {
            command.Options.Add(option);
        }
        if (withImap)
        {
            foreach (var option in new Option[] { _imap, _mailbox, _folders, _maxPerFolder })
            {
                command.Options.Add(option);
            }
        }
    }

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public static DataArgs AddTo(Command command, bool withImap = false) => new(command, withImap);

    /// <summary>The --data folder, if given.</summary>
    public string? Folder(ParseResult parse) => parse.GetValue(_data);

    /// <summary>Whether any source is given.</summary>
    public bool HasSource(ParseResult parse) => parse.GetValue(_data) is not null || parse.GetValue(_csv) is not null || (_withImap && parse.GetValue(_imap));

    /// <summary>--data, --csv, or --imap (the department folders of a configured mailbox; needs the worker's settings).</summary>
    public async Task<TrainingSet> LoadAsync(ParseResult parse, string[] settings, CancellationToken cancellationToken)
    {
        if (!_withImap || !parse.GetValue(_imap))
        {
            return Load(parse, cancellationToken);
        }
        if (parse.GetValue(_data) is not null || parse.GetValue(_csv) is not null)
        {
            throw new UsageException("give one of --data DIR, --csv FILE or --imap");
        }
        var mailboxName = parse.GetValue(_mailbox);
        var folders = parse.GetValue(_folders)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        var maxPerFolder = parse.GetValue(_maxPerFolder);
        using var host = WorkerConfig.Build(settings);
        var options = host.Options();
        var mailbox = (mailboxName is null ? options.Mailboxes.FirstOrDefault() : options.Mailboxes.FirstOrDefault(m => m.Name == mailboxName))
            ?? throw new UsageException(mailboxName is null
                ? "--imap needs a mailbox in SmartMail:Mailboxes (appsettings.json or --SmartMail:Mailboxes:0:Host=... settings)"
                : $"no mailbox '{mailboxName}' in SmartMail:Mailboxes");
        IReadOnlyList<string> known;
        using (var current = ModelBundle.Load(SmartMail.Worker.Learning.ModelRegistry.For(options,
            host.Services.GetRequiredService<SmartMail.Worker.State.IStateStore>()).ActivePath))
        {
            known = current.Model.Labels;
        }
        TrainingSet? set = null;
        await MailServerErrors.GuardAsync(mailbox, options.Mailboxes.IndexOf(mailbox), () =>
            AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
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
            }), cancellationToken);
        foreach (var (label, count) in set!.LabelCounts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  {label}: {count} mails");
        }
        return set;
    }

    /// <summary>--data or --csv.</summary>
    public TrainingSet Load(ParseResult parse, CancellationToken cancellationToken)
    {
        var folder = parse.GetValue(_data);
        var csv = parse.GetValue(_csv);
        var separator = parse.GetValue(_separator);
        if ((folder is null) == (csv is null))
        {
            throw new UsageException(_withImap ? "give one of --data DIR, --csv FILE or --imap" : "give exactly one of --data DIR or --csv FILE");
        }
        if (csv is not null)
        {
            return TrainingSet.FromCsv(csv, parse.GetRequiredValue(_textColumn), parse.GetRequiredValue(_labelColumn),
                separator switch { null => null, "\\t" => '\t', _ => separator[0] });
        }

        if (Console.IsOutputRedirected)
        {
            // No live progress in a log or a pipe: stdout may be the JSON report (evaluate --json -).
            return TrainingSet.FromFolders(folder!, new MailExtractor(), null, cancellationToken); // folder is set: csv is not
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

    /// <summary>Prints what was read and names every file that was skipped, and why.</summary>
    public static void WriteRead(TrainingSet set)
    {
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"Read [bold]{set.Documents.Count}[/] documents from {set.SourceName}; skipped {set.Skipped} unreadable.");
        foreach (var skipped in set.SkippedFiles.Take(50))
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  [yellow]skipped[/] {skipped.Path}: {skipped.Reason}");
        }
        if (set.SkippedFiles.Count > 50)
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  ... and {set.SkippedFiles.Count - 50} more.");
        }
    }
}
