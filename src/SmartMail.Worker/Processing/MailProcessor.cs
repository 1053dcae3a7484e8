using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SmartMail.Core;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Core.Privacy;
using SmartMail.Core.Routing;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;
using SmartMail.Worker.Telemetry;

namespace SmartMail.Worker.Processing;

/// <summary>
/// Source → extract → decide → deliver → record, for one mail at a time, by the exactly-once protocol:
/// each step is recorded durably before the next acts (<c>seen → decided → delivered → acknowledged</c>), so a
/// crash at any point resumes from the last recorded step; deliveries are idempotent on the decision id, and
/// the source is acknowledged only after the delivery is durable. A mail that keeps failing (or keeps crashing
/// the process) goes to quarantine after <see cref="SmartMailOptions.MaxAttempts"/> tries — never a retry loop.
/// A destination that is unavailable (<see cref="DeliveryUnavailableException"/>, a webhook's transient failure) is not
/// the mail's fault: its mail waits in the source, retried with backoff, without counting towards quarantine.
/// </summary>
public sealed partial class MailProcessor
{
    // Enums as their names (never numbers) in every decision record.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };
    private readonly IStateStore _store;
    private readonly MailLedger _ledger;
    private readonly Func<RoutingPolicy> _policy;
    private readonly MailExtractor _extractor;
    private readonly IMailSink _sink;
    private readonly SmartMailOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly WorkerMetrics _metrics;
    private readonly ExampleStore? _examples;
    private readonly Health.WorkerHealth? _health;
    private readonly LabelPrecisionMonitor? _precision;
    private readonly Threads.ThreadMemory? _threads;
    private readonly Privacy.IPrivacyStore? _privacy;
    private readonly Core.Privacy.KeyedHash? _privacyHash;
    // Per destination: failures in a row and the time before which it is not tried again (a circuit breaker).
    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset RetryAt)> _unavailable = new(StringComparer.Ordinal);

    /// <summary>Creates the processor.</summary>
    /// <param name="store">The ledger and audit trail.</param>
    /// <param name="policy">Returns the routing policy in force (it changes when a new model is loaded).</param>
    /// <param name="extractor">The extractor.</param>
    /// <param name="sink">Where mail is delivered.</param>
    /// <param name="options">Options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="metrics">The metrics.</param>
    /// <param name="examples">Where the text of decided mail is kept for the learning loop; none when <see langword="null"/>.</param>
    /// <param name="health">Told when deliveries to a destination wait and when they go through again; none when <see langword="null"/>.</param>
    /// <param name="precision">Counts automatic routes for each label's realised precision (and thresholds raised in service); none when <see langword="null"/>.</param>
    /// <param name="privacy">Where each decided mail's keyed hashes (CPR numbers, addresses, thread) are indexed for a person's requests; none when <see langword="null"/>.</param>
    public MailProcessor(IStateStore store, Func<RoutingPolicy> policy, MailExtractor extractor, IMailSink sink,
        SmartMailOptions options, TimeProvider time, ILogger logger, WorkerMetrics metrics, ExampleStore? examples = null,
        Health.WorkerHealth? health = null, LabelPrecisionMonitor? precision = null, Privacy.IPrivacyStore? privacy = null)
    {
        _privacy = privacy;
        _precision = precision;
        _health = health;
        _examples = options.Learning.StoreExamples ? examples : null;
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _ledger = store.Ledger;
        _policy = policy;
        _extractor = extractor;
        _sink = sink;
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _threads = options.FollowThreads ? store.Threads : null;
        _privacyHash = privacy is null ? null : Privacy.PrivacyKeyFile.Load(options.DataDirectory);
        if (options.AuditJsonLines)
        {
            // The ledger writes every audit row it commits to the file too, recovery rows included.
            store.MirrorAuditTo(Path.Combine(options.DataDirectory, "audit.jsonl"));
        }
    }

    /// <summary>Where this processor delivers.</summary>
    public IMailSink Sink => _sink;

    /// <summary>The stable decision id of a mail: the same mailbox and bytes always give the same id.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="fingerprint">The fingerprint.</param>
    /// <returns>An id such as <c>sm-3f2a…</c>.</returns>
    public static string DecisionIdFor(string mailbox, string fingerprint) =>
        "sm-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(mailbox + "\n" + fingerprint)))[..24];

    /// <summary>Logs (at Debug) where a batch's time went, stage by stage: what an operator or a benchmark reads to see which part is slow.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="stages">The batch's stage times.</param>
    private void BatchTimed(string mailbox, BatchStages stages) =>
        Log.BatchTimed(_logger, stages.Mails, mailbox, stages.Fetch.TotalMilliseconds, stages.Prepare.TotalMilliseconds, stages.Claim.TotalMilliseconds,
            stages.Deliver.TotalMilliseconds, stages.Complete.TotalMilliseconds);

    /// <summary>The mails of <paramref name="pending"/> that are due: all but those waiting for an unavailable destination.</summary>
    /// <param name="pending">Mails listed by a source.</param>
    /// <returns>The mails to handle now, in order.</returns>
    /// <exception cref="StateStoreException">The ledger cannot be read: stop taking mail.</exception>
    private IReadOnlyList<PendingMail> Due(IReadOnlyList<PendingMail> pending)
    {
        ArgumentNullException.ThrowIfNull(pending);
        if (pending.Count == 0)
        {
            return pending;
        }
        try
        {
            var waiting = _store.ListWaiting(pending[0].Key.Mailbox, _time.GetUtcNow());
            return waiting.Count == 0 ? pending : [.. pending.Where(p => !waiting.Contains(p.Key))];
        }
        catch (DbException ex)
        {
            throw StoreFailed(pending[0].Key, ex);
        }
    }

    /// <summary>
    /// The batches to handle <paramref name="due"/> in: mails a crash left unfinished first, in ever smaller groups
    /// (<see cref="CrashBisect"/>), then the rest in full batches.
    /// </summary>
    /// <param name="due">Due mails from <see cref="Due"/>, in listed order.</param>
    /// <param name="batchSize">Mails per batch.</param>
    /// <returns>The batches, in order.</returns>
    /// <exception cref="StateStoreException">The ledger cannot be read: stop taking mail.</exception>
    private IReadOnlyList<PendingMail[]> Batches(IReadOnlyList<PendingMail> due, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(due);
        if (due.Count == 0)
        {
            return [];
        }
        try
        {
            var suspects = 0;
            // The rows of every due mail in one query per 500 (not a read per mail: a round trip each on PostgreSQL).
            var rows = _store.GetMany([.. due.Select(p => p.Key)]);
            var batches = CrashBisect.Batches(due, p =>
            {
                var unfinished = CrashBisect.Unfinished(rows.GetValueOrDefault(p.Key));
                suspects += unfinished > 0 ? 1 : 0;
                return unfinished;
            }, batchSize);
            if (suspects > 0)
            {
                Log.CrashSuspects(_logger, due[0].Key.Mailbox, suspects, batches[0].Length);
            }
            return batches;
        }
        catch (DbException ex)
        {
            throw StoreFailed(due[0].Key, ex);
        }
    }

    /// <summary>Delivers one prepared mail through the sink and completes it (or handles the failure).</summary>
    /// <param name="source">Its source.</param>
    /// <param name="prepared">A mail from <see cref="PrepareAsync"/> that is due a delivery.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="StateStoreException">The ledger cannot record: stop taking mail.</exception>
    public async Task<ProcessOutcome> DeliverAsync(IMailSource source, PreparedMail prepared, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        var destination = prepared.Record!.Destination!;
        if (_unavailable.TryGetValue(destination, out var down) && down.RetryAt > _time.GetUtcNow())
        {
            // It failed moments ago: neither hammer it nor hold up the rest of the batch; the mail waits its turn.
            return Defer(prepared.Record, down.RetryAt, $"{destination} is unavailable");
        }
        using (var deliver = SmartMailTelemetry.StartStep(MailStep.Deliver, prepared.Span))
        {
            try
            {
                await _sink.DeliverAsync(prepared.Delivery, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or HttpRequestException)
            {
                SmartMailTelemetry.SetError(deliver, ex);
                return await DeliveryFailedAsync(source, prepared, ex, cancellationToken).ConfigureAwait(false);
            }
        }
        _unavailable.TryRemove(destination, out _);
        _health?.DeliveryResumed(destination);
        return (await CompleteAsync(source, [prepared], cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>
    /// Takes a mail up to the point of delivery: recorded as seen, decided and audited (or resumed from the ledger).
    /// Mail that needs no delivery (already delivered, a duplicate, gone) is finished here and has an <see cref="PreparedMail.Outcome"/>.
    /// </summary>
    /// <param name="source">Its source.</param>
    /// <param name="pending">The mail.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The mail ready to deliver, or its final outcome.</returns>
    /// <exception cref="StateStoreException">The ledger cannot record: stop taking mail.</exception>
    public Task<PreparedMail> PrepareAsync(IMailSource source, PendingMail pending, CancellationToken cancellationToken) =>
        PrepareAsync(source, pending, null, 1, cancellationToken);

    private async Task<PreparedMail> PrepareAsync(IMailSource source, PendingMail pending, byte[]? prefetched, int batchSize,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(pending);
        var started = Stopwatch.GetTimestamp();
        _metrics.Seen(source.Mailbox);
        try
        {
            var prepared = await PrepareCoreAsync(source, pending, prefetched, batchSize, cancellationToken).ConfigureAwait(false) with { Started = started };
            if (prepared.Outcome is { } outcome)
            {
                _metrics.Handled(source.Mailbox, outcome.ToString().ToLowerInvariant(), Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            return prepared;
        }
        catch (DbException ex)
        {
            throw StoreFailed(pending.Key, ex);
        }
    }

    /// <summary>
    /// Prepares a batch whose bodies were fetched together. Fresh mails take the fast path: their attempts are recorded in
    /// one transaction, they are extracted and decided in parallel, and the decisions commit in one transaction. Mails with
    /// history (an earlier attempt that did not finish, a duplicate, a resumed delivery) take the careful one-by-one path,
    /// so a mail that crashes the worker only ever counts attempts against itself.
    /// </summary>
    /// <param name="source">Their source.</param>
    /// <param name="batch">The mails with their bodies (<see langword="null"/> when gone).</param>
    /// <param name="batchSize">The configured batch size (<see cref="CrashBisect"/>: how many crashes it takes to get a mail alone).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>One prepared mail per input, in order (<see cref="PreparedMail.AfterEarlierCopy"/> for the same bytes met earlier in the batch).</returns>
    /// <exception cref="StateStoreException">The ledger cannot record: stop taking mail.</exception>
    public Task<IReadOnlyList<PreparedMail>> PrepareBatchAsync(IMailSource source, IReadOnlyList<(PendingMail Pending, byte[]? Raw)> batch,
        int batchSize, CancellationToken cancellationToken) => PrepareBatchAsync(source, batch, batchSize, null, cancellationToken);

    // PrepareBatchAsync, with the times the batch was fetched (each fresh mail's trace shows its fetch).
    private async Task<IReadOnlyList<PreparedMail>> PrepareBatchAsync(IMailSource source, IReadOnlyList<(PendingMail Pending, byte[]? Raw)> batch,
        int batchSize, (DateTime Started, DateTime Ended)? fetched, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(batch);
        var results = new PreparedMail?[batch.Count];
        var fresh = new List<(int Index, string Fingerprint, string DecisionId)>();
        try
        {
            // What the ledger knows of the batch, in two queries (not two per mail): which mails have rows, and which of the
            // new ones' bytes were delivered before.
            var rows = _store.GetMany([.. batch.Select(b => b.Pending.Key)]);
            var fingerprints = batch.Select(b => b.Raw is not null && !rows.ContainsKey(b.Pending.Key) ? MailExtractor.Fingerprint(b.Raw) : null).ToArray();
            var delivered = fingerprints.Select((f, i) => (Fingerprint: f, batch[i].Pending.Key.Mailbox))
                .Where(f => f.Fingerprint is not null)
                .GroupBy(f => f.Mailbox, StringComparer.Ordinal)
                .SelectMany(g => _store.FindDeliveredMany(g.Key, [.. g.Select(f => f.Fingerprint!)]).Select(d => (g.Key, d.Key)))
                .ToHashSet();
            for (var i = 0; i < batch.Count; i++)
            {
                var (pending, raw) = batch[i];
                if (fingerprints[i] is { } fingerprint)
                {
                    if (fresh.Any(f => f.Fingerprint == fingerprint))
                    {
                        // The same bytes twice in one batch: the drain hands this copy on once the first is handled.
                        results[i] = PreparedMail.AfterEarlierCopy;
                        continue;
                    }
                    if (!delivered.Contains((pending.Key.Mailbox, fingerprint)))
                    {
                        fresh.Add((i, fingerprint, DecisionIdFor(pending.Key.Mailbox, fingerprint)));
                        continue;
                    }
                }
                results[i] = await PrepareAsync(source, pending, raw, batchSize, cancellationToken).ConfigureAwait(false);
            }
            if (fresh.Count > 0)
            {
                var started = Stopwatch.GetTimestamp();
                _ledger.Begin([.. fresh.Select(f => (batch[f.Index].Pending.Key, f.Fingerprint, f.DecisionId))], _time.GetUtcNow());
                // Fresh mails had no row: each is now "seen" with one attempt, exactly as just written.
                var records = fresh.Select(f => new MailRecord(batch[f.Index].Pending.Key, f.Fingerprint, f.DecisionId, MailState.Seen, null, null, 1)).ToArray();
                var evaluated = new Evaluated[fresh.Count];
                var spans = fresh.Select(f => SmartMailTelemetry.StartMail(source.Mailbox, makeCurrent: false)).ToArray();
                if (fetched is { } fetch)
                {
                    foreach (var span in spans)
                    {
                        SmartMailTelemetry.RecordStep(MailStep.Fetch, span, fetch.Started, fetch.Ended);
                    }
                }
                // One extraction per core: each holds its decoded text and attachment (bounded by the extraction limits) while it runs.
                Parallel.For(0, fresh.Count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount }, j =>
                {
                    var (pending, raw) = batch[fresh[j].Index];
                    _metrics.Seen(source.Mailbox);
                    SmartMailTelemetry.SetMail(spans[j], fresh[j].DecisionId, fresh[j].Fingerprint);
                    evaluated[j] = Evaluate(records[j], raw!, IsTooLarge(pending), batchSize, spans[j]);
                });
                Commit([.. records.Zip(evaluated)]);
                for (var j = 0; j < fresh.Count; j++)
                {
                    var decided = records[j] with
                    {
                        State = MailState.Decided,
                        Destination = evaluated[j].Decision.Destination,
                        DecisionJson = evaluated[j].Decision.DecisionJson,
                    };
                    results[fresh[j].Index] = new PreparedMail(decided, batch[fresh[j].Index].Raw, null) { Started = started, Span = spans[j] };
                }
            }
            return [.. results.Select(r => r!)];
        }
        catch (DbException ex)
        {
            throw StoreFailed(batch[0].Pending.Key, ex);
        }
    }

    /// <summary>Finishes mails whose delivery succeeded: records the delivery (one transaction), acknowledges each in its source.</summary>
    /// <param name="source">Their source.</param>
    /// <param name="delivered">Mails prepared by <see cref="PrepareAsync"/> and delivered.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The outcome per mail, in order.</returns>
    /// <exception cref="StateStoreException">The ledger cannot record: stop taking mail.</exception>
    private async Task<IReadOnlyList<ProcessOutcome>> CompleteAsync(IMailSource source, List<PreparedMail> delivered,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(delivered);
        try
        {
            _ledger.Deliver(delivered.Select(d => d.Record!.Key), _time.GetUtcNow());
            var outcomes = new List<ProcessOutcome>(delivered.Count);
            foreach (var mail in delivered)
            {
                var record = mail.Record!;
                var outcome = OutcomeOf(record);
                if (outcome == ProcessOutcome.Routed)
                {
                    Log.Routed(_logger, record.Fingerprint, record.Destination!, "policy");
                }
                else if (outcome == ProcessOutcome.Manual)
                {
                    Log.ToManualTriage(_logger, record.Fingerprint, record.Destination!);
                }
                using (SmartMailTelemetry.StartStep(MailStep.Acknowledge, mail.Span))
                {
                    await source.AcknowledgeAsync(record.Key, cancellationToken).ConfigureAwait(false);
                }
                outcomes.Add(outcome);
                _metrics.Handled(source.Mailbox, outcome.ToString().ToLowerInvariant(), Stopwatch.GetElapsedTime(mail.Started).TotalMilliseconds);
                SmartMailTelemetry.Finish(mail.Span, outcome);
            }
            _ledger.Acknowledge(delivered.Select(d => d.Record!.Key), _time.GetUtcNow());
            return outcomes;
        }
        catch (DbException ex)
        {
            throw StoreFailed(delivered[0].Record!.Key, ex);
        }
    }

    /// <summary>Handles a failed delivery: gone (recorded, not retried), deferred for a later try, or quarantined after too many.</summary>
    /// <param name="source">The source.</param>
    /// <param name="mail">The mail.</param>
    /// <param name="error">What failed.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The outcome.</returns>
    /// <exception cref="StateStoreException">The ledger cannot record: stop taking mail.</exception>
    private async Task<ProcessOutcome> DeliveryFailedAsync(IMailSource source, PreparedMail mail, Exception error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mail);
        var outcome = await DeliveryFailedCoreAsync(source, mail, error, cancellationToken).ConfigureAwait(false);
        SmartMailTelemetry.Finish(mail.Span, outcome);
        return outcome;
    }

    private async Task<ProcessOutcome> DeliveryFailedCoreAsync(IMailSource source, PreparedMail mail, Exception error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mail);
        ArgumentNullException.ThrowIfNull(error);
        var record = mail.Record!;
        var destination = record.Destination!;
        _metrics.DeliveryFailed(record.Key.Mailbox, destination, error);
        SmartMailTelemetry.SetError(mail.Span ?? SmartMailTelemetry.CurrentMail, error);
        try
        {
            if (error is MailClaimedException)
            {
                // Another instance on this mailbox holds the claim and delivers it: record that, leave it alone. In a shared
                // ledger that claim is recorded in this very row: it stays as it is, for whoever holds the lease to continue.
                Log.Claimed(_logger, record.Key.Mailbox, record.Key.Uid);
                if (_store.SharedByInstances)
                {
                    return ProcessOutcome.Claimed;
                }
                _ledger.LoseClaim(record.Key, Audit(record, "claimed", null, destination, "another SmartMail instance claimed the mail first", "claimed"));
                return ProcessOutcome.Claimed;
            }
            if (error is MailGoneException)
            {
                // Another client moved or deleted it first: record that, do not retry. It was not delivered: should it come
                // back (a person drags it back), it is routed then.
                Log.Gone(_logger, record.Key.Mailbox, record.Key.Uid);
                _ledger.Leave(record.Key, Audit(record, "gone", null, destination, "the mail left the source before delivery (another client took it)", "gone"));
                return ProcessOutcome.Gone;
            }
            if (IsUnavailable(error))
            {
                // The destination is down, not the mail: it stays in its source and is retried with backoff, for as long as
                // the outage lasts, without counting towards quarantine.
                var failures = _unavailable.TryGetValue(destination, out var before) ? before.Failures + 1 : 1;
                var retryAt = _time.GetUtcNow() + RetryBackoff(failures);
                _unavailable[destination] = (failures, retryAt);
                _health?.DeliveryWaiting(destination, failures, retryAt, error.GetType().Name);
                Log.DeliveryDeferred(_logger, destination, failures, record.Fingerprint, retryAt, error);
                return Defer(record, retryAt, $"delivery to {destination} failed: {error.GetType().Name}");
            }
            Log.DeliveryFailed(_logger, record.Fingerprint, destination, record.Attempts, error);
            _ledger.Fail(record.Key, $"delivery to {destination} failed: {error.GetType().Name}", _time.GetUtcNow());
            if (record.Attempts < _options.MaxAttempts || destination == _options.QuarantineDestination)
            {
                return ProcessOutcome.Deferred;
            }
            var quarantined = mail with { Record = Quarantine(record, $"delivery to {destination} failed {record.Attempts} times") };
            try
            {
                await _sink.DeliverAsync(quarantined.Delivery, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or HttpRequestException)
            {
                return ProcessOutcome.Deferred; // even quarantine is unreachable: the mail stays in the source
            }
            return (await CompleteAsync(source, [quarantined], cancellationToken).ConfigureAwait(false))[0];
        }
        catch (DbException ex)
        {
            throw StoreFailed(record.Key, ex);
        }
    }

    private ProcessOutcome Defer(MailRecord record, DateTimeOffset retryAt, string error)
    {
        try
        {
            _ledger.Defer(record.Key, error, retryAt, _time.GetUtcNow());
        }
        catch (DbException ex)
        {
            throw StoreFailed(record.Key, ex);
        }
        return ProcessOutcome.Deferred;
    }

    // Unavailable: the relay or case system could not be reached or answered "try later" (a webhook's transient failures
    // arrive as HttpRequestException after its own retries). Refusals of this mail (4xx webhook, 5xx SMTP) are not.
    private static bool IsUnavailable(Exception error) => error is DeliveryUnavailableException or HttpRequestException;

    private TimeSpan RetryBackoff(int failures)
    {
        var wait = _options.DeliveryRetryBackoff * Math.Pow(2, Math.Min(failures - 1, 20));
        return wait < _options.DeliveryRetryMaxBackoff ? wait : _options.DeliveryRetryMaxBackoff;
    }

    /// <summary>Whether <paramref name="pending"/> is over <see cref="SmartMailOptions.MaxMessageMegabytes"/> by its listed size.</summary>
    /// <param name="pending">The mail.</param>
    /// <returns><see langword="true"/> when it goes to quarantine for its size.</returns>
    private bool IsTooLarge(PendingMail pending) => pending?.Size > _options.MaxMessageMegabytes * 1024L * 1024L;

    /// <summary>
    /// Takes a mail that is too large (<see cref="IsTooLarge"/>) to the point of delivery to quarantine without fetching its
    /// body: it is recorded under a fingerprint of its key and listed size (its bytes were never read), decided to quarantine
    /// and audited. For a source whose sink moves mail in place (an IMAP folder): the delivery carries no bytes.
    /// </summary>
    /// <param name="source">Its source.</param>
    /// <param name="pending">The mail.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The mail ready to deliver, its final outcome, or <see langword="null"/> when an earlier decision sends it elsewhere
    /// (then it takes the ordinary path).</returns>
    /// <exception cref="StateStoreException">The ledger cannot record: stop taking mail.</exception>
    private async Task<PreparedMail?> PrepareUnfetchedAsync(IMailSource source, PendingMail pending, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(pending);
        var key = pending.Key;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var record = _store.Get(key);
            if (record is { IsDelivered: true })
            {
                return PreparedMail.Done(await AcknowledgeAsync(source, record, OutcomeOf(record), cancellationToken).ConfigureAwait(false));
            }
            if (record is { State: MailState.Decided } && record.Destination != _options.QuarantineDestination)
            {
                return null;
            }
            _metrics.Seen(source.Mailbox);
            var fingerprint = record is { State: MailState.Seen or MailState.Decided } ? record.Fingerprint
                : MailExtractor.Fingerprint(Encoding.UTF8.GetBytes($"unfetched\n{key.Mailbox}\n{key.Folder}\n{key.UidValidity}\n{key.Uid}\n{pending.Size}"));
            _ledger.Begin([(key, fingerprint, record?.DecisionId ?? DecisionIdFor(key.Mailbox, fingerprint))], _time.GetUtcNow());
            record = _store.Get(key)!; // just written
            if (record.State < MailState.Decided)
            {
                Log.TooLargeUnfetched(_logger, record.Fingerprint, pending.Size);
                record = Quarantine(record, $"larger than {_options.MaxMessageMegabytes} MB by the size the server lists ({pending.Size} bytes): " +
                    "sent to quarantine without fetching its body");
            }
            return new PreparedMail(record, [], null) { Started = started };
        }
        catch (DbException ex)
        {
            throw StoreFailed(key, ex);
        }
    }

    // A database error's number for the log (SQLite's result code; another provider's own code), never its message (it may quote data).
    private static int ErrorCode(Exception ex) => (ex is StateStoreException { InnerException: { } inner } ? inner : ex) switch
    {
        Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteErrorCode,
        DbException db => db.ErrorCode,
        _ => 0,
    };

    private StateStoreException StoreFailed(MailKey key, Exception ex)
    {
        // Only the ledger speaks SQLite: a step that cannot be recorded must not be acted on (fail closed).
        Log.StateStoreFailed(_logger, ex);
        return new StateStoreException($"The state store cannot record mail {key.Uid} of {key.Mailbox}: {ex.Message}", ex);
    }

    private async Task<PreparedMail> PrepareCoreAsync(IMailSource source, PendingMail pending, byte[]? prefetched, int batchSize,
        CancellationToken cancellationToken)
    {
        var key = pending.Key;
        var record = _store.Get(key);
        if (record is { IsDelivered: true })
        {
            // Delivered before a crash, not yet acknowledged: finish the protocol, do not deliver again.
            return PreparedMail.Done(await AcknowledgeAsync(source, record, OutcomeOf(record), cancellationToken).ConfigureAwait(false));
        }

        var tooLarge = IsTooLarge(pending);
        byte[]? raw;
        using (SmartMailTelemetry.StartStep(MailStep.Fetch))
        {
            raw = prefetched ?? await source.FetchAsync(key, cancellationToken).ConfigureAwait(false);
        }
        if (raw is null)
        {
            Log.Gone(_logger, key.Mailbox, key.Uid);
            return PreparedMail.Done(ProcessOutcome.Gone);
        }
        var fingerprint = MailExtractor.Fingerprint(raw);
        var decisionId = DecisionIdFor(key.Mailbox, fingerprint);
        SmartMailTelemetry.SetMail(SmartMailTelemetry.CurrentMail, decisionId, fingerprint);

        if (record is null or { State: MailState.Gone or MailState.ClaimedElsewhere } && _store.FindDelivered(key.Mailbox, fingerprint) is { } earlier)
        {
            if (record is not null)
            {
                _ledger.Begin([(key, fingerprint, decisionId)], _time.GetUtcNow()); // back after it left: reopened, then a duplicate
            }
            // The same bytes were really delivered before under another key (UIDVALIDITY change after delivery, a re-appended
            // copy): recorded, not re-routed. Mail that left undelivered is no such earlier delivery.
            var dup = new MailRecord(key, fingerprint, decisionId, MailState.Seen, null, null, 1);
            _ledger.Duplicate(key, fingerprint, decisionId, earlier,
                Audit(dup, "duplicate", null, Place(earlier.Destination ?? ""), $"already delivered as {earlier.DecisionId}", "duplicate"));
            _metrics.Decided(key.Mailbox, "duplicate", earlier.Destination ?? "", null, null);
            Log.Duplicate(_logger, fingerprint, earlier.DecisionId);
            return PreparedMail.Done(await AcknowledgeAsync(source, _store.Get(key)!, ProcessOutcome.Duplicate, cancellationToken).ConfigureAwait(false));
        }

        _ledger.Begin([(key, fingerprint, decisionId)], _time.GetUtcNow());
        record = _store.Get(key)!; // just written
        if (record.State < MailState.Decided)
        {
            record = Decide(record, raw, tooLarge, batchSize);
        }
        else if (CrashBisect.IsPoison(record.Attempts, _options.MaxAttempts, batchSize) && record.Destination != _options.QuarantineDestination)
        {
            // Decided, but every delivery since died with the process, the last ones with this mail alone: a mail that crashes
            // its sink is poison too. The delivery may have got part-way, so the quarantine record says where to look.
            record = Quarantine(record, $"delivery to {record.Destination} was started {record.Attempts - 1} times without finishing, " +
                $"{CrashBisect.CrashesAlone(record.Attempts, batchSize)} of them alone (the mail crashes the worker); check {record.Destination} for a copy");
        }
        return new PreparedMail(record, raw, null);
    }

    private MailRecord Decide(MailRecord record, byte[] raw, bool tooLarge, int batchSize)
    {
        Commit([(record, Evaluate(record, raw, tooLarge, batchSize))]);
        return _store.Get(record.Key)!;
    }

    private MailRecord Quarantine(MailRecord record, string reason)
    {
        Commit([(record, QuarantineDecision(record, reason))]);
        return _store.Get(record.Key)!;
    }

    // Pure: extraction and the routing decision, no ledger writes. Safe to run for many mails in parallel.
    private Evaluated Evaluate(MailRecord record, byte[] raw, bool tooLarge, int batchSize, System.Diagnostics.Activity? mail = null)
    {
        if (CrashBisect.IsPoison(record.Attempts, _options.MaxAttempts, batchSize))
        {
            // Retried in ever smaller groups after each crash (CrashBisect), it crashed the worker while alone, again and again.
            return QuarantineDecision(record, $"processing was started {record.Attempts - 1} times without finishing, " +
                $"{CrashBisect.CrashesAlone(record.Attempts, batchSize)} of them alone (the mail crashes the worker)");
        }
        if (tooLarge)
        {
            return QuarantineDecision(record, $"larger than {_options.MaxMessageMegabytes} MB");
        }
        MailDocument document;
        RoutingDecision decision;
        try
        {
            using (SmartMailTelemetry.StartStep(MailStep.Extract, mail))
            {
                CrashTestHook.BeforeExtract(raw);
                document = _extractor.Extract(raw);
            }
            if (document.IsUnparseable)
            {
                // Not poison: a person reads it in manual triage, the original bytes unchanged.
                return ManualDecision(record, "not parseable as MIME: sent to manual triage with the original bytes unchanged");
            }
            using (SmartMailTelemetry.StartStep(MailStep.Decide, mail))
            {
                decision = _policy().Decide(document, _threads?.For(record.Key.Mailbox));
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Extraction is built never to throw; a mail that still makes it throw is one SmartMail cannot read: a person
            // reads it. (A mail that kills or wedges the worker never gets here: the attempt count quarantines it.)
            return ManualDecision(record, $"extraction or decision failed ({ex.GetType().Name}): sent to manual triage with the original bytes unchanged");
        }

        var (destination, kle) = decision.Label is { } label
            ? Route(label)
            : (_options.ManualTriageDestination, (string?)null);
        var outcome = decision.Source == DecisionSource.Manual ? "manual" : "routed";
        SmartMailTelemetry.SetDecision(mail ?? SmartMailTelemetry.CurrentMail, decision.Source.ToString().ToLowerInvariant(), destination,
            decision.ModelVersion, decision.Top.Count > 0 ? decision.Confidence : null);
        // A routed mail's Message-ID is remembered with its decision (one transaction), so that a reply follows it.
        var thread = decision.Label is { } routedLabel && !document.HasSyntheticId
            ? _threads?.Routed(record.Key.Mailbox, document.Id, routedLabel, destination, record.DecisionId, record.Fingerprint, _time.GetUtcNow())
            : null;
        return new Evaluated(
            new DecisionToRecord(record.Key, destination, DecisionJson(record, decision, destination, kle, document),
                Audit(record, decision.Source.ToString().ToLowerInvariant(), decision, Place(destination), decision.Reason, outcome))
            {
                // The sender as lists show it (b…@example.dk): the address itself is in the mail, and in the privacy index as a keyed hash.
                Summary = new SummaryToRecord(document.Subject, document.From.Count > 0 ? Redactor.MaskAddress(document.From[0]) : "", document.Date,
                    decision.Source.ToString().ToLowerInvariant(), decision.Label, decision.Top.Count > 0 ? decision.Confidence : null,
                    decision.ModelVersion, SummaryOutcome(destination)),
                Thread = thread,
            },
            decision.Top.Count > 0 ? decision.Confidence : null,
            new NewExample(record.Key.Mailbox, record.Fingerprint, record.DecisionId, decision.Label, decision.ModelVersion,
                new TextInput(document.Subject, document.Body), document.Date))
        {
            Keys = _privacyHash is null ? null : Privacy.MailKeys.Of(_privacyHash, document),
        };
    }

    private Evaluated QuarantineDecision(MailRecord record, string reason) =>
        Undecided(record, _options.QuarantineDestination, "quarantine", reason, "quarantined");

    private Evaluated ManualDecision(MailRecord record, string reason) =>
        Undecided(record, _options.ManualTriageDestination, "manual", reason, "manual");

    // A decision made without the model: quarantine (poison) or manual triage (a mail SmartMail cannot read).
    private Evaluated Undecided(MailRecord record, string destination, string source, string reason, string outcome)
    {
        var json = new DecisionRecord
        {
            DecisionId = record.DecisionId,
            Mailbox = record.Key.Mailbox,
            Fingerprint = record.Fingerprint,
            Source = source,
            Destination = destination,
            Reason = reason,
            DecidedUtc = _time.GetUtcNow(),
        }.ToJson();
        return new Evaluated(new DecisionToRecord(record.Key, destination, json,
            Audit(record, source, null, Place(destination), reason, outcome))
        {
            Summary = new SummaryToRecord("", "", null, source, null, null, null, SummaryOutcome(destination)),
        }, null, null);
    }

    // Where the web app lists the mail once it is delivered.
    private string SummaryOutcome(string destination) =>
        destination == _options.QuarantineDestination ? "quarantined" : destination == _options.ManualTriageDestination ? "triage" : "routed";

    // The name the destination has where the mail lands (the IMAP folder, the journal directory), for the audit trail.
    private string Place(string destination) => _sink.PlaceOf(destination);

    // The decisions and their audit rows commit together (one transaction); the ledger writes the JSON-lines copy.
    private void Commit(IReadOnlyList<(MailRecord Record, Evaluated Evaluated)> decisions)
    {
        _ledger.Decide([.. decisions.Select(d => d.Evaluated.Decision)]);
        SaveExamples([.. decisions.Select(d => d.Evaluated.Example).OfType<NewExample>()]);
        IndexForPrivacy(decisions);
        CountRoutes([.. decisions.Select(d => d.Evaluated.Decision.Audit)]);
        foreach (var (record, evaluated) in decisions)
        {
            _metrics.Decided(record.Key.Mailbox, evaluated.Decision.Audit.Source, evaluated.Decision.Destination, evaluated.Decision.Audit.ModelVersion, evaluated.Confidence);
            if (evaluated.Decision.Destination == _options.QuarantineDestination)
            {
                Log.Quarantined(_logger, record.Fingerprint, evaluated.Decision.Audit.Reason);
            }
        }
    }

    private sealed record Evaluated(DecisionToRecord Decision, float? Confidence, NewExample? Example)
    {
        // What a person's request finds the mail by (keyed hashes), when the privacy index is on.
        public IReadOnlyList<Privacy.PersonKey>? Keys { get; init; }
    }

    // The privacy index is derived data too: failing to write it is logged; a later find reads the journal instead.
    private void IndexForPrivacy(IReadOnlyList<(MailRecord Record, Evaluated Evaluated)> decisions)
    {
        if (_privacy is null)
        {
            return;
        }
        try
        {
            _privacy.Index([.. decisions.Where(d => d.Evaluated.Keys is not null).Select(d => new Privacy.IndexedMail(
                new Privacy.MailRef(d.Record.Key.Mailbox, d.Record.Fingerprint, d.Record.DecisionId), d.Evaluated.Keys!, _time.GetUtcNow()))]);
        }
        catch (Exception ex) when (ex is DbException or StateStoreException)
        {
            NotIndexed(_logger, decisions.Count, ErrorCode(ex), null);
        }
    }

    private static readonly Action<ILogger, int, int, Exception?> NotIndexed = LoggerMessage.Define<int, int>(
        LogLevel.Warning, new EventId(SmartMailEventId.PrivacyNotIndexed, nameof(NotIndexed)),
        "{Count} decided mails were not indexed for privacy requests (SQLite error {Code}); routing goes on, a find reads the journal");

    // Training text is derived data: failing to keep it is logged, never a reason to stop routing.
    private void SaveExamples(IReadOnlyCollection<NewExample> examples)
    {
        if (_examples is null || examples.Count == 0)
        {
            return;
        }
        try
        {
            _examples.SaveDecided(examples, _time.GetUtcNow());
        }
        catch (Exception ex) when (ex is DbException or StateStoreException)
        {
            Log.ExamplesNotKept(_logger, examples.Count, ErrorCode(ex));
        }
    }

    // Realised precision is derived data too: failing to count is logged, never a reason to stop routing.
    private void CountRoutes(IReadOnlyList<AuditEntry> decisions)
    {
        try
        {
            _precision?.Routed(decisions);
        }
        catch (Exception ex) when (ex is DbException or StateStoreException)
        {
            Log.RoutesNotCounted(_logger, decisions.Count, ErrorCode(ex));
        }
    }

    private async Task<ProcessOutcome> AcknowledgeAsync(IMailSource source, MailRecord record, ProcessOutcome outcome,
        CancellationToken cancellationToken)
    {
        await source.AcknowledgeAsync(record.Key, cancellationToken).ConfigureAwait(false);
        _ledger.Acknowledge([record.Key], _time.GetUtcNow());
        return outcome;
    }

    private ProcessOutcome OutcomeOf(MailRecord record) =>
        record.Destination == _options.QuarantineDestination ? ProcessOutcome.Quarantined
        : record.Destination == _options.ManualTriageDestination ? ProcessOutcome.Manual
        : ProcessOutcome.Routed;

    private (string Destination, string? Kle) Route(string label) =>
        _options.Routes.TryGetValue(label, out var route)
            ? (route.Destination ?? label, route.Kle)
            : (label, null);

    private string DecisionJson(MailRecord record, RoutingDecision decision, string destination, string? kle, MailDocument document) =>
        new DecisionRecord
        {
            DecisionId = record.DecisionId,
            Mailbox = record.Key.Mailbox,
            Fingerprint = record.Fingerprint,
            // A sender can put anything in a Message-ID, a CPR number too (seen in tests: <010190-1234@…>).
            MessageId = document.HasSyntheticId ? null : Cpr.Redact(document.Id),
            Source = decision.Source.ToString().ToLowerInvariant(),
            Label = decision.Label,
            Kle = kle,
            Confidence = decision.Top.Count > 0 ? decision.Confidence : null,
            Top = decision.Top,
            Threshold = decision.Threshold,
            ModelVersion = decision.ModelVersion,
            Rule = decision.Rule,
            ParentDecisionId = decision.ParentDecisionId,
            AttachmentTerms = decision.AttachmentTerms.Count > 0 ? [.. decision.AttachmentTerms.Select(Redactor.Redact)] : null,
            AttachmentFiles = decision.AttachmentFiles.Count > 0 ? [.. decision.AttachmentFiles.Select(Redactor.Redact)] : null,
            Reason = Redactor.Redact(decision.Reason),
            Destination = destination,
            DecidedUtc = _time.GetUtcNow(),
        }.ToJson();

    private AuditEntry Audit(MailRecord record, string source, RoutingDecision? decision, string destination, string reason, string outcome)
    {
        var entry = new AuditEntry
        {
            Time = _time.GetUtcNow(),
            DecisionId = record.DecisionId,
            Fingerprint = record.Fingerprint,
            Mailbox = record.Key.Mailbox,
            Source = source,
            Label = decision?.Label,
            Confidence = decision is { Top.Count: > 0 } ? decision.Confidence : null,
            TopJson = decision is { Top.Count: > 0 } ? JsonSerializer.Serialize(decision.Top, Json) : null,
            Threshold = decision?.Threshold,
            ModelVersion = decision?.ModelVersion,
            Rule = decision?.Rule,
            Reason = Redactor.Redact(reason),
            Destination = destination,
            Outcome = outcome,
        };
        return entry;
    }

}

/// <summary>Where one batch's time went: fetching the bodies, preparing (ledger, extraction, decision), claiming, delivering and completing.</summary>
/// <param name="Mails">Mails in the batch.</param>
/// <param name="Fetch">Fetching their bodies.</param>
/// <param name="Prepare">Recording, extracting and deciding them.</param>
/// <param name="Claim">Claiming them in the source.</param>
/// <param name="Deliver">Delivering them.</param>
/// <param name="Complete">Recording the deliveries and acknowledging them in the source.</param>
public readonly record struct BatchStages(int Mails, TimeSpan Fetch, TimeSpan Prepare, TimeSpan Claim, TimeSpan Deliver, TimeSpan Complete);
