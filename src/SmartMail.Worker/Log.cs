using Microsoft.Extensions.Logging;

namespace SmartMail.Worker;

/// <summary>The worker's log messages (event ids 2xxx). They carry fingerprints and labels, never content.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Routed {Fingerprint} to {Destination} by {Source}")]
    public static partial void Routed(ILogger logger, string fingerprint, string destination, string source);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Sent {Fingerprint} to manual triage ({Destination}): a person decides")]
    public static partial void ToManualTriage(ILogger logger, string fingerprint, string destination);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Quarantined {Fingerprint}: {Reason}")]
    public static partial void Quarantined(ILogger logger, string fingerprint, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Skipped {Fingerprint}: already delivered as {DecisionId}")]
    public static partial void Duplicate(ILogger logger, string fingerprint, string decisionId);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Delivery of {Fingerprint} to {Destination} failed (attempt {Attempt}); will retry")]
    public static partial void DeliveryFailed(ILogger logger, string fingerprint, string destination, int attempt, Exception exception);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Mail {Uid} in {Mailbox} disappeared before it was handled (another client took it)")]
    public static partial void Gone(ILogger logger, string mailbox, string uid);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Critical, Message = "The state store cannot record; the worker stops taking mail")]
    public static partial void StateStoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Model {ModelVersion} loaded with {Labels} labels")]
    public static partial void ModelLoaded(ILogger logger, string modelVersion, int labels);

    [LoggerMessage(EventId = 2031, Level = LogLevel.Warning, Message = "Destination {Destination} is unavailable (failure {Failures}); {Fingerprint} waits in its source until {RetryAt:O}")]
    public static partial void DeliveryDeferred(ILogger logger, string destination, int failures, string fingerprint, DateTimeOffset retryAt, Exception exception);

    [LoggerMessage(EventId = 2032, Level = LogLevel.Information, Message = "Mail {Uid} in {Mailbox} is claimed by another SmartMail instance; left to it")]
    public static partial void Claimed(ILogger logger, string mailbox, string uid);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "Polling {Mailbox} failed")]
    public static partial void PollFailed(ILogger logger, string mailbox, Exception exception);
}
