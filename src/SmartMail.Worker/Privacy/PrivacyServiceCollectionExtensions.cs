using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Core;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Privacy;

/// <summary>Registers the privacy index, the find/export/erase service and (while watching) the pending-erasure pass.</summary>
public static class PrivacyServiceCollectionExtensions
{
    /// <summary>Adds the privacy services.</summary>
    /// <param name="services">The services.</param>
    /// <param name="watch">Whether the worker runs (then mail erased before delivery is erased once delivered).</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddSmartMailPrivacy(this IServiceCollection services, bool watch)
    {
        services.AddSingleton(sp => new PrivacyStore(sp.GetRequiredService<IStateStore>())); // in the chosen store (SmartMail:State)
        services.AddSingleton<IPrivacyStore>(sp => sp.GetRequiredService<PrivacyStore>());
        services.AddSingleton(sp => new PrivacyService(sp.GetRequiredService<SmartMailOptions>(), sp.GetRequiredService<IPrivacyStore>(),
            sp.GetRequiredService<IStateStore>(), PrivacyKeyFile.Load(sp.GetRequiredService<SmartMailOptions>().DataDirectory),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<SmartMail.Web.IAccessAudit>(sp => new PrivacyAccessAudit(sp.GetRequiredService<IStateStore>(),
            sp.GetRequiredService<IPrivacyStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<SmartMail.Web.IPrivacyRequests>(sp => new WebPrivacyRequests(sp.GetRequiredService<PrivacyService>(),
            sp.GetRequiredService<IPrivacyStore>(), sp.GetRequiredService<SmartMailOptions>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IStateStore>()));
        if (watch)
        {
            services.AddHostedService<PendingErasureWorker>();
        }
        return services;
    }
}

/// <summary>Erases mail whose erasure was asked while it was in flight, once it has been delivered (every 30 s).</summary>
/// <param name="privacy">The service.</param>
/// <param name="time">The clock.</param>
/// <param name="logger">The logger.</param>
public sealed partial class PendingErasureWorker(PrivacyService privacy, TimeProvider time, ILogger<PendingErasureWorker> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (privacy.ErasePending("smartmail (pending erasure)") is > 0 and var erased)
                {
                    PendingErased(logger, erased);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
            {
                PendingFailed(logger, ex);
            }
            await Task.Delay(TimeSpan.FromSeconds(30), time, stoppingToken);
        }
    }

    [LoggerMessage(EventId = SmartMailEventId.PendingErasuresDone, Level = LogLevel.Information, Message = "{Count} mails whose erasure was asked before delivery were erased")]
    private static partial void PendingErased(ILogger logger, int count);

    [LoggerMessage(EventId = SmartMailEventId.PendingErasuresFailed, Level = LogLevel.Warning, Message = "Pending erasures could not be completed; tried again in 30 s")]
    private static partial void PendingFailed(ILogger logger, Exception exception);
}
