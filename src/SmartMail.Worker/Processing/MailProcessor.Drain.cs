using System.Diagnostics;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Processing;

// The one pipeline every source goes through (an IMAP mailbox, the drop folder): list → fetch → prepare (extract, decide,
// record) → claim → deliver → complete (record the delivery, acknowledge to the source). It knows no protocol: what a source
// or a sink can do in batches it says itself (IMailSource.FetchManyAsync and ClaimBatchAsync, IMailSink.DeliversInBatches),
// and the rest goes one mail at a time.
public sealed partial class MailProcessor
{
    /// <summary>Mails per batch for a source that does not set its own (the drop folder); an IMAP mailbox has <c>BatchSize</c>.</summary>
    public const int DefaultBatchSize = 500;

    /// <summary>Handles every mail waiting in <paramref name="source"/>, oldest first, in batches of <see cref="DefaultBatchSize"/>.</summary>
    /// <param name="source">The source.</param>
    /// <param name="cancellationToken">Stops between batches and mails.</param>
    /// <returns>The outcome per mail.</returns>
    /// <exception cref="StateStoreException">The ledger cannot record: stop taking mail.</exception>
    public Task<IReadOnlyList<ProcessOutcome>> DrainAsync(IMailSource source, CancellationToken cancellationToken) =>
        DrainAsync(source, DefaultBatchSize, cancellationToken);

    /// <summary>
    /// Handles every mail waiting in <paramref name="source"/>, oldest first, in batches: each batch is fetched, prepared
    /// (recorded, decided, audited), claimed, delivered (together where the sink delivers in batches, else one by one) and
    /// completed in one transaction per step. Batches are also bounded by the source's <see cref="IMailSource.BatchMegabytes"/>
    /// by the listed sizes; mail a crash left in flight goes first, in smaller batches (<see cref="CrashBisect"/>).
    /// </summary>
    /// <param name="source">The source (for an IMAP mailbox, also the sink of its own folder routes).</param>
    /// <param name="batchSize">Mails per batch.</param>
    /// <param name="cancellationToken">Stops between batches and mails.</param>
    /// <returns>The outcome per mail.</returns>
    /// <exception cref="StateStoreException">The ledger cannot record: stop taking mail.</exception>
    public async Task<IReadOnlyList<ProcessOutcome>> DrainAsync(IMailSource source, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var outcomes = new List<ProcessOutcome>();
        var listed = await source.ListAsync(cancellationToken).ConfigureAwait(false);
        _metrics.Listed(source.Mailbox, listed.Count);
        var maxBytes = source.BatchMegabytes * 1024L * 1024L;
        // Mail over MaxMessageMegabytes is not fetched where the quarantine is moved in place (an IMAP folder).
        var quarantineInPlace = _sink.DeliversInBatches(_options.QuarantineDestination);
        foreach (var chunk in CrashBisect.ByBytes(Batches(Due(listed), batchSize), maxBytes))
        {
            cancellationToken.ThrowIfCancellationRequested();
            // One call per batch: its bodies are unreachable once it returns, not kept (in this loop's state) while the next
            // batch is fetched, so at most one batch of bodies is in memory. The yield ends this frame, which still refers to
            // the finished call (and through it to the batch's bodies) until it returns.
            await DrainBatchAsync(source, chunk, batchSize, quarantineInPlace, outcomes, cancellationToken).ConfigureAwait(false);
            await Task.Yield();
        }
        return outcomes;
    }

    // One batch, then (in batches of their own) the copies of mails that came twice in it: by then the first copy is handled,
    // so a delivered one makes the next a duplicate. Each round leaves at least the first copy of each bytes behind.
    private async Task DrainBatchAsync(IMailSource source, PendingMail[] chunk, int batchSize, bool quarantineInPlace,
        List<ProcessOutcome> outcomes, CancellationToken cancellationToken)
    {
        var copies = chunk;
        while (copies.Length > 0)
        {
            copies = await DrainOneBatchAsync(source, copies, batchSize, quarantineInPlace, outcomes, cancellationToken).ConfigureAwait(false);
        }
    }

