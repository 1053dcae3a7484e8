using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Worker.Options;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Processing;

/// <summary>
/// Watches the drop-folder inbox: drains it, then waits <see cref="SmartMailOptions.PollInterval"/>. A state store
/// that cannot record stops the whole service (fail closed): no mail is taken without a durable record.
/// </summary>
public sealed class DropFolderWorker(
    MailProcessor processor,
    IMailSource source,
    ModelProvider models,
    SmartMailOptions options,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<DropFolderWorker> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                models.RefreshIfChanged();
                await processor.DrainAsync(source, stoppingToken);
            }
            catch (StateStoreException ex)
            {
                Log.StateStoreFailed(logger, ex);
                Environment.ExitCode = 1;
                lifetime.StopApplication();
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.PollFailed(logger, source.Mailbox, ex);
            }
            await Task.Delay(options.PollInterval, time, stoppingToken);
        }
    }
}
