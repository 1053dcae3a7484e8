using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartMail.Core.Mime;
using SmartMail.Worker.Logging;
using SmartMail.Worker.Options;
using SmartMail.Worker.Oversight;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;
using SmartMail.Worker.WebHosting;

namespace SmartMail.Worker;

/// <summary>Builds the SmartMail host: configuration (appsettings.json, SMARTMAIL_ environment variables, command line), validation at start, services.</summary>
public static class WorkerHost
{
    /// <summary>Creates the host builder.</summary>
    /// <param name="args">Command-line arguments (<c>--SmartMail:ModelPath=...</c>).</param>
    /// <param name="watch">Whether the inbox watcher runs as a hosted service.</param>
    /// <returns>The builder.</returns>
    public static HostApplicationBuilder CreateBuilder(string[] args, bool watch = true)
    {
        // A Windows service starts in C:\Windows\System32: its appsettings.json is in the program folder instead.
        var contentRoot = Microsoft.Extensions.Hosting.WindowsServices.WindowsServiceHelpers.IsWindowsService() ? AppContext.BaseDirectory : Directory.GetCurrentDirectory();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = contentRoot });
        builder.Configuration.AddEnvironmentVariables("SMARTMAIL_");
        builder.Configuration.AddCommandLine(args);
        builder.Logging.AddSmartMailRedaction(); // CPR numbers and addresses never reach a log line, exceptions included
        builder.Services.AddSystemd();
        builder.Services.AddWindowsService(o => o.ServiceName = "SmartMail");
        builder.Services.AddMetrics();
        builder.Services.AddOptions<SmartMailOptions>().BindConfiguration(SmartMailOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SmartMailOptions>, SmartMailOptionsValidator>();
        builder.Services.AddSingleton<IValidateOptions<SmartMailOptions>>(sp => new SettingsBindingValidator(sp.GetRequiredService<IConfiguration>()));
        builder.Services.AddSingleton<IValidateOptions<SmartMailOptions>>(sp => new StateSettingsValidator(sp.GetRequiredService<IConfiguration>()));
        builder.Services.AddSingleton(sp =>
        {
            // Before anything writes there: the data directory 0700 and its ledger, audit trail and lock 0600 (Linux), whatever the umask.
            var o = sp.GetRequiredService<IOptions<SmartMailOptions>>().Value;
            DataDirectoryPermissions.Prepare(o.DataDirectory, StateStores.PrivateFiles(o));
            return o;
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new DataDirectoryLock(sp.GetRequiredService<SmartMailOptions>().DataDirectory));
        if (watch)
        {
            // The first hosted service: nothing (erasure, recovery, watchers, web) starts while another process routes
            // mail from the same data directory.
            builder.Services.AddHostedService(sp => sp.GetRequiredService<DataDirectoryLock>());
            // Before the watchers: exports from the first mail on, and flushes after the last one at stop.
            builder.Services.AddHostedService(sp => sp.GetRequiredService<Telemetry.TelemetryExport>());
        }
        // SmartMail:State: SQLite in the data directory (the default) or a PostgreSQL database a fleet shares; the ledger
        // mirrors every audit row it writes (recovery rows included) to audit.jsonl.
        builder.Services.AddSingleton<IStateStore>(sp => StateStores.Open(sp.GetRequiredService<SmartMailOptions>()));
        builder.Services.AddSingleton(sp => new Learning.ExampleStore(sp.GetRequiredService<IStateStore>()));
        Privacy.PrivacyServiceCollectionExtensions.AddSmartMailPrivacy(builder.Services, watch); // a person's data: find, export, erase (issue 25)
        builder.Services.AddSingleton(sp => new Learning.LabelPrecisionMonitor(sp.GetRequiredService<Learning.ExampleStore>(),
            sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<SmartMailOptions>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<SmartMail.Core.Routing.IThresholdOverrides>(sp => sp.GetRequiredService<Learning.LabelPrecisionMonitor>());
        builder.Services.AddSingleton<ModelProvider>();
        builder.Services.AddSingleton(sp => new WorkerMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<Health.WorkerHealth>(), () => sp.GetRequiredService<ModelProvider>().Policy.Model?.Manifest.ModelVersion));
        builder.Services.AddSingleton<Telemetry.TelemetryExport>();
        builder.Services.AddSingleton<Health.WorkerHealth>();
        builder.Services.AddHealthChecks().AddCheck<Health.SmartMailHealthCheck>("smartmail");
        builder.Services.AddSingleton<IMailSource>(sp => new DropFolderSource("drop", sp.GetRequiredService<SmartMailOptions>().InboxPath,
            sp.GetRequiredService<ILogger<DropFolderSource>>()));
        builder.Services.AddSingleton(sp => new FolderJournalSink(sp.GetRequiredService<SmartMailOptions>().JournalPath));
        // One long-lived client; the pooled-connection lifetime picks up DNS changes (the IHttpClientFactory alternative).
        // No redirects: a POST redirected by 301/302 would arrive as a GET.
        builder.Services.AddSingleton(_ => new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        }));
        builder.Services.AddSingleton<Func<IMailSink, RoutingSink>>(sp => defaultSink =>
        {
            var options = sp.GetRequiredService<SmartMailOptions>();
            RoutingSink? routes = null;
            routes = new RoutingSink(options, defaultSink, sp.GetRequiredService<FolderJournalSink>(),
                options.Smtp is { } smtp ? () => new SmtpForwardSink(smtp, d => routes!.AddressOf(d), sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger<SmtpForwardSink>()) : null,
                () => new WebhookSink(sp.GetRequiredService<HttpClient>(), options.Webhook, d => routes!.UrlOf(d)));
            return routes;
        });
        // One processor per source, delivering through the routing table; the default route is the journal for the
        // drop-folder inbox and the mailbox's own folders for an IMAP mailbox. The model in force is read per decision;
        // the watchers look for a new bundle once per drain.
        builder.Services.AddSingleton<Func<IMailSink, MailProcessor>>(sp => defaultSink =>
        {
            var models = sp.GetRequiredService<ModelProvider>();
            return new MailProcessor(
                sp.GetRequiredService<IStateStore>(),
                () => models.Policy,
                new MailExtractor(sp.GetRequiredService<SmartMailOptions>().Extraction),
                sp.GetRequiredService<Func<IMailSink, RoutingSink>>()(defaultSink),
                sp.GetRequiredService<SmartMailOptions>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<MailProcessor>(),
                sp.GetRequiredService<WorkerMetrics>(),
                sp.GetRequiredService<Learning.ExampleStore>(),
                sp.GetRequiredService<Health.WorkerHealth>(),
                sp.GetRequiredService<Learning.LabelPrecisionMonitor>(),
                sp.GetRequiredService<Privacy.IPrivacyStore>());
        });
        builder.Services.AddSingleton(sp => sp.GetRequiredService<Func<IMailSink, MailProcessor>>()(sp.GetRequiredService<FolderJournalSink>()));
        builder.Services.AddSingleton<Func<Imap.ImapMailbox, MailProcessor>>(sp =>
            mailbox => sp.GetRequiredService<Func<IMailSink, MailProcessor>>()(mailbox));
        builder.Services.AddSmartMailOversight(recover: watch); // the web app's queries and actions (issue 17)
        builder.AddSmartMailWeb(watch); // the web app (SmartMail:Web) runs in this process while watching
        if (watch && !string.IsNullOrEmpty(builder.Configuration[$"{SmartMailOptions.SectionName}:HealthUrl"]))
        {
            builder.Services.AddHostedService<Health.HealthEndpoint>();
        }
        if (watch)
        {
            var mailboxes = builder.Configuration.GetSection($"{SmartMailOptions.SectionName}:Mailboxes").GetChildren().ToList();
            if (mailboxes.Count == 0)
            {
                builder.Services.AddHostedService<DropFolderWorker>();
            }
            builder.Services.AddHostedService<Learning.RetrainWorker>();
            builder.Services.AddHostedService<Processing.ExtractionWarmUp>();
            var learning = builder.Configuration.GetSection($"{SmartMailOptions.SectionName}:Learning");
            var watchCorrections = !bool.TryParse(learning["WatchCorrections"], out var w) || w;
            for (var i = 0; i < mailboxes.Count; i++)
            {
                var index = i;
                if (watchCorrections)
                {
                    builder.Services.AddSingleton<IHostedService>(sp => CorrectionWorkerFor(sp, index));
                }
                builder.Services.AddSingleton<IHostedService>(sp => new Imap.ImapWorker(
                    sp.GetRequiredService<SmartMailOptions>().Mailboxes[index],
                    sp.GetRequiredService<Func<Imap.ImapMailbox, MailProcessor>>(),
                    sp.GetRequiredService<IStateStore>(),
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<IHostApplicationLifetime>(),
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger<Imap.ImapWorker>(),
                    sp.GetRequiredService<Health.WorkerHealth>(),
                    sp.GetRequiredService<ModelProvider>()));
            }
        }
        return builder;
    }

    /// <summary>The correction scanner of mailbox <paramref name="index"/>, with the services of <paramref name="services"/>.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="index">The mailbox's index in <see cref="SmartMailOptions.Mailboxes"/>.</param>
    /// <returns>The scanner.</returns>
    public static Learning.CorrectionScanner CorrectionScannerFor(IServiceProvider services, int index)
    {
        var options = services.GetRequiredService<SmartMailOptions>();
        var models = services.GetRequiredService<ModelProvider>();
        return new Learning.CorrectionScanner(options.Mailboxes[index], options, services.GetRequiredService<IStateStore>(),
            services.GetRequiredService<Learning.ExampleStore>(), () => models.Policy.Model?.Model.Labels ?? [],
            services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILoggerFactory>().CreateLogger<Learning.CorrectionScanner>());
    }

    private static Learning.CorrectionWorker CorrectionWorkerFor(IServiceProvider services, int index) =>
        new(CorrectionScannerFor(services, index), services.GetRequiredService<SmartMailOptions>().Mailboxes[index].Name,
            services.GetRequiredService<SmartMailOptions>(), services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger<Learning.CorrectionWorker>());
}
