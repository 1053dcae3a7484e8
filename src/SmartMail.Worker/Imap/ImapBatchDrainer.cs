using System.Diagnostics;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// Drains an IMAP mailbox in batches: each mail is fetched, decided and recorded one by one (the ledger protocol is
/// per mail), then the batch is claimed (<see cref="ImapMailbox.ClaimBatchAsync"/>: mail another instance claimed first is
/// left to it), delivered with one UID MOVE per destination and completed in one transaction per step.
/// </summary>
public static class ImapBatchDrainer
{
    /// <summary>Drains everything waiting in <paramref name="mailbox"/>.</summary>
    /// <param name="mailbox">The connected mailbox (source and sink).</param>
    /// <param name="processor">The processor whose sink is <paramref name="mailbox"/>.</param>
    /// <param name="store">The ledger.</param>
    /// <param name="batchSize">Mails per batch.</param>
    /// <param name="cancellationToken">Stops between batches and mails.</param>
    /// <returns>The outcome per mail.</returns>
    /// <exception cref="StateStoreException">The ledger cannot record: stop taking mail.</exception>
    public static async Task<IReadOnlyList<ProcessOutcome>> DrainAsync(ImapMailbox mailbox, MailProcessor processor, IStateStore store,
        int batchSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        ArgumentNullException.ThrowIfNull(processor);
        var outcomes = new List<ProcessOutcome>();
        var listed = await mailbox.ListAsync(cancellationToken).ConfigureAwait(false);
        processor.Listed(mailbox.Mailbox, listed.Count);
        // Batches by count (halved for mail a crash left in flight) and by bytes, from the sizes the server listed: a batch never
        // fetches more than BatchMegabytes, and mail over MaxMessageMegabytes is not fetched at all.
        var maxBytes = mailbox.Options.BatchMegabytes * 1024L * 1024L;
        var quarantineInPlace = processor.Sink is not RoutingSink router || router.IsDefault(processor.QuarantineDestination);
        foreach (var chunk in CrashBisect.ByBytes(processor.Batches(processor.Due(listed), batchSize), maxBytes))
        {
            cancellationToken.ThrowIfCancellationRequested();
            // One call per batch: its bodies are unreachable once it returns, not kept (in this loop's state) while the next
            // batch is fetched, so at most one batch of bodies is in memory. The yield ends this frame, which still refers to
            // the finished call (and through it to the batch's bodies) until it returns.
            await DrainBatchAsync(mailbox, processor, store, chunk, batchSize, quarantineInPlace, outcomes, cancellationToken).ConfigureAwait(false);
            await Task.Yield();
        }
        return outcomes;
    }

    // Fetches, prepares, claims, delivers and completes one batch.
    private static async Task DrainBatchAsync(ImapMailbox mailbox, MailProcessor processor, IStateStore store, PendingMail[] chunk,
        int batchSize, bool quarantineInPlace, List<ProcessOutcome> outcomes, CancellationToken cancellationToken)
    {
        var ready = new List<PreparedMail>(chunk.Length);
        var toFetch = new List<PendingMail>(chunk.Length);
        foreach (var pending in chunk)
        {
            var unfetched = quarantineInPlace && processor.IsTooLarge(pending)
                ? await processor.PrepareUnfetchedAsync(mailbox, pending, cancellationToken).ConfigureAwait(false)
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
        var bodies = toFetch.Count == 0 ? new Dictionary<MailKey, byte[]>() : await mailbox.FetchManyAsync([.. toFetch.Select(p => p.Key)], cancellationToken).ConfigureAwait(false);
        var fetched = Stopwatch.GetTimestamp();
        foreach (var prepared in await processor.PrepareBatchAsync(mailbox, [.. toFetch.Select(p => (p, bodies.GetValueOrDefault(p.Key)))],
            batchSize, cancellationToken).ConfigureAwait(false))
        {
            Sort(prepared, outcomes, ready);
        }
        if (ready.Count == 0)
        {
            return;
        }
        var prepareDone = Stopwatch.GetTimestamp();
        // Every mail is claimed before anything is delivered, whatever its route.
        var claims = await mailbox.ClaimBatchAsync([.. ready.Select(r => r.Delivery)], store, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < claims.Count; i++)
        {
            if (claims[i] is { } error)
            {
                outcomes.Add(await processor.DeliveryFailedAsync(mailbox, ready[i], error, cancellationToken).ConfigureAwait(false));
            }
        }
        ready = [.. ready.Where((_, i) => claims[i] is null)];
        var claimed = Stopwatch.GetTimestamp();
        // Folder routes move in batches; SMTP, webhook and journal routes go through the sink one by one.
        foreach (var other in ready.Where(r => processor.Sink is RoutingSink routes && !routes.IsDefault(r.Record!.Destination!)).ToList())
        {
            outcomes.Add(await processor.DeliverAsync(mailbox, other, cancellationToken).ConfigureAwait(false));
            ready.Remove(other);
        }
        if (ready.Count == 0)
        {
            return;
        }
        var results = await mailbox.DeliverBatchAsync([.. ready.Select(r => r.Delivery)], store, cancellationToken).ConfigureAwait(false);
        var moved = Stopwatch.GetTimestamp();
        var delivered = ready.Where((_, i) => results[i] is null).ToList();
        if (delivered.Count > 0)
        {
            outcomes.AddRange(await processor.CompleteAsync(mailbox, delivered, cancellationToken).ConfigureAwait(false));
        }
        for (var i = 0; i < ready.Count; i++)
        {
            if (results[i] is { } error)
            {
                outcomes.Add(await processor.DeliveryFailedAsync(mailbox, ready[i], error, cancellationToken).ConfigureAwait(false));
            }
        }
        processor.BatchTimed(mailbox.Mailbox, new BatchStages(chunk.Length, Stopwatch.GetElapsedTime(clock, fetched), Stopwatch.GetElapsedTime(fetched, prepareDone),
            Stopwatch.GetElapsedTime(prepareDone, claimed), Stopwatch.GetElapsedTime(claimed, moved), Stopwatch.GetElapsedTime(moved)));

        // Mail finished without delivery has its outcome; the rest is due a delivery.
        static void Sort(PreparedMail prepared, List<ProcessOutcome> outcomes, List<PreparedMail> ready)
        {
            if (prepared.Outcome is { } done)
            {
                outcomes.Add(done);
            }
            else
            {
                ready.Add(prepared);
            }
        }
    }
}
