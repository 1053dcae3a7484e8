using System.Collections.Frozen;
using System.Data.Common;

namespace SmartMail.Worker.State;

/// <summary>
/// The mail's life as one state machine: every legal <see cref="MailTransition"/>, the states it leaves and enters, what it
/// records and what it audits. Each call checks the current state of every mail it touches inside the database transaction
/// that writes the step and its audit rows (so a step and its audit commit together or not at all), and then appends the
/// same audit rows to <c>audit.jsonl</c> when the store mirrors its audit trail there. An illegal step throws
/// <see cref="IllegalTransitionException"/> and writes nothing. The single-mail path, the batch path, the IMAP claims and
/// the reconciler all write through here; nothing else writes a mail row.
/// </summary>
public sealed class MailLedger
{
    /// <summary>
    /// For each transition: the states it may start from (<see langword="null"/>: no row yet) and the state it ends in
    /// (<see langword="null"/>: unchanged). A mail's transitions go between <see cref="MailState"/>s, a web action's between
    /// <see cref="WebActionStep"/>s.
    /// </summary>
    public static readonly FrozenDictionary<MailTransition, (Enum?[] From, Enum? To)> Table =
        new Dictionary<MailTransition, (Enum?[] From, Enum? To)>
        {
            [MailTransition.Begin] = ([null, MailState.Seen, MailState.Decided], null), // keeps the step (Seen when new)
            [MailTransition.Reopen] = ([MailState.Gone, MailState.ClaimedElsewhere], MailState.Seen),
            [MailTransition.Decide] = ([MailState.Seen, MailState.Decided], MailState.Decided),
            [MailTransition.Claim] = ([MailState.Decided], MailState.Decided),
            [MailTransition.Defer] = ([MailState.Decided], MailState.Decided),
            [MailTransition.Fail] = ([MailState.Decided], MailState.Decided),
            [MailTransition.Deliver] = ([MailState.Decided], MailState.Delivered),
            [MailTransition.Acknowledge] = ([MailState.Delivered], MailState.Acknowledged),
            [MailTransition.Duplicate] = ([null, MailState.Seen], MailState.Delivered),
            [MailTransition.Leave] = ([MailState.Seen, MailState.Decided], MailState.Gone),
            [MailTransition.LoseClaim] = ([MailState.Seen, MailState.Decided], MailState.ClaimedElsewhere),
            [MailTransition.Recover] = ([MailState.Decided, MailState.Delivered], MailState.Acknowledged),
            [MailTransition.Correct] = ([null, MailState.Decided, MailState.Delivered, MailState.Acknowledged], null),
            [MailTransition.RequestAction] = ([null, WebActionStep.Done, WebActionStep.Failed], WebActionStep.Intent),
            [MailTransition.MoveAction] = ([WebActionStep.Intent], WebActionStep.Moved),
            [MailTransition.FailAction] = ([WebActionStep.Intent, WebActionStep.Moved], WebActionStep.Failed),
            [MailTransition.CompleteAction] = ([WebActionStep.Moved], WebActionStep.Done),
        }.ToFrozenDictionary();

    private readonly StateStore _store;

    internal MailLedger(StateStore store) => _store = store;

    /// <summary>Whether <paramref name="transition"/> may start from <paramref name="from"/>.</summary>
    /// <param name="transition">The transition.</param>
    /// <param name="from">The current state; <see langword="null"/> when the mail has no row.</param>
    /// <returns><see langword="true"/> when legal.</returns>
    public static bool IsLegal(MailTransition transition, MailState? from) => Table[transition].From.Contains(from);

    /// <summary>Whether the web-action <paramref name="transition"/> may start from <paramref name="from"/>.</summary>
    /// <param name="transition">The transition.</param>
    /// <param name="from">The action's current step; <see langword="null"/> when it has no row.</param>
    /// <returns><see langword="true"/> when legal.</returns>
    public static bool IsLegal(MailTransition transition, WebActionStep? from) => Table[transition].From.Contains(from);

