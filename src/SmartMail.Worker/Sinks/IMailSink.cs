namespace SmartMail.Worker.Sinks;

/// <summary>A destination for routed mail. Deliveries are idempotent on <see cref="Delivery.DecisionId"/>.</summary>
public interface IMailSink
{
    /// <summary>Delivers a mail; delivering the same decision id again must not create a second copy.</summary>
    /// <param name="delivery">What to deliver where.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>A task.</returns>
    Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken);

    /// <summary>The name <paramref name="destination"/> has where the mail lands (an IMAP folder, a journal directory), for the audit trail.</summary>
    /// <param name="destination">The destination.</param>
    /// <returns>The name; the destination itself unless the sink renames it.</returns>
    string PlaceOf(string destination) => destination;

    /// <summary>
    /// Crash recovery: whether the decision <paramref name="check"/> names was delivered, asked of the sink it went to without
    /// delivering anything. A sink that cannot tell answers <see langword="null"/> (a re-delivery under the same decision id
    /// is idempotent there).
    /// </summary>
    /// <param name="check">The decision.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> delivered, <see langword="false"/> not, <see langword="null"/> unknown.</returns>
    Task<bool?> IsDeliveredAsync(DeliveryCheck check, CancellationToken cancellationToken) => Task.FromResult<bool?>(null);

    /// <summary>
    /// Whether mail to <paramref name="destination"/> is delivered in batches (<see cref="DeliverBatchAsync"/>): an IMAP
    /// mailbox moving its own mail to its folders, where mail too large to fetch can also be quarantined in place. Other
    /// sinks deliver one mail at a time.
    /// </summary>
    /// <param name="destination">The destination.</param>
    /// <returns><see langword="true"/> when <see cref="DeliverBatchAsync"/> takes it.</returns>
    bool DeliversInBatches(string destination) => false;

    /// <summary>Delivers a batch of mails whose destinations <see cref="DeliversInBatches"/> takes.</summary>
    /// <param name="deliveries">The mails.</param>
    /// <param name="store">The ledger (IMAP: the claim markers it recorded).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Per delivery, <see langword="null"/> when delivered, else the failure.</returns>
    Task<IReadOnlyList<Exception?>> DeliverBatchAsync(IReadOnlyList<Delivery> deliveries, SmartMail.Worker.State.IStateStore store,
        CancellationToken cancellationToken) =>
        throw new NotSupportedException("This sink delivers one mail at a time.");
}

/// <summary>A mail on its way to a destination.</summary>
/// <param name="Key">The mail's key in its source.</param>
/// <param name="DecisionId">The stable id deliveries are idempotent on.</param>
/// <param name="Destination">The destination name (a folder, a department).</param>
/// <param name="Raw">The original message bytes, unchanged.</param>
/// <param name="DecisionJson">The decision record.</param>
public sealed record Delivery(SmartMail.Worker.State.MailKey Key, string DecisionId, string Destination, byte[] Raw, string DecisionJson)
{
    /// <summary>The IMAP claim marker the ledger recorded for the mail (a claim a crash left), if any: claiming it again reuses it.</summary>
    public string? Marker { get; init; }
}

/// <summary>What crash recovery knows of a decision whose delivery was not recorded.</summary>
/// <param name="DecisionId">The decision id.</param>
/// <param name="Destination">The destination.</param>
/// <param name="Fingerprint">The mail's fingerprint.</param>
/// <param name="Marker">The IMAP claim marker recorded for it, if any.</param>
public sealed record DeliveryCheck(string DecisionId, string Destination, string Fingerprint, string? Marker);
