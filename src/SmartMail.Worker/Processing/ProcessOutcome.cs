namespace SmartMail.Worker.Processing;

/// <summary>What happened to one mail.</summary>
public enum ProcessOutcome
{
    /// <summary>Routed by a rule or the model.</summary>
    Routed,
    /// <summary>Sent to manual triage.</summary>
    Manual,
    /// <summary>Sent to quarantine.</summary>
    Quarantined,
    /// <summary>Already delivered under another key: not delivered again.</summary>
    Duplicate,
    /// <summary>Gone from the source before it was handled.</summary>
    Gone,
    /// <summary>Delivery failed; left in the source for a later retry.</summary>
    Deferred,
    /// <summary>Another SmartMail instance claimed it first: left to that instance.</summary>
    Claimed,
}
