using System.Diagnostics;
using System.Text.RegularExpressions;

namespace SmartMail.Worker.Telemetry;

/// <summary>
/// The traces of SmartMail: the <see cref="ActivitySource"/> <c>SmartMail</c>, one span per mail (<c>smartmail.mail</c>)
/// with a child span per step (<c>smartmail.fetch</c>, <c>.extract</c>, <c>.decide</c>, <c>.deliver</c>, <c>.acknowledge</c>),
/// and the tag names shared with <see cref="Processing.WorkerMetrics"/>. Spans carry the mailbox, the decision id, a
/// fingerprint prefix, the decision's source, destination and model version, and the outcome — never a subject, sender,
/// address, file name, UID, whole fingerprint or text. Without a listener (telemetry off) every call costs a null check.
/// </summary>
public static partial class SmartMailTelemetry
{
    /// <summary>The activity source name.</summary>
    public const string ActivitySourceName = "SmartMail";

    /// <summary>Tag: the configured mailbox name (<c>drop</c> for the drop-folder inbox).</summary>
    public const string MailboxTag = "smartmail.mailbox";

    /// <summary>Tag: what happened to a mail (routed, manual, quarantined, duplicate, gone, deferred, claimed).</summary>
    public const string OutcomeTag = "smartmail.outcome";

    /// <summary>Tag: the destination (a label's route or folder, manual triage, quarantine).</summary>
    public const string DestinationTag = "smartmail.destination";

    /// <summary>Tag: what made the decision (rule, model, manual, quarantine, duplicate).</summary>
    public const string DecisionSourceTag = "smartmail.decision.source";

    /// <summary>Tag: the model version in force.</summary>
    public const string ModelVersionTag = "smartmail.model.version";

    /// <summary>Tag: a watcher's state (working, standby, reconnecting, stopped).</summary>
    public const string MailboxStateTag = "smartmail.mailbox.state";

    /// <summary>Tag: the type of the error, as in the OpenTelemetry semantic conventions.</summary>
    public const string ErrorTypeTag = "error.type";

    /// <summary>Span tag: the decision id (<c>sm-</c> and 24 hex digits).</summary>
    public const string DecisionIdTag = "smartmail.decision.id";

    /// <summary>Span tag: the first <see cref="FingerprintPrefixLength"/> hex digits of the mail's SHA-256 fingerprint.</summary>
    public const string FingerprintTag = "smartmail.fingerprint.prefix";

    /// <summary>Span tag: the model's confidence in the decision.</summary>
    public const string ConfidenceTag = "smartmail.decision.confidence";

    /// <summary>How many hex digits of a fingerprint a span carries: enough to find the mail in the audit trail.</summary>
    public const int FingerprintPrefixLength = 12;

    /// <summary>The span of one mail.</summary>
    public const string MailSpanName = "smartmail.mail";