    /// <summary>
    /// <see cref="MailTransition.Begin"/> for each mail (one transaction): inserted as seen, or one more attempt counted. A mail
    /// whose row says it left undelivered (gone, or claimed by another instance) and that is back takes
    /// <see cref="MailTransition.Reopen"/> instead: seen again with one attempt, audited <c>reopened</c>.
    /// </summary>
    /// <param name="mails">Key, fingerprint and decision id of each.</param>
    /// <param name="now">The time.</param>
    /// <exception cref="IllegalTransitionException">A mail was delivered already.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void Begin(IReadOnlyList<(MailKey Key, string Fingerprint, string DecisionId)> mails, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(mails);
        _store.Transact((tx, audit) =>
        {
            var states = _store.StatesOf(tx, [.. mails.Select(m => m.Key)]);
            var inserts = new List<(MailKey, string, string)>(mails.Count);
            foreach (var (key, fingerprint, decisionId) in mails)
            {
                MailState? from = states.TryGetValue(key, out var state) ? state : null;
                if (from is MailState.Gone or MailState.ClaimedElsewhere)
                {
                    Check(MailTransition.Reopen, key, from);
                    _store.Update(tx, key, "state=0, attempts=1, fingerprint=@fp, decision_id=@d, destination=NULL, decision_json=NULL, " +
                        "error=NULL, marker=NULL, retry_utc=NULL, updated_utc=@t", ("@fp", fingerprint), ("@d", decisionId), ("@t", Time(now)));
                    audit.Add(Row(key, fingerprint, decisionId, now, "reopened", string.Empty,
                        $"back in the source after it left undelivered ({from})", "reopened"));
                    continue;
                }
                Check(MailTransition.Begin, key, from);
                inserts.Add((key, fingerprint, decisionId));
            }
            _store.InsertAll(tx, inserts, MailState.Seen, now); // one set statement on PostgreSQL
        }, batched: true);
    }

    /// <summary><see cref="MailTransition.Decide"/>: records each decision and its audit row (one transaction for the batch).</summary>
    /// <param name="decisions">The decisions.</param>
    /// <exception cref="IllegalTransitionException">A mail is not seen or decided.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void Decide(IReadOnlyList<DecisionToRecord> decisions)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        _store.Transact((tx, audit) =>
        {
            // One statement per table for the batch where the store writes sets (PostgreSQL): the rows touch different mails.
            _store.UpdateEachIn(tx, [.. decisions.Select(d => (d.Key, new (string Name, object? Value)[] {
                    ("@dest", d.Destination), ("@j", d.DecisionJson), ("@t", Time(d.Audit.Time)) }))],
                FromStates[MailTransition.Decide], "state=1, destination=@dest, decision_json=@j, error=NULL, updated_utc=@t",
                () => IllegalStep(tx, MailTransition.Decide, [.. decisions.Select(d => d.Key)]));
            _store.WriteSummaries(tx, [.. decisions.Where(d => d.Summary is not null).Select(d => (d, d.Summary!))]);
            foreach (var d in decisions)
            {
                if (d.Thread is { } thread)
                {
                    _store.RememberThread(tx, thread); // with the decision: a reply finds it once the mail is delivered
                }
                audit.Add(d.Audit);
            }
        }, batched: true);
    }

    /// <summary><see cref="MailTransition.Claim"/>: records, in one transaction, the marker keyword about to be set on each mail.</summary>
    /// <param name="markers">Each mail with its marker.</param>
    /// <exception cref="IllegalTransitionException">A mail is not decided.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void Claim(IEnumerable<(MailKey Key, string Marker)> markers)
    {
        ArgumentNullException.ThrowIfNull(markers);
        var list = markers.ToList();
        if (list.Count == 0)
        {
            return;
        }
        _store.Transact((tx, _) =>
        {
            foreach (var group in list.GroupBy(m => m.Marker, StringComparer.Ordinal))
            {
                StepAll(tx, MailTransition.Claim, [.. group.Select(m => m.Key)], "marker=@k", ("@k", group.Key));
            }
        }, batched: true);
    }

    /// <summary>
    /// <see cref="MailTransition.Defer"/>: the destination was unavailable. Records the error and the time before which the mail is
    /// not tried again, and gives the attempt back (an outage is not the mail's fault and must not count towards quarantine).
    /// </summary>
    /// <param name="key">The mail.</param>
    /// <param name="error">What went wrong (no personal data).</param>
    /// <param name="retryAt">Not tried again before this time.</param>
    /// <param name="now">The time.</param>
    /// <exception cref="IllegalTransitionException">The mail is not decided.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void Defer(MailKey key, string error, DateTimeOffset retryAt, DateTimeOffset now) =>
        _store.Transact((tx, _) =>
        {
            Step(tx, MailTransition.Defer, key, "error=@e, retry_utc=@r, attempts=CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_utc=@t",
                ("@e", error), ("@r", Time(retryAt)), ("@t", Time(now)));
        });

    /// <summary><see cref="MailTransition.Fail"/>: a delivery of this mail failed; records the error (no personal data).</summary>
    /// <param name="key">The mail.</param>
    /// <param name="error">What went wrong.</param>
    /// <param name="now">The time.</param>
    /// <exception cref="IllegalTransitionException">The mail is not decided.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void Fail(MailKey key, string error, DateTimeOffset now) =>
        _store.Transact((tx, _) =>
        {
            Step(tx, MailTransition.Fail, key, "error=@e, updated_utc=@t", ("@e", error), ("@t", Time(now)));
        });

    /// <summary><see cref="MailTransition.Deliver"/>: the sink confirmed each delivery (one transaction).</summary>
    /// <param name="keys">The mails.</param>
    /// <param name="now">The time.</param>
    /// <exception cref="IllegalTransitionException">A mail is not decided.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void Deliver(IEnumerable<MailKey> keys, DateTimeOffset now) => Advance(MailTransition.Deliver, keys, now);

    /// <summary><see cref="MailTransition.Acknowledge"/>: each source gave its delivered mail up (one transaction).</summary>
    /// <param name="keys">The mails.</param>
    /// <param name="now">The time.</param>
    /// <exception cref="IllegalTransitionException">A mail is not delivered.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void Acknowledge(IEnumerable<MailKey> keys, DateTimeOffset now) => Advance(MailTransition.Acknowledge, keys, now);

    /// <summary>
    /// <see cref="MailTransition.Duplicate"/>: the same bytes were delivered before under another key (<paramref name="earlier"/>,
    /// which must be delivered). The mail is recorded as delivered there, with its audit row, and only needs acknowledging.
    /// </summary>
    /// <param name="key">The mail.</param>
    /// <param name="fingerprint">Its fingerprint.</param>
    /// <param name="decisionId">Its decision id.</param>
    /// <param name="earlier">The earlier, delivered mail.</param>
    /// <param name="audit">The audit row.</param>
    /// <exception cref="IllegalTransitionException">The mail is past seen, or <paramref name="earlier"/> was never delivered.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void Duplicate(MailKey key, string fingerprint, string decisionId, MailRecord earlier, AuditEntry audit)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        ArgumentNullException.ThrowIfNull(audit);
        _store.Transact((tx, rows) =>
        {
            if (_store.StateOf(tx, earlier.Key) is not (MailState.Delivered or MailState.Acknowledged))
            {
                throw new IllegalTransitionException($"Mail {key.Uid} of {key.Mailbox} cannot be a duplicate of {earlier.DecisionId}: that one was never delivered.");
            }
            Check(MailTransition.Duplicate, key, _store.StateOf(tx, key));
            _store.Insert(tx, key, fingerprint, decisionId, MailState.Seen, audit.Time);
            _store.Update(tx, key, "state=2, destination=@dest, decision_json=@j, updated_utc=@t",
                ("@dest", earlier.Destination), ("@j", earlier.DecisionJson ?? "{}"), ("@t", Time(audit.Time)));
            rows.Add(audit);
        });
    }

    /// <summary><see cref="MailTransition.Leave"/>: the mail left the source before it was delivered; not retried, not delivered.</summary>
    /// <param name="key">The mail.</param>
    /// <param name="audit">The audit row (outcome <c>gone</c>).</param>
    /// <exception cref="IllegalTransitionException">The mail is not seen or decided.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void Leave(MailKey key, AuditEntry audit) => End(MailTransition.Leave, key, audit);

    /// <summary><see cref="MailTransition.LoseClaim"/>: another SmartMail instance claimed the mail first; it delivers it.</summary>
    /// <param name="key">The mail.</param>
    /// <param name="audit">The audit row (outcome <c>claimed</c>).</param>
    /// <exception cref="IllegalTransitionException">The mail is not seen or decided.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void LoseClaim(MailKey key, AuditEntry audit) => End(MailTransition.LoseClaim, key, audit);

    /// <summary><see cref="MailTransition.Recover"/>: after a crash the sink showed the decision delivered, and the source no longer holds the mail.</summary>
    /// <param name="key">The mail.</param>
    /// <param name="audit">The audit row (outcome <c>delivered</c>).</param>
    /// <exception cref="IllegalTransitionException">The mail is not decided or delivered.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void Recover(MailKey key, AuditEntry audit) => End(MailTransition.Recover, key, audit);

    private void End(MailTransition transition, MailKey key, AuditEntry audit)
    {
        ArgumentNullException.ThrowIfNull(audit);
        _store.Transact((tx, rows) =>
        {
            var from = _store.StateOf(tx, key);
            Check(transition, key, from);
            _store.Update(tx, key, "state=@s, updated_utc=@t", ("@s", Convert.ToInt32(Table[transition].To!, System.Globalization.CultureInfo.InvariantCulture)), ("@t", Time(audit.Time)));
            if (transition == MailTransition.Recover && from == MailState.Decided)
            {
                _store.SummariesDelivered(tx, [key], audit.Time);
            }
            rows.Add(audit);
        });
    }

    private void Advance(MailTransition transition, IEnumerable<MailKey> keys, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = keys.ToList();
        if (list.Count == 0)
        {
            return;
        }
        _store.Transact((tx, _) =>
        {
            StepAll(tx, transition, list, "state=@s, updated_utc=@t", ("@s", Convert.ToInt32(Table[transition].To!, System.Globalization.CultureInfo.InvariantCulture)), ("@t", Time(now)));
            if (transition == MailTransition.Deliver)
            {
                _store.SummariesDelivered(tx, list, now);
            }
        }, batched: true);
    }

    /// <summary>
    /// <see cref="MailTransition.Correct"/>: a person's correction, in one transaction: the example takes the right label, the
    /// correction row, its count against the label's realised precision (which may change the label's threshold), and the audit
    /// rows (<c>corrected</c>, naming who; and the threshold change).
    /// </summary>
    /// <param name="correction">The correction.</param>
    /// <param name="text">The mail's text when the caller has it; otherwise the text kept at decision time is used.</param>
    /// <param name="audit">The <c>corrected</c> audit row.</param>
    /// <param name="tracker">The threshold rule.</param>
    /// <param name="adjust">Whether thresholds in force may change.</param>
    /// <returns>Whether the example has text, and the threshold change it caused.</returns>
    /// <exception cref="IllegalTransitionException">The mail is in the ledger but was never decided.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public (bool HasText, Learning.ThresholdChangeRecord? Change) Correct(Learning.Correction correction, Learning.NewExample? text, AuditEntry audit,
        Learning.ThresholdTracker tracker, bool adjust)
    {
        ArgumentNullException.ThrowIfNull(correction);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(tracker);
        (bool, Learning.ThresholdChangeRecord?) result = default;
        _store.Transact((tx, rows) => result = Correct(tx, rows, correction, text, audit, tracker, adjust));
        return result;
    }

    /// <summary>
    /// Counts automatic routes against their labels' realised precision, with the audit rows of the threshold changes this
    /// causes, in one transaction.
    /// </summary>
    /// <param name="routes">The routes.</param>
    /// <param name="tracker">The threshold rule.</param>
    /// <param name="adjust">Whether thresholds in force may change.</param>
    /// <param name="now">The time.</param>
    /// <returns>The threshold changes (audited).</returns>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public IReadOnlyList<Learning.ThresholdChangeRecord> CountAutomaticRoutes(IReadOnlyCollection<Learning.AutomaticRoute> routes,
        Learning.ThresholdTracker tracker, bool adjust, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(tracker);
        if (routes.Count == 0)
        {
            return [];
        }
        IReadOnlyList<Learning.ThresholdChangeRecord> changes = [];
        _store.Transact((tx, rows) =>
        {
            changes = Learning.ExampleStore.CountAutomaticRoutes(tx, routes, tracker, adjust, now);
            rows.AddRange(changes.Select(c => ThresholdRow(c, routes.First().Mailbox)));
        });
        return changes;
    }

    /// <summary>
    /// <see cref="MailTransition.RequestAction"/>: records a web action before anything is done. While the same action (decision,
    /// kind, label) is open, its row is returned unchanged, so the action is performed once.
    /// </summary>
    /// <param name="action">The action.</param>
    /// <param name="now">The time.</param>
    /// <returns>The action's row as it is now.</returns>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public WebActionRecord RequestAction(WebActionRecord action, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(action);
        WebActionRecord? result = null;
        _store.Transact((tx, _) =>
        {
            var from = _store.ActionStepOf(tx, action);
            if (from is WebActionStep.Intent or WebActionStep.Moved)
            {
                result = _store.ReadAction(tx, action);
                return;
            }
            CheckAction(MailTransition.RequestAction, action, from);
            _store.RequestAction(tx, action, now);
            result = _store.ReadAction(tx, action);
        });
        return result!;
    }

    /// <summary><see cref="MailTransition.MoveAction"/>: the mail is in its new place.</summary>
    /// <param name="action">The action.</param>
    /// <param name="now">The time.</param>
    /// <returns>The action at its new step.</returns>
    /// <exception cref="IllegalTransitionException">The action is not at its intent.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public WebActionRecord MoveAction(WebActionRecord action, DateTimeOffset now) => StepAction(MailTransition.MoveAction, action, null, now);

    /// <summary><see cref="MailTransition.FailAction"/>: the action is refused; nothing was moved.</summary>
    /// <param name="action">The action.</param>
    /// <param name="error">Why (no personal data).</param>
    /// <param name="now">The time.</param>
    /// <returns>The action at its new step.</returns>
    /// <exception cref="IllegalTransitionException">The action is not open.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public WebActionRecord FailAction(WebActionRecord action, string error, DateTimeOffset now) => StepAction(MailTransition.FailAction, action, error, now);

    /// <summary>
    /// <see cref="MailTransition.CompleteAction"/>: in one transaction, the action is done, the mail's web-app row shows where it
    /// is now, the correction (route, correct) is recorded as <see cref="Correct(Learning.Correction, Learning.NewExample?, AuditEntry, Learning.ThresholdTracker, bool)"/>
    /// does, an undo withdraws the correction its route recorded (the example is unlabeled again), and the audit rows (naming
    /// the user) are written.
    /// </summary>
    /// <param name="action">The action.</param>
    /// <param name="state">The mail's web-app state now (<c>routed</c>, <c>corrected</c>, <c>triage</c>).</param>
    /// <param name="label">Its label now.</param>
    /// <param name="correction">The correction, with its audit row and threshold rule; none for a release.</param>
    /// <param name="audit">Further audit rows (<c>released</c>).</param>
    /// <param name="now">The time.</param>
    /// <exception cref="IllegalTransitionException">The action was not moved.</exception>
    /// <exception cref="StateStoreException">The ledger cannot record.</exception>
    public void CompleteAction(WebActionRecord action, string state, string? label,
        (Learning.Correction Correction, AuditEntry Audit, Learning.ThresholdTracker Tracker, bool Adjust)? correction,
        IReadOnlyList<AuditEntry> audit, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(audit);
        _store.Transact((tx, rows) =>
        {
            CheckAction(MailTransition.CompleteAction, action, _store.ActionStepOf(tx, action));
            _store.UpdateAction(tx, action, WebActionStep.Done, null, now);
            _store.SummaryAfterAction(tx, action, state, label);
            if (correction is { } c)
            {
                Correct(tx, rows, c.Correction, null, c.Audit, c.Tracker, c.Adjust);
            }
            if (action.Kind == "undo")
            {
                Learning.ExampleStore.WithdrawWebCorrections(tx, action.Mailbox, action.DecisionId, now); // the undone route teaches nothing
            }
            rows.AddRange(audit);
        });
    }

    private WebActionRecord StepAction(MailTransition transition, WebActionRecord action, string? error, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(action);
        var to = (WebActionStep)Table[transition].To!;
        _store.Transact((tx, _) =>
        {
            CheckAction(transition, action, _store.ActionStepOf(tx, action));
            _store.UpdateAction(tx, action, to, error, now);
        });
        return action with { Step = to, Error = error };
    }

    private (bool HasText, Learning.ThresholdChangeRecord? Change) Correct(System.Data.Common.DbTransaction tx, List<AuditEntry> rows,
        Learning.Correction correction, Learning.NewExample? text, AuditEntry audit, Learning.ThresholdTracker tracker, bool adjust)
    {
        var from = _store.FurthestStateOf(tx, correction.Mailbox, correction.Fingerprint);
        if (!IsLegal(MailTransition.Correct, from))
        {
            throw new IllegalTransitionException(
                $"Correct is not allowed for mail {correction.Fingerprint} of {correction.Mailbox}: it is {from}.");
        }
        var hasText = Learning.ExampleStore.WriteCorrection(tx, correction, text);
        var (_, change) = Learning.ExampleStore.CountCorrectedRoute(tx, correction.Mailbox, correction.Fingerprint, correction.ToLabel, tracker,
            adjust, correction.Time);
        rows.Add(audit);
        if (change is not null)
        {
            rows.Add(ThresholdRow(change, correction.Mailbox));
        }
        return (hasText, change);
    }

    private static AuditEntry ThresholdRow(Learning.ThresholdChangeRecord c, string mailbox) => new()
    {
        Time = c.Time,
        DecisionId = "",
        Fingerprint = "",
        Mailbox = mailbox,
        Source = "threshold",
        Label = c.Label,
        Threshold = c.To,
        ModelVersion = c.ModelVersion,
        Reason = c.Reason,
        Destination = "",
        Outcome = c.Outcome,
    };

    private static void CheckAction(MailTransition transition, WebActionRecord action, WebActionStep? from)
    {
        if (!IsLegal(transition, from))
        {
            throw new IllegalTransitionException(
                $"{transition} is not allowed for the web action {action.Kind} on {action.DecisionId}: it is {(from is null ? "not recorded" : from.ToString())}.");
        }
    }

    // The states each transition may start from, as the ledger's SQL writes them (transitions of a row that exists).
    private static readonly FrozenDictionary<MailTransition, string> FromStates = Table
        .Where(t => t.Value.From.Length > 0 && t.Value.From.All(f => f is MailState))
        .ToFrozenDictionary(t => t.Key, t => string.Join(", ", t.Value.From.Select(f => Convert.ToInt32(f, System.Globalization.CultureInfo.InvariantCulture))));

    // Writes a transition of an existing row: the write is conditional on the row's state (one statement, where reading
    // the state first and then writing took two: half the ledger's round trips on PostgreSQL). When it matched nothing
    // the state is read to say why.
    private void Step(DbTransaction tx, MailTransition transition, MailKey key, string assignments, params (string Name, object? Value)[] parameters) =>
        _store.UpdateIn(tx, key, FromStates[transition], assignments, () =>
        {
            var from = _store.StateOf(tx, key);
            Check(transition, key, from);
            throw new IllegalTransitionException($"{transition} of mail {key.Uid} of {key.Mailbox} in {key.Folder} matched no row in state {from}.");
        }, parameters);

    // Step for many mails with the same values: one conditional statement per mailbox folder (and 500 mails).
    private void StepAll(DbTransaction tx, MailTransition transition, List<MailKey> keys, string assignments, params (string Name, object? Value)[] parameters) =>
        _store.UpdateAllIn(tx, keys, FromStates[transition], assignments, () => IllegalStep(tx, transition, keys), parameters);

    // A step of many mails changed fewer rows than it has mails: the states are read (in the transaction, which is then
    // rolled back) to say which mail may not take the step. The mails that took it are in its target state by then, unless
    // that is also a state it starts from.
    private void IllegalStep(DbTransaction tx, MailTransition transition, List<MailKey> keys)
    {
        var to = Table[transition].To is MailState target && !Table[transition].From.Contains(target) ? target : (MailState?)null;
        var states = _store.StatesOf(tx, keys);
        foreach (var key in keys)
        {
            MailState? from = states.TryGetValue(key, out var state) ? state : null;
            if (from != to)
            {
                Check(transition, key, from);
            }
        }
        throw new IllegalTransitionException($"{transition} of {keys.Count} mails changed fewer rows than mails: one was {to} already.");
    }

    private static void Check(MailTransition transition, MailKey key, MailState? from)
    {
        if (!IsLegal(transition, from))
        {
            throw new IllegalTransitionException(
                $"{transition} is not allowed for mail {key.Uid} of {key.Mailbox} in {key.Folder}: it is {(from is null ? "not in the ledger" : from.ToString())}.");
        }
    }

    private static AuditEntry Row(MailKey key, string fingerprint, string decisionId, DateTimeOffset now, string source, string destination,
        string reason, string outcome) => new()
        {
            Time = now,
            DecisionId = decisionId,
            Fingerprint = fingerprint,
            Mailbox = key.Mailbox,
            Source = source,
            Reason = reason,
            Destination = destination,
            Outcome = outcome,
        };

    private static string Time(DateTimeOffset t) => StateTime.Format(t);
}
