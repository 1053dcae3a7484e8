using Microsoft.Extensions.Logging;
using SmartMail.Core;

namespace SmartMail.Worker;

/// <summary>The worker's log messages (event ids 2xxx). They carry fingerprints and labels, never content.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = SmartMailEventId.Routed, Level = LogLevel.Information, Message = "Routed {Fingerprint} to {Destination} by {Source}")]
    public static partial void Routed(ILogger logger, string fingerprint, string destination, string source);

    [LoggerMessage(EventId = SmartMailEventId.ToManualTriage, Level = LogLevel.Information, Message = "Sent {Fingerprint} to manual triage ({Destination}): a person decides")]
    public static partial void ToManualTriage(ILogger logger, string fingerprint, string destination);

    [LoggerMessage(EventId = SmartMailEventId.Quarantined, Level = LogLevel.Warning, Message = "Quarantined {Fingerprint}: {Reason}")]
    public static partial void Quarantined(ILogger logger, string fingerprint, string reason);

    [LoggerMessage(EventId = SmartMailEventId.Duplicate, Level = LogLevel.Information, Message = "Skipped {Fingerprint}: already delivered as {DecisionId}")]
    public static partial void Duplicate(ILogger logger, string fingerprint, string decisionId);

    [LoggerMessage(EventId = SmartMailEventId.DeliveryFailed, Level = LogLevel.Warning, Message = "Delivery of {Fingerprint} to {Destination} failed (attempt {Attempt}); will retry")]
    public static partial void DeliveryFailed(ILogger logger, string fingerprint, string destination, int attempt, Exception exception);

    [LoggerMessage(EventId = SmartMailEventId.Gone, Level = LogLevel.Information, Message = "Mail {Uid} in {Mailbox} disappeared before it was handled (another client took it)")]
    public static partial void Gone(ILogger logger, string mailbox, string uid);

    [LoggerMessage(EventId = SmartMailEventId.StateStoreFailed, Level = LogLevel.Critical, Message = "The state store cannot record; the worker stops taking mail")]
    public static partial void StateStoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = SmartMailEventId.StateStoreRetrying, Level = LogLevel.Warning, Message = "The state store is unavailable to {Task}; tried again in {Delay}")]
    public static partial void StateStoreRetrying(ILogger logger, string task, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = SmartMailEventId.ModelLoaded, Level = LogLevel.Information, Message = "Model {ModelVersion} loaded with {Labels} labels")]
    public static partial void ModelLoaded(ILogger logger, string modelVersion, int labels);

    [LoggerMessage(EventId = SmartMailEventId.DeliveryDeferred, Level = LogLevel.Warning, Message = "Destination {Destination} is unavailable (failure {Failures}); {Fingerprint} waits in its source until {RetryAt:O}")]
    public static partial void DeliveryDeferred(ILogger logger, string destination, int failures, string fingerprint, DateTimeOffset retryAt, Exception exception);

    [LoggerMessage(EventId = SmartMailEventId.Claimed, Level = LogLevel.Information, Message = "Mail {Uid} in {Mailbox} is claimed by another SmartMail instance; left to it")]
    public static partial void Claimed(ILogger logger, string mailbox, string uid);

    [LoggerMessage(EventId = SmartMailEventId.BatchTimed, Level = LogLevel.Debug,
        Message = "Batch of {Mails} in {Mailbox}: fetch {FetchMs:F0} ms, prepare {PrepareMs:F0} ms, claim {ClaimMs:F0} ms, deliver {DeliverMs:F0} ms, complete {CompleteMs:F0} ms")]
    public static partial void BatchTimed(ILogger logger, int mails, string mailbox, double fetchMs, double prepareMs, double claimMs, double deliverMs, double completeMs);

    [LoggerMessage(EventId = SmartMailEventId.PollFailed, Level = LogLevel.Error, Message = "Polling {Mailbox} failed")]
    public static partial void PollFailed(ILogger logger, string mailbox, Exception exception);

    [LoggerMessage(EventId = SmartMailEventId.ModelSwapRefused, Level = LogLevel.Error, Message = "New model bundle refused, keeping the current model: {Reason}")]
    public static partial void ModelSwapRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = SmartMailEventId.RoutesNotCounted, Level = LogLevel.Warning, Message = "{Count} decisions were not counted for realised precision (SQLite error {Code}); routing goes on")]
    public static partial void RoutesNotCounted(ILogger logger, int count, int code);

    [LoggerMessage(EventId = SmartMailEventId.ExamplesNotKept, Level = LogLevel.Warning, Message = "The text of {Count} decided mails was not kept for training (SQLite error {Code}); routing goes on")]
    public static partial void ExamplesNotKept(ILogger logger, int count, int code);

    [LoggerMessage(EventId = SmartMailEventId.InvariantBroken, Level = LogLevel.Critical, Message = "Mailbox {Mailbox}: a ledger invariant broke; the worker stops instead of reconnecting (a bug: report it with this log)")]
    public static partial void InvariantBroken(ILogger logger, string mailbox, Exception exception);

    [LoggerMessage(EventId = SmartMailEventId.CrashSuspects, Level = LogLevel.Information, Message = "Mailbox {Mailbox}: {Count} mails were in flight when the worker stopped before; they are retried first, in groups of at most {Group}, so that a mail that crashes the worker ends up alone")]
    public static partial void CrashSuspects(ILogger logger, string mailbox, int count, int group);

    [LoggerMessage(EventId = SmartMailEventId.SymlinkIgnored, Level = LogLevel.Warning, Message = "Drop inbox {Mailbox}: a symbolic link named *.eml was ignored (links are never followed; drop the file itself)")]
    public static partial void SymlinkIgnored(ILogger logger, string mailbox);

    [LoggerMessage(EventId = SmartMailEventId.TooLargeUnfetched, Level = LogLevel.Warning, Message = "{Fingerprint} is {Size} bytes by its listed size, over MaxMessageMegabytes: to quarantine without fetching its body")]
    public static partial void TooLargeUnfetched(ILogger logger, string fingerprint, long size);
}
