using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Core;
using SmartMail.Core.Mime;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Processing;

/// <summary>
/// At start, reads a small PDF made in memory once (<see cref="MailExtractor.WarmUp"/>), in the background, so the first
/// real PDF attachment is not skipped because the PDF reader was still being compiled within its time budget.
/// </summary>
/// <param name="options">The worker's options (its extraction settings).</param>
/// <param name="logger">The logger.</param>
public sealed partial class ExtractionWarmUp(SmartMailOptions options, ILogger<ExtractionWarmUp> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Extraction.ReadAttachments
        ? Task.Run(() =>
        {
            try
            {
                var read = new MailExtractor(options.Extraction).WarmUp();
                Warmed(logger, read);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Failed(logger, ex.GetType().Name);
            }
        }, stoppingToken)
        : Task.CompletedTask;

    [LoggerMessage(EventId = SmartMailEventId.ExtractionWarmed, Level = LogLevel.Debug, Message = "Attachment reading warmed up (PDF read: {Read})")]
    private static partial void Warmed(ILogger logger, bool read);

    [LoggerMessage(EventId = SmartMailEventId.ExtractionWarmUpFailed, Level = LogLevel.Warning, Message = "Attachment reading could not be warmed up ({Error}); the first PDF may be slow")]
    private static partial void Failed(ILogger logger, string error);
}