    // Fetches, prepares, claims, delivers and completes one batch; returns the later copies of bytes it met twice.
    private async Task<PendingMail[]> DrainOneBatchAsync(IMailSource source, PendingMail[] chunk, int batchSize, bool quarantineInPlace,
        List<ProcessOutcome> outcomes, CancellationToken cancellationToken)
    {
        var ready = new List<PreparedMail>(chunk.Length);
        var toFetch = new List<PendingMail>(chunk.Length);
        foreach (var pending in chunk)
        {
            var unfetched = quarantineInPlace && IsTooLarge(pending)
                ? await PrepareUnfetchedAsync(source, pending, cancellationToken).ConfigureAwait(false)
                : null;
            if (unfetched is null)
            {
                toFetch.Add(pending);
            }
            else
            {
                Sort(unfetched, outcomes, ready);
            }
        }
        var clock = Stopwatch.GetTimestamp();
        var fetchStarted = DateTime.UtcNow; // span times are UTC wall-clock, as Activity keeps them
        var bodies = toFetch.Count == 0 ? [] : await source.FetchManyAsync([.. toFetch.Select(p => p.Key)], cancellationToken).ConfigureAwait(false);
        var fetched = Stopwatch.GetTimestamp();
        var batch = await PrepareBatchAsync(source, [.. toFetch.Select(p => (p, bodies.GetValueOrDefault(p.Key)))],
            batchSize, (fetchStarted, DateTime.UtcNow), cancellationToken).ConfigureAwait(false);
        PendingMail[] copies = [.. toFetch.Where((_, i) => ReferenceEquals(batch[i], PreparedMail.AfterEarlierCopy))];
        foreach (var prepared in batch.Where(p => !ReferenceEquals(p, PreparedMail.AfterEarlierCopy)))
        {
            Sort(prepared, outcomes, ready);
        }
        if (ready.Count == 0)
        {
            return copies;
        }
        var prepareDone = Stopwatch.GetTimestamp();
        // Every mail is claimed before anything is delivered, whatever its route.
        var claims = await source.ClaimBatchAsync([.. ready.Select(r => r.Delivery)], _store, cancellationToken).ConfigureAwait(false);
        await FailedAsync(source, ready, claims, outcomes, cancellationToken).ConfigureAwait(false);
        var claimed = Stopwatch.GetTimestamp();
        // What the sink delivers in batches (IMAP folder moves) goes together; SMTP, webhook and journal routes one by one.
        var byBatching = ready.Where((_, i) => claims[i] is null).ToLookup(r => _sink.DeliversInBatches(r.Record!.Destination!));
        foreach (var other in byBatching[false])
        {
            outcomes.Add(await DeliverAsync(source, other, cancellationToken).ConfigureAwait(false));
        }
        ready = [.. byBatching[true]];
        if (ready.Count == 0)
        {
            return copies;
        }
        var results = await _sink.DeliverBatchAsync([.. ready.Select(r => r.Delivery)], _store, cancellationToken).ConfigureAwait(false);
        var moved = Stopwatch.GetTimestamp();
        var delivered = ready.Where((_, i) => results[i] is null).ToList();
        if (delivered.Count > 0)
        {
            outcomes.AddRange(await CompleteAsync(source, delivered, cancellationToken).ConfigureAwait(false));
        }
        await FailedAsync(source, ready, results, outcomes, cancellationToken).ConfigureAwait(false);
        BatchTimed(source.Mailbox, new BatchStages(chunk.Length, Stopwatch.GetElapsedTime(clock, fetched), Stopwatch.GetElapsedTime(fetched, prepareDone),
            Stopwatch.GetElapsedTime(prepareDone, claimed), Stopwatch.GetElapsedTime(claimed, moved), Stopwatch.GetElapsedTime(moved)));
        return copies;

        // Mail finished without delivery has its outcome; the rest is due a delivery.
        static void Sort(PreparedMail prepared, List<ProcessOutcome> outcomes, List<PreparedMail> ready)
        {
            if (prepared.Outcome is { } outcome)
            {
                outcomes.Add(outcome);
            }
            else
            {
                ready.Add(prepared);
            }
        }
    }

    // The outcome of each mail whose claim or delivery failed (errors[i] not null), recorded as a failed delivery.
    private async Task FailedAsync(IMailSource source, List<PreparedMail> mails, IReadOnlyList<Exception?> errors,
        List<ProcessOutcome> outcomes, CancellationToken cancellationToken)
    {
        for (var i = 0; i < mails.Count; i++)
        {
            if (errors[i] is { } error)
            {
                outcomes.Add(await DeliveryFailedAsync(source, mails[i], error, cancellationToken).ConfigureAwait(false));
            }
        }
    }
}
