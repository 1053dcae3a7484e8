namespace SmartMail.Worker.Sinks;

/// <summary>A destination for routed mail. Deliveries are idempotent on <see cref="Delivery.DecisionId"/>.</summary>
public interface IJournalSink
{
    /// <summary>Delivers a mail; delivering the same decision id again must not create a second copy.</summary>
    /// <param name="delivery">What to deliver where.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>A task.</returns>
    Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken);
}

/// <summary>A mail on its way to a destination.</summary>
/// <param name="Key">The mail's key in its source.</param>
/// <param name="DecisionId">The stable id deliveries are idempotent on.</param>
/// <param name="Destination">The destination name (a folder, a department).</param>
/// <param name="Raw">The original message bytes, unchanged.</param>
/// <param name="DecisionJson">The decision record.</param>
public sealed record Delivery(SmartMail.Worker.State.MailKey Key, string DecisionId, string Destination, byte[] Raw, string DecisionJson);
