using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Processing;

/// <summary>A mail decided and ready to deliver, or finished without delivery (<see cref="Outcome"/> set).</summary>
/// <param name="Record">The ledger record (decided), when a delivery is due.</param>
/// <param name="Raw">The raw bytes, when a delivery is due.</param>
/// <param name="Outcome">The final outcome, when no delivery is due.</param>
public sealed record PreparedMail(MailRecord? Record, byte[]? Raw, ProcessOutcome? Outcome)
{
    /// <summary>When handling started (for the duration metric).</summary>
    public long Started { get; init; }

    /// <summary>The mail's span when it outlives the call that started it (the batch path); ended when the mail is finished.</summary>
    public System.Diagnostics.Activity? Span { get; init; }

    /// <summary>The delivery this mail is due.</summary>
    public Delivery Delivery => new(Record!.Key, Record.DecisionId, Record.Destination!, Raw!, Record.DecisionJson!) { Marker = Record.Marker };

    /// <summary>A mail finished without delivery.</summary>
    /// <param name="outcome">Its outcome.</param>
    /// <returns>The prepared mail.</returns>
    public static PreparedMail Done(ProcessOutcome outcome) => new(null, null, outcome);

    /// <summary>
    /// The same bytes came earlier in the batch: nothing was recorded for this copy, and it is handled once the earlier one is
    /// (then, delivered, it is a duplicate).
    /// </summary>
    public static PreparedMail AfterEarlierCopy { get; } = new(null, null, null);
}
