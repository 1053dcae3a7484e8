namespace SmartMail.Worker.State;

/// <summary>
/// One row of the append-only audit trail. Holds no message text and no personal data: free-text fields are
/// passed through the redactor before they are written.
/// </summary>
public sealed record AuditEntry
{
    /// <summary>When (UTC).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The decision id.</summary>
    public required string DecisionId { get; init; }

    /// <summary>The mail's fingerprint.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>The mailbox.</summary>
    public required string Mailbox { get; init; }

    /// <summary><c>rule</c>, <c>model</c>, <c>manual</c> or <c>quarantine</c>.</summary>
    public required string Source { get; init; }

    /// <summary>The label routed to, if any.</summary>
    public string? Label { get; init; }

    /// <summary>The model's confidence.</summary>
    public float? Confidence { get; init; }

    /// <summary>The top alternatives as JSON.</summary>
    public string? TopJson { get; init; }

    /// <summary>The threshold in force.</summary>
    public float? Threshold { get; init; }

    /// <summary>The model version.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The rule that decided.</summary>
    public string? Rule { get; init; }

    /// <summary>Why (redacted here, whoever writes the row: a folder name in a correction can hold a CPR number).</summary>
    public required string Reason { get; init => field = SmartMail.Core.Privacy.Redactor.Redact(value); }

    /// <summary>The destination (redacted likewise: a caseworker's folder).</summary>
    public required string Destination { get; init => field = SmartMail.Core.Privacy.Redactor.Redact(value); }

    /// <summary><c>decided</c>, <c>delivered</c>, <c>quarantined</c>, <c>duplicate</c>…</summary>
    public required string Outcome { get; init; }

    /// <summary>
    /// Who did it, for a person's action (a correction, a web action, a model promoted): the signed-in name as the sign-in
    /// gives it, often an address. Kept (only CPR numbers masked), because an audit trail that cannot name the actor is no
    /// audit trail; the free-text fields above mask addresses. <see langword="null"/> for the worker's own steps.
    /// </summary>
    public string? By { get; init => field = value is null ? null : SmartMail.Core.Privacy.Cpr.Redact(value); }
}
