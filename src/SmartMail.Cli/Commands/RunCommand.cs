using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartMail.Worker;
using SmartMail.Worker.Imap;
using SmartMail.Worker.State;
using SmartMail.Worker.Telemetry;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sources;
using SmartMail.Worker.WebHosting;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary>
/// <c>smartmail run</c>: the worker. With no configuration it runs the embedded default: a drop-folder inbox
/// (seeded with the shipped sample mails on first use), the default model, a journal folder and SQLite state,
/// all under <c>.smartmail/</c>. Without <c>--watch</c> it drains the inbox once, prints a summary and exits.
/// </summary>
internal static class RunCommand
{
    public static Command Create(string[] settings)
    {
        var command = new Command("run", $"""
            The worker. Without configuration it routes the mail in the inbox (default .smartmail/inbox, seeded with the
            Danish sample mails of samples/inbox on first use) with the model (default the Danish demo models/kle-demo/)
            into the journal (default .smartmail/journal/<destination>/), recording every step in .smartmail/state.db and
            the audit trail. With SmartMail:Mailboxes it works those IMAP mailboxes instead. Without --watch it makes one
            pass, prints a summary and exits.
            {CliOptions.SettingsNote}
            """);
        var watch = new Option<bool>("--watch") { Description = "Keep watching the sources (Ctrl+C stops)." };
        command.Options.Add(watch);
        command.SetAction((parse, cancellationToken) => RunAsync(settings, parse.GetValue(watch), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string[] settings, bool watch, CancellationToken cancellationToken)
    {
        using var host = WorkerConfig.Build(settings, watch);
        var options = host.Options();
        try
        {
            host.Services.GetRequiredService<DataDirectoryLock>().Acquire();
        }
        catch (DataDirectoryInUseException ex)
        {
            Console.Error.WriteLine($"smartmail: {ex.Message}");
            return ExitCodes.Failure;
        }
        SeedSamples(options);
        host.Services.GetRequiredService<TelemetryExport>().Start(); // a one-shot run exports too; disposing the host flushes it

        if (watch)
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"{RunSummary.WatchLine(options)} Ctrl+C stops.");
            if (host.Services.GetService<SmartMail.Web.OneTimeSignIn>() is { } signIn)
            {
                signIn.PrintedByCaller = true; // the one-time link goes to this console, not to the log
            }
            await host.StartAsync(cancellationToken);
            PrintWebApp(host.Services.GetService<WebHostService>());
            await host.WaitForShutdownAsync(cancellationToken);
            return Environment.ExitCode;
        }

        var started = DateTimeOffset.UtcNow;
        var outcomes = new List<ProcessOutcome>();
        if (options.Mailboxes.Count == 0)
        {
            outcomes.AddRange(await host.Services.GetRequiredService<MailProcessor>()
                .DrainAsync(host.Services.GetRequiredService<IMailSource>(), cancellationToken));
        }
        for (var index = 0; index < options.Mailboxes.Count; index++)
        {
            var mailboxOptions = options.Mailboxes[index];
            // One pass over each IMAP mailbox, the service's cycle once: reconcile what a crash left, then drain what is waiting.
            // A watching instance on this mailbox holds its lease: then it routes the mail, and this pass leaves it alone.
            var store = host.Services.GetRequiredService<IStateStore>();
            using var cycle = new MailboxCycle(mailboxOptions, host.Services.GetRequiredService<Func<ImapMailbox, MailProcessor>>(), store,
                TimeProvider.System, host.Services.GetRequiredService<ILoggerFactory>().CreateLogger<ImapLease>());
            if (!await MailServerErrors.GuardAsync(mailboxOptions, index, () => cycle.TryAcquireAsync(cancellationToken), cancellationToken))
            {
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                    $"Mailbox [bold]{mailboxOptions.Name}[/]: another SmartMail instance holds its lease and routes it; skipped.");
                continue;
            }
            using var fenced = cycle.Fenced(cancellationToken);
            using var mailbox = cycle.NewMailbox();
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            IReadOnlyList<ProcessOutcome> drained = [];
            try
            {
                await MailServerErrors.GuardAsync(mailboxOptions, index, async () =>
                {
                    var processor = await cycle.ConnectAsync(mailbox, null, fenced.Token);
                    drained = await cycle.DrainAsync(mailbox, processor, fenced.Token);
                }, cancellationToken);
            }
            finally
            {
                await fenced.CancelAsync();
                await ReleaseQuietlyAsync(cycle);
            }
            outcomes.AddRange(drained);
            if (options.Learning.WatchCorrections)
            {
                var scan = await MailServerErrors.GuardAsync(mailboxOptions, index,
                    () => WorkerHost.CorrectionScannerFor(host.Services, index).ScanAsync(cancellationToken), cancellationToken);
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                    $"Mailbox [bold]{mailboxOptions.Name}[/]: {scan.Corrections} corrections found among {scan.Looked} new mails in department folders.");
            }
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                $"Mailbox [bold]{mailboxOptions.Name}[/]: {drained.Count} mails in {stopwatch.Elapsed.TotalSeconds:F2} s ({drained.Count / Math.Max(stopwatch.Elapsed.TotalSeconds, 1e-9):F0} mails/s).");
            await MailServerErrors.GuardAsync(mailboxOptions, index, () => mailbox.DisconnectAsync(cancellationToken), cancellationToken);
        }
        RunSummary.Print(options, outcomes, host.Services.GetRequiredService<IStateStore>().ReadAudit().Where(a => a.Time >= started).ToList());
        return ExitCodes.Ok;
    }

    // The web app's address, and its one-time sign-in link on loopback without OpenID Connect (a secret: printed here only).
    private static void PrintWebApp(WebHostService? web)
    {
        if (web?.Address is not { } address)
        {
            return;
        }
        Console.WriteLine(web.SignInLink is { } link
            ? $"Web app: {address} — sign in once with {link}"
            : $"Web app: {address} (sign in with your organisation's account)");
    }

    // A lease that cannot be released runs out by itself; the error that ended the pass is the one to report.
    private static async Task ReleaseQuietlyAsync(MailboxCycle cycle)
    {
        try
        {
            await cycle.ReleaseAsync();
        }
        catch (Exception ex) when (ex is IOException or MailKit.ProtocolException or MailKit.Net.Imap.ImapCommandException or OperationCanceledException
            or InvalidOperationException or System.Net.Sockets.SocketException or MailKit.Security.AuthenticationException)
        {
        }
    }

    // The embedded default starts with the shipped sample mails, once: later runs find what was left. IMAP needs no seed.
    private static void SeedSamples(SmartMailOptions options)
    {
        if (options.Mailboxes.Count > 0 || options.Inbox is not null || Directory.Exists(options.InboxPath) || DefaultPaths.Find(DefaultPaths.SampleInbox) is not { } samples)
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
}
