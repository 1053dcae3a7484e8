using SmartMail.Core.Classification;

namespace SmartMail.Core.Routing;

/// <summary>Who made a routing decision.</summary>
public enum DecisionSource
{
    /// <summary>An explicit rule.</summary>
    Rule,
    /// <summary>The model, confident enough.</summary>
    Model,
    /// <summary>Nobody: a person must decide (manual triage).</summary>
    Manual,
    /// <summary>The mail's thread: it replies to a mail SmartMail routed, or to a message seen in a department folder.</summary>
    Thread,
}

/// <summary>
/// A routing decision and everything an auditor needs to understand it. Holds no message text and no
/// personal data: the reason is built from labels, numbers and rule names only.
/// </summary>
public sealed record RoutingDecision
{
    /// <summary>Rule, model or manual.</summary>
    public required DecisionSource Source { get; init; }

    /// <summary>The label routed to; <see langword="null"/> for manual triage.</summary>
    public string? Label { get; init; }

    /// <summary>The model's confidence in its top label (0 when no model was asked).</summary>
    public float Confidence { get; init; }

    /// <summary>The model's top alternatives, best first (empty when no model was asked).</summary>
    public IReadOnlyList<LabelScore> Top { get; init; } = [];

    /// <summary>The threshold the top label had to reach; <see langword="null"/> when it has none or no model was asked.</summary>
    public float? Threshold { get; init; }

    /// <summary>The model version asked, if any.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The rule that decided, if any.</summary>
    public string? Rule { get; init; }

    /// <summary>For a <see cref="DecisionSource.Thread"/> decision: the decision id of the mail replied to (<see langword="null"/> when the
    /// thread was found in a department folder, not in SmartMail's own decisions).</summary>
    public string? ParentDecisionId { get; init; }

    /// <summary>
    /// For a <see cref="DecisionSource.Model"/> decision: the model's top terms for its label that come from attachment text or
    /// names (empty when none did, or the mail has no attachment section).
    /// </summary>
    public IReadOnlyList<string> AttachmentTerms { get; init; } = [];

    /// <summary>The attachments (file names) <see cref="AttachmentTerms"/> were found in.</summary>
    public IReadOnlyList<string> AttachmentFiles { get; init; } = [];

    /// <summary>Why, in one sentence for a caseworker or auditor.</summary>
    public required string Reason { get; init; }
}
