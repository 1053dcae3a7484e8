namespace SmartMail.Worker.State;

/// <summary>The legal steps of a mail's life. <see cref="MailLedger"/> is the one place each is written.</summary>
public enum MailTransition
{
    /// <summary>(new) | Seen | Decided → the same step (Seen when new): processing starts, one more attempt is counted.</summary>
    Begin,
    /// <summary>Gone | ClaimedElsewhere → Seen: a mail that left undelivered is back under the same key; audited <c>reopened</c>.</summary>
    Reopen,
    /// <summary>Seen | Decided → Decided: destination and decision recorded; audited <c>routed</c>, <c>manual</c> or <c>quarantined</c>.</summary>
    Decide,
    /// <summary>Decided → Decided: the IMAP claim marker about to be set on the mail is recorded.</summary>
    Claim,
    /// <summary>Decided → Decided: the destination is unavailable; error and retry time recorded, the attempt given back.</summary>
    Defer,
    /// <summary>Decided → Decided: a delivery failed for this mail; the error recorded (the attempt counts).</summary>
    Fail,
    /// <summary>Decided → Delivered: the sink confirmed the delivery.</summary>
    Deliver,
    /// <summary>Delivered → Acknowledged: the source gave the mail up.</summary>
    Acknowledge,
    /// <summary>(new) | Seen → Delivered: the same bytes were really delivered before under another key; audited <c>duplicate</c>.</summary>
    Duplicate,
    /// <summary>Seen | Decided → Gone: the mail left the source undelivered; audited <c>gone</c>.</summary>
    Leave,
    /// <summary>Seen | Decided → ClaimedElsewhere: another instance claimed it first; audited <c>claimed</c>.</summary>
    LoseClaim,
    /// <summary>Decided | Delivered → Acknowledged: after a crash, the sink showed the decision delivered and the source no longer holds the mail; audited <c>delivered</c>.</summary>
    Recover,
    /// <summary>
    /// (new) | Decided | Delivered | Acknowledged → the same state: a person's correction, recorded with its example, its count
    /// against the label's realised precision, and its audit rows (<c>corrected</c>, and any threshold change) in one transaction.
    /// </summary>
    Correct,
    /// <summary>Web action (none) | Done | Failed → Intent: the action is recorded before anything is done.</summary>
    RequestAction,
    /// <summary>Web action Intent → Moved: the mail is in its new place.</summary>
    MoveAction,
    /// <summary>Web action Intent | Moved → Failed: refused, the error recorded; nothing was moved.</summary>
    FailAction,
    /// <summary>
    /// Web action Moved → Done: the web-app row shows where the mail is, with the correction (route, correct) or the
    /// <c>released</c> audit row, in one transaction.
    /// </summary>
    CompleteAction,
}

/// <summary>A transition that the mail's current state does not allow: a bug, never a condition to handle.</summary>
public sealed class IllegalTransitionException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public IllegalTransitionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was attempted.</param>
    public IllegalTransitionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What was attempted.</param>
    /// <param name="innerException">The cause.</param>
    public IllegalTransitionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
