using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartMail.Worker;
using SmartMail.Worker.Imap;
using SmartMail.Worker.State;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sources;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary>
/// <c>smartmail run</c>: the worker. With no configuration it runs the embedded default: a drop-folder inbox
/// (seeded with the shipped sample mails on first use), the default model, a journal folder and SQLite state,
/// all under <c>.smartmail/</c>. Without <c>--watch</c> it drains the inbox once, prints a summary and exits.
/// </summary>
internal static class RunCommand
{
    public static async Task<int> RunAsync(string[] argv, CancellationToken cancellationToken)
    {
        if (argv.Contains("--help"))
        {
            Console.WriteLine("""
                smartmail run [--watch] [--SmartMail:Setting=value ...]
                  Routes the mail in the inbox (default .smartmail/inbox, seeded with samples/inbox on first use)
                  with the model (default models/default/) into the journal (default .smartmail/journal/<destination>/),
                  recording every step in .smartmail/state.db and the audit trail. Settings come from appsettings.json,
                  SMARTMAIL_SmartMail__Setting environment variables and the command line; see docs/operations.md.
                  --watch keeps watching the inbox (Ctrl+C stops).
                """);
            return 0;
        }
        var watch = argv.Contains("--watch");
        var (settings, rest) = WorkerConfig.Split(argv);
        var unknown = rest.FirstOrDefault(a => a != "--watch");
        if (unknown is not null)
        {
            throw new UsageException($"unexpected argument '{unknown}' (settings are given as --SmartMail:Setting=value)");
        }
        using var host = WorkerConfig.Build(settings, watch);
        if (host is null)
        {
            return 1;
        }
        var options = host.Options();
        try
        {
            host.Services.GetRequiredService<DataDirectoryLock>().Acquire();
        }
        catch (DataDirectoryInUseException ex)
        {
            Console.Error.WriteLine($"smartmail: {ex.Message}");
            return 1;
        }
        SeedSamples(options);

        if (watch)
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Watching [bold]{options.InboxPath}[/]; journal in {options.JournalPath}. Ctrl+C stops.");
            await host.RunAsync(cancellationToken);
            return Environment.ExitCode;
        }

        var outcomes = new List<ProcessOutcome>();
        if (options.Mailboxes.Count == 0)
        {
            outcomes.AddRange(await host.Services.GetRequiredService<MailProcessor>()
                .DrainAsync(host.Services.GetRequiredService<IMailSource>(), cancellationToken));
        }
        for (var index = 0; index < options.Mailboxes.Count; index++)
        {
            var mailboxOptions = options.Mailboxes[index];
            // One pass over each IMAP mailbox: reconcile what a crash left, then drain what is waiting.
            // A watching instance on this mailbox holds its lease: then it routes the mail, and this pass leaves it alone.
            var store = host.Services.GetRequiredService<SqliteStateStore>();
            using var lease = mailboxOptions.UseLease
                ? new ImapLease(mailboxOptions, store, TimeProvider.System, host.Services.GetRequiredService<ILoggerFactory>().CreateLogger<ImapLease>())
                : null;
            if (lease is not null && !await lease.TryAcquireAsync(cancellationToken))
            {
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                    $"Mailbox [bold]{mailboxOptions.Name}[/]: another SmartMail instance holds its lease and routes it; skipped.");
                continue;
            }
            using var fenced = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease?.Fence ?? CancellationToken.None);
            using var mailbox = new ImapMailbox(mailboxOptions, store.InstanceId);
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            IReadOnlyList<ProcessOutcome> drained;
            try
            {
                _ = lease?.KeepAsync(fenced.Token); // the release below stops these renewals and waits for them
                await mailbox.ConnectAsync(fenced.Token);
                await ImapReconciler.ReconcileAsync(mailbox, store, TimeProvider.System, fenced.Token);
                drained = await ImapBatchDrainer.DrainAsync(mailbox, host.Services.GetRequiredService<Func<ImapMailbox, MailProcessor>>()(mailbox),
                    store, mailboxOptions.BatchSize, fenced.Token);
            }
            finally
            {
                await fenced.CancelAsync();
                if (lease is not null)
                {
                    using var release = new CancellationTokenSource(mailboxOptions.CommandTimeout);
                    await lease.ReleaseAsync(release.Token);
                }
            }
            outcomes.AddRange(drained);
            if (options.Learning.WatchCorrections)
            {
                var scan = await WorkerHost.CorrectionScannerFor(host.Services, index).ScanAsync(cancellationToken);
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                    $"Mailbox [bold]{mailboxOptions.Name}[/]: {scan.Corrections} corrections found among {scan.Looked} new mails in department folders.");
            }
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                $"Mailbox [bold]{mailboxOptions.Name}[/]: {drained.Count} mails in {stopwatch.Elapsed.TotalSeconds:F2} s ({drained.Count / Math.Max(stopwatch.Elapsed.TotalSeconds, 1e-9):F0} mails/s).");
            await mailbox.DisconnectAsync(cancellationToken);
        }
        PrintSummary(options, outcomes);
        return 0;
    }

    // The embedded default starts with the shipped sample mails, once: later runs find what was left.
    private static void SeedSamples(SmartMailOptions options)
    {
        if (options.Inbox is not null || Directory.Exists(options.InboxPath) || DefaultPaths.Find("samples/inbox") is not { } samples)
        {
            return;
        }
        Directory.CreateDirectory(options.InboxPath);
        var files = Directory.GetFiles(samples, "*.eml");
        foreach (var file in files)
        {
            File.Copy(file, Path.Combine(options.InboxPath, Path.GetFileName(file)));
        }
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Seeded {options.InboxPath} with {files.Length} sample mails.");
    }

    private static void PrintSummary(SmartMailOptions options, List<ProcessOutcome> outcomes)
    {
        var table = new Table().AddColumns("destination", "mails");
        var journal = new DirectoryInfo(options.JournalPath);
        if (journal.Exists)
        {
            foreach (var dir in journal.EnumerateDirectories().OrderBy(d => d.Name, StringComparer.Ordinal))
            {
                table.AddRow(Markup.Escape(dir.Name), dir.EnumerateFiles("*.json").Count().ToString(CultureInfo.InvariantCulture));
            }
        }
        AnsiConsole.Write(table);
        var counts = outcomes.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"This run: {outcomes.Count} mails — {counts.GetValueOrDefault(ProcessOutcome.Routed)} routed, {counts.GetValueOrDefault(ProcessOutcome.Manual)} to manual triage, {counts.GetValueOrDefault(ProcessOutcome.Quarantined)} quarantined, {counts.GetValueOrDefault(ProcessOutcome.Duplicate)} duplicates, {counts.GetValueOrDefault(ProcessOutcome.Deferred)} deferred.");
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"Journal: {options.JournalPath} (.eml + decision .json per mail). Audit trail: {Path.Combine(options.DataDirectory, "state.db")} and audit.jsonl.");
    }
}
