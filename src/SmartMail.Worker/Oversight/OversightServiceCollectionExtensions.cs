using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Web;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Oversight;

/// <summary>Registers the worker's side of the web app: <see cref="IOversightQueries"/> and <see cref="IMailActions"/>.</summary>
public static class OversightServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="OversightQueries"/> and <see cref="MailActions"/> as singletons over the host's ledger, example store,
    /// model and sinks, and (with <paramref name="recover"/>) the hosted service that finishes web actions a crash left open.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="recover">Whether the recovery runs (the watching worker: yes; one-off commands: no).</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddSmartMailOversight(this IServiceCollection services, bool recover = true)
    {
        services.AddSingleton(sp =>
        {
            var models = sp.GetRequiredService<ModelProvider>();
            return new OversightQueries(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<ExampleStore>(),
                sp.GetRequiredService<SmartMailOptions>(), () => models.Policy.Model, sp.GetService<Health.WorkerHealth>(),
                sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<IOversightQueries>(sp => sp.GetRequiredService<OversightQueries>());
        services.AddSingleton(sp =>
        {
            var models = sp.GetRequiredService<ModelProvider>();
            return new MailActions(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<ExampleStore>(),
                sp.GetRequiredService<SmartMailOptions>(), () => models.Policy.Model?.Model.Labels ?? [],
                sp.GetRequiredService<Func<IMailSink, RoutingSink>>()(sp.GetRequiredService<FolderJournalSink>()),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger<MailActions>());
        });
        services.AddSingleton<IMailActions>(sp => sp.GetRequiredService<MailActions>());
        if (recover)
        {
            services.AddSingleton<IHostedService>(sp => new OversightRecovery(sp.GetRequiredService<MailActions>(),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger<OversightRecovery>()));
        }
        return services;
    }
}

/// <summary>Finishes web actions left open (a crash between the steps, a mailbox that could not be reached): at start, then every minute.</summary>
/// <param name="actions">The actions.</param>
/// <param name="time">The clock.</param>
/// <param name="logger">The logger.</param>
public sealed class OversightRecovery(MailActions actions, TimeProvider time, ILogger<OversightRecovery> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromMinutes(1);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var finished = await actions.RecoverAsync(stoppingToken);
                if (finished > 0)
                {
                    OversightLog.Recovered(logger, finished);
                }
            }
            catch (Exception ex) when (ex is StateStoreException or System.Data.Common.DbException)
            {
                // The database went away (a PostgreSQL restart cuts the open connection): tried again in a minute.
                Log.StateStoreRetrying(logger, "the web actions' recovery", Every, ex);
            }
            await Task.Delay(Every, time, stoppingToken);
        }
    }
}
