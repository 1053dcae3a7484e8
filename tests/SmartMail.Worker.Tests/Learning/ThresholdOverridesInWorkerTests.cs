using Microsoft.Extensions.DependencyInjection;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Learning;

/// <summary>The worker as the host builds it: the policy in force applies the thresholds raised in service.</summary>
public sealed class ThresholdOverridesInWorkerTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>, IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-overrides-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void HostPolicy_LabelMadeManualOnlyByCorrections_SendsItsMailToAPerson()
    {
        var builder = WorkerHost.CreateBuilder(["--SmartMail:ModelPath=" + model.ModelPath, "--SmartMail:DataDirectory=" + _dir.FullName], watch: false);
        var clock = new ManualClock();
        builder.Services.AddSingleton<TimeProvider>(clock);
        using var host = builder.Build();
        var policy = host.Services.GetRequiredService<ModelProvider>().Policy;
        var mail = new MailExtractor().Extract(File.ReadAllBytes(Path.Combine(model.RepositoryRoot, "tests", "TestData", "english-inbox", "01-shuttle-launch.eml")));
        var before = policy.Decide(mail);
        var label = before.Label ?? before.Top[0].Label;
        var version = model.Bundle.Manifest.ModelVersion;
        var monitor = host.Services.GetRequiredService<LabelPrecisionMonitor>();
        var store = host.Services.GetRequiredService<IStateStore>();
        var examples = host.Services.GetRequiredService<ExampleStore>();
        var options = host.Services.GetRequiredService<SmartMailOptions>();

        for (var i = 0; i < 30; i++)
        {
            monitor.Routed([new AutomaticRoute("drop", $"fp{i}", $"sm-{i}", version, label, 0.99f, model.Bundle.Thresholds[label] ?? 0.5f)]);
            CorrectionRecorder.Record(store, examples, options,
                new Correction(DateTimeOffset.UtcNow, "drop", $"fp{i}", $"sm-{i}", label, label, "other", "other", "caseworker", "imap", version),
                null, "moved by a caseworker", "other");
        }
        clock.Advance(LabelPrecisionMonitor.RefreshInterval); // corrections recorded elsewhere are seen within the interval
        var after = host.Services.GetRequiredService<ModelProvider>().Policy.Decide(mail);

        Assert.Equal(DecisionSource.Manual, after.Source);
        Assert.Null(after.Threshold);
        Assert.Contains("manual-only in service", after.Reason, StringComparison.Ordinal);
        Assert.Contains("30 of 30 automatic routes corrected", after.Reason, StringComparison.Ordinal);
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