    /// <summary>The source of every SmartMail span.</summary>
    public static ActivitySource Source { get; } = new(ActivitySourceName, typeof(SmartMailTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>The span name of <paramref name="step"/>.</summary>
    /// <param name="step">The step.</param>
    /// <returns>E.g. <c>smartmail.deliver</c>.</returns>
    public static string SpanName(MailStep step) => step switch
    {
        MailStep.Fetch => "smartmail.fetch",
        MailStep.Extract => "smartmail.extract",
        MailStep.Decide => "smartmail.decide",
        MailStep.Deliver => "smartmail.deliver",
        MailStep.Acknowledge => "smartmail.acknowledge",
        _ => throw new ArgumentOutOfRangeException(nameof(step), step, "unknown step"),
    };

    /// <summary>Starts the span of one mail (kind consumer), a child of the current span if any.</summary>
    /// <param name="mailbox">The configured mailbox name.</param>
    /// <param name="makeCurrent">
    /// Whether the span becomes <see cref="Activity.Current"/> (the one-by-one path: steps started in the same flow find it).
    /// <see langword="false"/> for a span kept with the mail and ended later, as in the batch path: then the current span
    /// stays what it was, and steps are started with the span passed to <see cref="StartStep"/>.
    /// </param>
    /// <returns>The span, or <see langword="null"/> when nobody listens; end it with <see cref="Finish"/> or dispose it.</returns>
    public static Activity? StartMail(string mailbox, bool makeCurrent = true)
    {
        var previous = Activity.Current;
        var activity = Source.StartActivity(MailSpanName, ActivityKind.Consumer);
        activity?.SetTag(MailboxTag, TagValues.Clean(mailbox));
        if (!makeCurrent && activity is not null)
        {
            Activity.Current = previous;
        }
        return activity;
    }

    /// <summary>The mail span the current span belongs to (the current span or one of its parents), if any.</summary>
    public static Activity? CurrentMail
    {
        get
        {
            for (var activity = Activity.Current; activity is not null; activity = activity.Parent)
            {
                if (ReferenceEquals(activity.Source, Source) && activity.OperationName == MailSpanName)
                {
                    return activity;
                }
                if (activity.GetCustomProperty(MailSpanName) is Activity mail)
                {
                    return mail;
                }
            }
            return null;
        }
    }

    /// <summary>Records the outcome on the mail's span and ends it; a span already ended is left as it is.</summary>
    /// <param name="mail">The span from <see cref="StartMail"/>; nothing happens when <see langword="null"/>.</param>
    /// <param name="outcome">What happened to the mail.</param>
    public static void Finish(Activity? mail, Processing.ProcessOutcome outcome)
    {
        if (mail is null || mail.IsStopped)
        {
            return;
        }
        SetOutcome(mail, outcome);
        mail.Dispose();
    }

    /// <summary>
    /// Starts the span of one step, a child of <paramref name="mail"/>, or of <see cref="CurrentMail"/> when
    /// <paramref name="mail"/> is <see langword="null"/> (pass the mail's span where work runs in parallel or the span is
    /// kept with the mail). A step outside any mail span is not recorded.
    /// </summary>
    /// <param name="step">The step.</param>
    /// <param name="mail">The mail's span from <see cref="StartMail"/>.</param>
    /// <returns>The span, or <see langword="null"/> when nobody listens or there is no mail span; dispose it when the step is done.</returns>
    public static Activity? StartStep(MailStep step, Activity? mail = null)
    {
        var parent = mail ?? CurrentMail;
        if (parent is null)
        {
            return null;
        }
        // Started from a context, a span has no Parent object: it keeps its mail for CurrentMail.
        var activity = Source.StartActivity(SpanName(step), ActivityKind.Internal, parent.Context);
        activity?.SetCustomProperty(MailSpanName, parent);
        return activity;
    }

    /// <summary>
    /// Records a step of <paramref name="mail"/> that already happened, for a batch whose mails got their spans after it:
    /// the fetch of a batch is one request for all its mails, and each mail's trace shows it with the request's times.
    /// </summary>
    /// <param name="step">The step.</param>
    /// <param name="mail">The mail's span; nothing is recorded when <see langword="null"/>.</param>
    /// <param name="started">When the step started (UTC).</param>
    /// <param name="ended">When it ended (UTC).</param>
    public static void RecordStep(MailStep step, Activity? mail, DateTime started, DateTime ended)
    {
        if (mail is null)
        {
            return;
        }
        using var activity = Source.StartActivity(SpanName(step), ActivityKind.Internal, mail.Context, startTime: started);
        activity?.SetCustomProperty(MailSpanName, mail);
        activity?.SetEndTime(ended);
    }

    /// <summary>Records which mail a span is about: its decision id and a fingerprint prefix. Other values are dropped.</summary>
    /// <param name="activity">The span (of the mail or a step); nothing happens when <see langword="null"/>.</param>
    /// <param name="decisionId">The decision id, <c>sm-</c> and 24 hex digits.</param>
    /// <param name="fingerprint">The mail's fingerprint (hex SHA-256); only its first <see cref="FingerprintPrefixLength"/> digits are kept.</param>
    public static void SetMail(Activity? activity, string? decisionId, string? fingerprint = null)
    {
        if (activity is null)
        {
            return;
        }
        if (decisionId is not null && DecisionId().IsMatch(decisionId))
        {
            activity.SetTag(DecisionIdTag, decisionId);
        }
        if (fingerprint is { Length: >= FingerprintPrefixLength } && Hex().IsMatch(fingerprint.AsSpan(0, FingerprintPrefixLength)))
        {
            activity.SetTag(FingerprintTag, fingerprint[..FingerprintPrefixLength].ToLowerInvariant());
        }
    }

    /// <summary>Records the decision on a span.</summary>
    /// <param name="activity">The span; nothing happens when <see langword="null"/>.</param>
    /// <param name="source">What decided (rule, model, manual, quarantine, duplicate).</param>
    /// <param name="destination">Where the mail goes.</param>
    /// <param name="modelVersion">The model version, if the model was asked.</param>
    /// <param name="confidence">The model's confidence, if any.</param>
    public static void SetDecision(Activity? activity, string source, string destination, string? modelVersion, float? confidence)
    {
        if (activity is null)
        {
            return;
        }
        activity.SetTag(DecisionSourceTag, TagValues.Clean(source));
        activity.SetTag(DestinationTag, TagValues.Clean(destination));
        if (modelVersion is not null)
        {
            activity.SetTag(ModelVersionTag, TagValues.Clean(modelVersion));
        }
        if (confidence is { } c)
        {
            activity.SetTag(ConfidenceTag, Math.Round(c, 4));
        }
    }

    /// <summary>Records what happened to the mail; quarantine is an error status, the rest is OK.</summary>
    /// <param name="activity">The span; nothing happens when <see langword="null"/>.</param>
    /// <param name="outcome">The outcome.</param>
    public static void SetOutcome(Activity? activity, Processing.ProcessOutcome outcome)
    {
        if (activity is null)
        {
            return;
        }
        var name = outcome.ToString().ToLowerInvariant();
        activity.SetTag(OutcomeTag, name);
        activity.SetStatus(outcome == Processing.ProcessOutcome.Quarantined ? ActivityStatusCode.Error : ActivityStatusCode.Ok,
            outcome == Processing.ProcessOutcome.Quarantined ? name : null);
    }

    /// <summary>
    /// Marks a span failed with the error's type only: an exception's message can carry a CPR number, a file name or an
    /// address (an SMTP reply, an IOException), so neither the message nor the stack trace is recorded.
    /// </summary>
    /// <param name="activity">The span; nothing happens when <see langword="null"/>.</param>
    /// <param name="error">The error.</param>
    public static void SetError(Activity? activity, Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (activity is null)
        {
            return;
        }
        var type = error.GetType().FullName ?? error.GetType().Name;
        activity.SetTag(ErrorTypeTag, type);
        activity.SetStatus(ActivityStatusCode.Error, error.GetType().Name);
    }

    [GeneratedRegex("^sm-[0-9a-f]{24}$", RegexOptions.CultureInvariant)]
    private static partial Regex DecisionId();

    [GeneratedRegex("^[0-9a-fA-F]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Hex();
}
