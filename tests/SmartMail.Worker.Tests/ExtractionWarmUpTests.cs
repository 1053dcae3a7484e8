using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;

namespace SmartMail.Worker.Tests;

/// <summary>The worker reads a PDF of its own once at start, so the first real attachment is not spent on compilation.</summary>
public sealed class ExtractionWarmUpTests
{
    [Fact]
    public async Task Start_ReadsItsOwnPdfOnceInTheBackground()
    {
        var logger = new ListLogger<ExtractionWarmUp>();
        using var warmUp = new ExtractionWarmUp(new SmartMailOptions(), logger);

        await warmUp.StartAsync(TestContext.Current.CancellationToken);
        await warmUp.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Contains("PDF read: True", Assert.Single(logger.With(2010)), StringComparison.Ordinal);
        Assert.Empty(logger.With(2011));
    }

    [Fact]
    public async Task Start_WithAttachmentReadingOff_DoesNothing()
    {
        var logger = new ListLogger<ExtractionWarmUp>();
        var options = new SmartMailOptions();
        options.Extraction.ReadAttachments = false;
        using var warmUp = new ExtractionWarmUp(options, logger);

        await warmUp.StartAsync(TestContext.Current.CancellationToken);
        await warmUp.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Empty(logger.Lines);
    }
}
