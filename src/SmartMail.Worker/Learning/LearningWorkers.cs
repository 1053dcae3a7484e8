using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Learning;

/// <summary>Looks for caseworkers' corrections in one mailbox's department folders every <see cref="LearningOptions.CorrectionScanInterval"/>.</summary>
/// <param name="scanner">The mailbox's scanner.</param>
/// <param name="mailbox">The mailbox name.</param>
/// <param name="options">The worker's options.</param>
/// <param name="time">The clock.</param>
/// <param name="logger">The logger.</param>
public sealed class CorrectionWorker(CorrectionScanner scanner, string mailbox, SmartMailOptions options, TimeProvider time,
    ILogger<CorrectionWorker> logger) : BackgroundService
{
    /// <summary>Corrections recorded since start.</summary>
    public int Corrections { get; private set; }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Learning.CorrectionScanInterval;
        for (var failures = 0; !stoppingToken.IsCancellationRequested;)
        {
            try
            {
                Corrections += (await scanner.ScanAsync(stoppingToken)).Corrections;
                failures = 0;
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Auth.SignInRefusedException)
            {
                // The mailbox's own worker logs the refusal once and stops the mailbox; scanning on would only storm the authority.
                return;
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or MailKit.ProtocolException or MailKit.CommandException or MailKit.ServiceNotConnectedException
                or System.Net.Sockets.SocketException or TimeoutException or OperationCanceledException or System.Security.Authentication.AuthenticationException
                or MailKit.Security.AuthenticationException or System.Data.Common.DbException or StateStoreException)
            {
                // Corrections wait safely in the folders: a failed scan is retried later, nothing is lost.
                var delay = TimeSpan.FromSeconds(Math.Min(interval.TotalSeconds * Math.Pow(2, Math.Min(++failures, 6)), 3600));
                LearningLog.ScanFailed(logger, mailbox, delay, ex);
                await Task.Delay(delay, time, stoppingToken);
            }
        }
    }
}

/// <summary>
/// Purges example text and the web app's mail rows (sender, subject) past <see cref="LearningOptions.RetentionDays"/>
/// once a day (mail still waiting for a person stays), and, when
/// <see cref="LearningOptions.RetrainEvery"/> is set, retrains from <see cref="LearningOptions.BaseTrainingData"/> plus the
/// stored examples and promotes by the same rule as <c>smartmail retrain</c>; the model watchers swap the promoted model
/// in. A failed retrain is logged and the model in force kept.
/// </summary>
/// <param name="examples">The stored examples.</param>
/// <param name="state">The ledger (its web-app rows are purged too).</param>
/// <param name="options">The worker's options.</param>
/// <param name="models">The model provider, refreshed after a promotion.</param>
/// <param name="time">The clock.</param>
/// <param name="logger">The logger.</param>
/// <param name="privacy">Where each purge is recorded (the retention report) and what each model learned from.</param>
public sealed class RetrainWorker(ExampleStore examples, IStateStore state, SmartMailOptions options, ModelProvider models, TimeProvider time,
    ILogger<RetrainWorker> logger, Privacy.IPrivacyStore? privacy = null) : BackgroundService
{
    // How soon a purge the state store refused is tried again.
    private static readonly TimeSpan RetryAfterStoreFailure = TimeSpan.FromMinutes(1);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = options.Learning.RetrainEvery;
        var tick = every is { } e && e < TimeSpan.FromDays(1) ? e : TimeSpan.FromDays(1);
        var nextRetrain = every is { } first ? time.GetUtcNow() + first : DateTimeOffset.MaxValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var cutoff = time.GetUtcNow().AddDays(-options.Learning.RetentionDays);
            try
            {
                var purgedExamples = examples.Purge(cutoff);
                var purgedSummaries = state.PurgeSummaries(cutoff);
                privacy?.RecordPurge(time.GetUtcNow(), cutoff, purgedExamples, purgedSummaries);
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or StateStoreException)
            {
                // The database went away (a PostgreSQL restart cuts the open connection): the purge is tried again in a minute.
                Log.StateStoreRetrying(logger, "the retention purge", RetryAfterStoreFailure, ex);
                await Task.Delay(RetryAfterStoreFailure, time, stoppingToken);
                continue;
            }
            await Task.Delay(tick, time, stoppingToken);
            if (time.GetUtcNow() < nextRetrain)
            {
                continue;
            }
            nextRetrain = time.GetUtcNow() + every!.Value;
            try
            {
                var report = await Task.Run(() => Retrain(examples, options, state, time, null, privacy), stoppingToken);
                LearningLog.Retrained(logger, report.Decision, report.Reason, report.ReportFile ?? "");
                models.RefreshIfChanged();
            }
            catch (Exception ex) when (ex is TrainingDataException or ModelBundleException or IOException or InvalidOperationException)
            {
                LearningLog.RetrainFailed(logger, ex);
            }
        }
    }

    /// <summary>One retrain with the worker's settings: history from <see cref="LearningOptions.BaseTrainingData"/>.</summary>
    /// <param name="examples">The stored examples.</param>
    /// <param name="options">The worker's options.</param>
    /// <param name="models">The model registry's store.</param>
    /// <param name="time">The clock.</param>
    /// <param name="progress">Receives a line per stage.</param>
    /// <returns>The report.</returns>
    /// <param name="privacy">Records what the candidate learned from; none when <see langword="null"/>.</param>
    public static RetrainReport Retrain(ExampleStore examples, SmartMailOptions options, IModelStore models, TimeProvider time, IProgress<string>? progress,
        Privacy.IPrivacyStore? privacy = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        var history = options.Learning.BaseTrainingData is { } dir ? TrainingSet.FromFolders(dir, new MailExtractor()) : null;
        return Retrainer.Run(examples, history, ModelRegistry.For(options, models), new RetrainOptions
        {
            TargetPrecision = options.Learning.TargetPrecision,
            MinComparisonExamples = options.Learning.MinComparisonExamples,
            ConfirmAfter = options.Learning.ConfirmAfter,
            TrainedOn = privacy is null ? null : Privacy.PrivacyTraining.Recorder(privacy, Privacy.PrivacyKeyFile.Load(options.DataDirectory)),
        }, time, progress);
    }
}
