using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Logging;
using SmartMail.Core;
using SmartMail.Web;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Oversight;

/// <summary>
/// The web app's actions through the exactly-once path. Each action is recorded in <c>state.db</c> first (a
/// <c>web_action</c> row, idempotent by decision id, kind and label), then performed with the sinks the worker uses (an
/// IMAP UID MOVE between the mailbox's folders, found by the mail's claim marker; for the journal, the decision's
/// <c>.eml</c> and <c>.json</c> written to the new department and then removed from the old one; SMTP and webhook routes
/// through their sinks, idempotent on the decision id), then completed in one transaction with its audit rows naming the
/// user, after the correction is recorded (by the user, via <c>web</c>). A crash between the steps is finished by
/// <see cref="RecoverAsync"/> (at start and then now and then): every step checks where the mail is before it acts, so
/// it never moves a mail twice. Calls for the same mail are serialised; a repeat of a finished action (a double click)
/// finds the mail where the first put it and does nothing.
/// </summary>
public sealed class MailActions : IMailActions
{
    private readonly IStateStore _store;
    private readonly SmartMailOptions _options;
    private readonly MailPlaces _places;
    private readonly Func<IReadOnlyList<string>> _labels;
    private readonly IMailSink _routes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>Creates the actions.</summary>
    /// <param name="store">The ledger.</param>
    /// <param name="examples">The example store (corrections).</param>
    /// <param name="options">The worker's options.</param>
    /// <param name="labels">The labels of the model in force.</param>
    /// <param name="routes">The routing sink for journal, SMTP and webhook routes (its default: the journal).</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger (decision ids only: never subjects, senders or text).</param>
    /// <param name="registry">The model registry; the installation's when <see langword="null"/>.</param>
    public MailActions(IStateStore store, ExampleStore examples, SmartMailOptions options, Func<IReadOnlyList<string>> labels,
        IMailSink routes, TimeProvider time, ILogger logger, ModelRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        ArgumentNullException.ThrowIfNull(examples); // opened: its tables take the corrections the ledger writes
        _options = options;
        _places = new MailPlaces(options);
        _labels = labels;
        _routes = routes;
        _time = time;
        _logger = logger;
        Registry = registry ?? ModelRegistry.For(options, store, time);
        if (options.AuditJsonLines)
        {
            // Corrections and model changes reach audit.jsonl through the store's one writer.
            store.MirrorAuditTo(Path.Combine(options.DataDirectory, "audit.jsonl"));
        }
    }

    /// <summary>The model registry promotions and rollbacks go through.</summary>
    public ModelRegistry Registry { get; }

    /// <summary>Told each step of an action before it is taken (tests: a crash between the steps): "move", "correct", "complete".</summary>
    internal Action<string>? BeforeStep { get; set; }

    /// <inheritdoc />
    public Task<ActionOutcome> RouteAsync(string decisionId, string label, string user, CancellationToken cancellationToken) =>
        ActAsync(decisionId, "route", label, user, cancellationToken);

    /// <inheritdoc />
    public Task<ActionOutcome> CorrectAsync(string decisionId, string label, string user, CancellationToken cancellationToken) =>
        ActAsync(decisionId, "correct", label, user, cancellationToken);

    /// <inheritdoc />
    public Task<ActionOutcome> UndoRouteAsync(string decisionId, string user, TimeSpan window, CancellationToken cancellationToken) =>
        ActAsync(decisionId, "undo", "", user, cancellationToken, window);

    /// <inheritdoc />
    public Task<ActionOutcome> ReleaseAsync(string decisionId, string user, CancellationToken cancellationToken) =>
        ActAsync(decisionId, "release", "", user, cancellationToken);

    /// <inheritdoc />
    public ActionOutcome Promote(string version, string user, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(version);
        ArgumentException.ThrowIfNullOrEmpty(user);
        try
        {
            // The registry change and its audit row commit together (and reach audit.jsonl like every other row).
            var previous = Registry.Promote(version, $"{reason} (by {user} in the web app)", "web", user);
            OversightLog.ModelChanged(_logger, "promote", version);
            return new ActionOutcome(true, $"Model {version} is served now (it was {previous ?? "the configured model"}).");
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or InvalidOperationException or Core.Classification.ModelBundleException)
        {
            return new ActionOutcome(false, $"Model {version} was not promoted: {ex.Message}");
        }
    }

    /// <inheritdoc />
    public ActionOutcome Rollback(string user, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        try
        {
            var version = Registry.Rollback($"{reason} (by {user} in the web app)", "web", user);
            OversightLog.ModelChanged(_logger, "rollback", version);
            return new ActionOutcome(true, $"Model {version} is served again.");
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or InvalidOperationException or Core.Classification.ModelBundleException)
        {
            return new ActionOutcome(false, $"Nothing was rolled back: {ex.Message}");
        }
    }

    /// <summary>Finishes the actions a crash or an unreachable mailbox left open (each once).</summary>
    /// <param name="cancellationToken">Cancels between actions.</param>
    /// <returns>How many were finished.</returns>
    public async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        var finished = 0;
        foreach (var action in _store.OpenActions())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var gate = _locks.GetOrAdd(action.DecisionId, _ => new SemaphoreSlim(1, 1));
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if ((await PerformAsync(action).ConfigureAwait(false)).Ok)
                {
                    finished++;
                }
            }
            finally
            {
                gate.Release();
            }
        }
        return finished;
    }

    private async Task<ActionOutcome> ActAsync(string decisionId, string kind, string label, string user, CancellationToken cancellationToken,
        TimeSpan undoWindow = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(decisionId);
        ArgumentNullException.ThrowIfNull(label);
        ArgumentException.ThrowIfNullOrEmpty(user);
        var gate = _locks.GetOrAdd(decisionId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Once accepted, the action completes whatever happens to the caller's wait.
            return await ActLockedAsync(decisionId, kind, label, user, undoWindow).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<ActionOutcome> ActLockedAsync(string decisionId, string kind, string label, string user, TimeSpan undoWindow)
    {
        if (Summary(decisionId) is not { } mail)
        {
            return new ActionOutcome(false, $"No mail with decision id {decisionId}.");
        }
        if (kind is not ("release" or "undo") && !_labels().Contains(label, StringComparer.Ordinal) && !_options.Routes.ContainsKey(label))
        {
            return new ActionOutcome(false, $"'{label}' is not a department of {mail.Mailbox}.");
        }
        var open = _store.OpenActions().FirstOrDefault(a => a.DecisionId == decisionId);
        if (open is not null)
        {
            // Left open by a crash: finish it first (the same action asked again finishes here).
            var finished = await PerformAsync(open).ConfigureAwait(false);
            if ((open.Kind == kind && open.Label == label) || !finished.Ok)
            {
                return finished;
            }
            mail = Summary(decisionId)!;
        }
        switch (kind)
        {
            case "route" when mail.State != "triage":
                return mail.Label == label && mail.State is "routed" or "corrected"
                    ? new ActionOutcome(true, $"Already routed to {label}.")
                    : new ActionOutcome(false, $"The mail is not waiting in manual triage (it is {mail.State}).");
            case "correct" when mail.State is not ("routed" or "corrected"):
                return new ActionOutcome(false, $"Only a routed mail can be corrected (this one is {mail.State}).");
            case "correct" when mail.Label == label:
                return new ActionOutcome(true, $"It is in {label} already.");
            case "undo" when mail.State == "triage":
                return new ActionOutcome(true, "The mail is back in manual triage already.");
            case "undo" when mail.State != "routed" || RoutedFromTriageAt(decisionId, mail.Label) is not { } routed || routed < _time.GetUtcNow() - undoWindow:
                return new ActionOutcome(false, $"Only a route from manual triage made in the last {undoWindow.TotalMinutes:0.#} minutes can be undone (the mail is {mail.State}).");
            case "release" when mail.State != "quarantined":
                return mail.State == "triage"
                    ? new ActionOutcome(true, "Already released to manual triage.")
                    : new ActionOutcome(false, $"The mail is not in quarantine (it is {mail.State}).");
        }
        var to = kind is "release" or "undo" ? _options.ManualTriageDestination : _places.DestinationOf(label);
        var action = _store.Ledger.RequestAction(
            new WebActionRecord(decisionId, kind, label, user, mail.Mailbox, mail.Destination, to, WebActionStep.Intent, null), _time.GetUtcNow());
        return await PerformAsync(action).ConfigureAwait(false);
    }

    // RequestAction → (move) → MoveAction → CompleteAction (with the correction), each a ledger transition checked against the
    // action's step, and each step of the move checked against where the mail is.
    private async Task<ActionOutcome> PerformAsync(WebActionRecord action)
    {
        if (Summary(action.DecisionId) is not { } mail)
        {
            _store.Ledger.FailAction(action, "the decision is unknown", _time.GetUtcNow());
            return new ActionOutcome(false, $"No mail with decision id {action.DecisionId}.");
        }
        if (action.Step == WebActionStep.Intent)
        {
            try
            {
                BeforeStep?.Invoke("move");
                await MoveAsync(action, mail).ConfigureAwait(false);
            }
            catch (ActionRefusedException ex)
            {
                _store.Ledger.FailAction(action, ex.Message, _time.GetUtcNow());
                OversightLog.ActionFailed(_logger, action.Kind, action.DecisionId, ex.Message);
                return new ActionOutcome(false, ex.Message);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or HttpRequestException or MailKit.ServiceNotConnectedException
                or MailKit.Net.Imap.ImapProtocolException or MailKit.Net.Imap.ImapCommandException or System.Net.Sockets.SocketException
                or TimeoutException or OperationCanceledException)
            {
                // The destination or the mailbox is unreachable now: the intent stays, the recovery finishes it.
                OversightLog.ActionWaits(_logger, action.Kind, action.DecisionId, ex.GetType().Name);
                return new ActionOutcome(false, $"The mail could not be moved now ({ex.GetType().Name}); it will be moved as soon as {mail.Mailbox} can be reached.");
            }
            action = _store.Ledger.MoveAction(action, _time.GetUtcNow());
        }
        var now = _time.GetUtcNow();
        var place = _places.PlaceOf(action.Mailbox, action.ToDestination);
        var audit = new List<AuditEntry>();
        (Correction, AuditEntry, ThresholdTracker, bool)? correction = null;
        if (action.Kind is "release" or "undo")
        {
            audit.Add(new AuditEntry
            {
                Time = now,
                DecisionId = action.DecisionId,
                Fingerprint = mail.Fingerprint,
                Mailbox = action.Mailbox,
                Source = "web",
                Reason = action.Kind == "undo"
                    ? $"route to '{mail.Label}' undone in the web app: back to manual triage; the correction it recorded is withdrawn (no training example)"
                    : "released from quarantine to manual triage in the web app",
                Destination = place,
                Outcome = action.Kind == "undo" ? "route-undone" : "released",
                By = action.User,
            });
        }
        else
        {
            BeforeStep?.Invoke("correct");
            // The correction (its audit row "corrected", naming the user; it teaches the model) commits with the action's completion.
            var c = new Correction(now, action.Mailbox, mail.Fingerprint, action.DecisionId, mail.Label, action.FromDestination,
                action.Label, "web", action.User, "web", mail.ModelVersion);
            correction = (c, CorrectionRecorder.Audit(c, $"{(action.Kind == "route" ? "routed from manual triage" : "corrected")} to '{action.Label}' in the web app", place),
                ThresholdTracker.From(_options.Learning), _options.Learning.AdjustThresholds);
        }
        BeforeStep?.Invoke("complete");
        _store.Ledger.CompleteAction(action, action.Kind switch { "route" => "routed", "correct" => "corrected", _ => "triage" },
            action.Kind is "release" or "undo" ? null : action.Label, correction, audit, now);
        OversightLog.ActionDone(_logger, action.Kind, action.DecisionId);
        return new ActionOutcome(true, action.Kind switch
        {
            "route" => $"Routed to {action.Label}.",
            "correct" => $"Moved to {action.Label}; the correction is recorded.",
            "undo" => "The route is undone: the mail waits in manual triage again.",
            _ => "Released to manual triage.",
        });
    }

    private async Task MoveAsync(WebActionRecord action, MailRow mail)
    {
        var (from, to) = (action.FromDestination, action.ToDestination);
        if (_places.IsImapFolder(action.Mailbox, from) && _places.IsImapFolder(action.Mailbox, to))
        {
            await new ImapActionMover(_places.Imap(action.Mailbox)!, _store.InstanceId)
                .MoveAsync(action.DecisionId, Marker(action.DecisionId), from, to, CancellationToken.None).ConfigureAwait(false);
            return;
        }
        if (!_places.IsJournal(action.Mailbox, from))
        {
            throw new ActionRefusedException(_places.IsImapFolder(action.Mailbox, from)
                ? $"Moving a mail from an IMAP folder to the {_places.KindOf(to)} route '{to}' is not supported from the web app; move it in the mailbox."
                : $"The mail was delivered to '{from}' by {_places.KindOf(from)} and is out of SmartMail's reach; record the correction with 'smartmail correct'.");
        }
        if (_places.IsImapFolder(action.Mailbox, to))
        {
            throw new ActionRefusedException($"Moving a mail from the journal into an IMAP folder is not supported from the web app.");
        }
        var source = _places.JournalFile(action.Mailbox, from, action.DecisionId, ".eml")!;
        var sourceJson = Path.ChangeExtension(source, ".json");
        var target = _places.JournalFile(action.Mailbox, to, action.DecisionId, ".json");
        if (target is not null && File.Exists(target) && !File.Exists(source))
        {
            return; // moved before a crash
        }
        if (!File.Exists(source))
        {
            throw new ActionRefusedException($"The mail is no longer in {_places.PlaceOf(action.Mailbox, from)} (taken by the case system or moved by hand).");
        }
        if (source != Path.ChangeExtension(target ?? "", ".eml"))
        {
            var raw = await File.ReadAllBytesAsync(source).ConfigureAwait(false);
            var json = Rewrite(File.Exists(sourceJson) ? await File.ReadAllTextAsync(sourceJson).ConfigureAwait(false) : null, action, mail);
            // Idempotent on the decision id: a second delivery after a crash overwrites the same files (journal) or is
            // recognised by the receiver (SMTP Message-ID, webhook Idempotency-Key).
            await _routes.DeliverAsync(new Delivery(new MailKey(action.Mailbox, "web", 0, action.DecisionId), action.DecisionId, to, raw, json),
                CancellationToken.None).ConfigureAwait(false);
            // The pair leaves the old place .json first: a case system takes a pair only when its .json is there.
            File.Delete(sourceJson);
            File.Delete(source);
            DurableFile.SyncDirectory(Path.GetDirectoryName(source)!);
        }
    }

    // The decision record that travels with the mail to its new place: the same decision, with the person's label.
    private static string Rewrite(string? json, WebActionRecord action, MailRow mail)
    {
        var decision = Processing.DecisionRecord.Parse(json) ?? new Processing.DecisionRecord
        {
            DecisionId = action.DecisionId,
            Mailbox = action.Mailbox,
            Fingerprint = mail.Fingerprint,
            Source = "manual",
            Reason = "the decision record was missing; rewritten by a web action",
            Destination = action.ToDestination,
            DecidedUtc = DateTimeOffset.UtcNow,
        };
        var chosen = action.Kind is "route" or "correct" ? decision with { Label = action.Label, Source = "manual", DecidedLabel = mail.Label } : decision;
        return (chosen with
        {
            Destination = action.ToDestination,
            WebAction = new Processing.WebActionDone(action.Kind, action.User, action.FromDestination),
        }).ToJson();
    }

    private string Marker(string decisionId)
    {
        using var connection = Open();
        using var cmd = connection.Command("SELECT marker FROM mail WHERE decision_id = @d AND marker IS NOT NULL ORDER BY updated_utc DESC LIMIT 1",
            ("@d", decisionId));
        return cmd.ExecuteScalar() as string ?? $"{Imap.ImapMailbox.MarkerPrefix}{_store.InstanceId}_{decisionId}";
    }

    // When the mail's route from manual triage to its label was completed (undo is allowed for a while after).
    private DateTimeOffset? RoutedFromTriageAt(string decisionId, string? label)
    {
        using var connection = Open();
        using var cmd = connection.Command("SELECT updated_utc FROM web_action WHERE decision_id = @d AND kind = 'route' AND label = @l AND step = 'done'",
            ("@d", decisionId), ("@l", label ?? ""));
        return cmd.ExecuteScalar() is string time ? DateTimeOffset.Parse(time, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : null;
    }

    private MailRow? Summary(string decisionId)
    {
        using var connection = Open();
        using var cmd = connection.Command("SELECT mailbox, fingerprint, state, destination, label, model_version FROM mail_summary WHERE decision_id = @d",
            ("@d", decisionId));
        using var r = cmd.ExecuteReader();
        return r.Read()
            ? new MailRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5))
            : null;
    }

    private DbConnection Open() => _store.OpenConnection();

    private sealed record MailRow(string Mailbox, string Fingerprint, string State, string Destination, string? Label, string? ModelVersion);
}

/// <summary>An action that cannot be done (the mail is not where it should be, a route that cannot take it back).</summary>
public sealed class ActionRefusedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public ActionRefusedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">Why (no personal data: it is shown and logged).</param>
    public ActionRefusedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">Why.</param>
    /// <param name="innerException">The cause.</param>
    public ActionRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

internal static partial class OversightLog
{
    [LoggerMessage(EventId = SmartMailEventId.ActionDone, Level = LogLevel.Information, Message = "Web action {Kind} on {DecisionId} done")]
    public static partial void ActionDone(ILogger logger, string kind, string decisionId);

    [LoggerMessage(EventId = SmartMailEventId.ActionFailed, Level = LogLevel.Warning, Message = "Web action {Kind} on {DecisionId} refused: {Reason}")]
    public static partial void ActionFailed(ILogger logger, string kind, string decisionId, string reason);

    [LoggerMessage(EventId = SmartMailEventId.ActionWaits, Level = LogLevel.Warning, Message = "Web action {Kind} on {DecisionId} waits: the mail could not be moved now ({Error}); it is retried")]
    public static partial void ActionWaits(ILogger logger, string kind, string decisionId, string error);

    [LoggerMessage(EventId = SmartMailEventId.ActionModelChanged, Level = LogLevel.Information, Message = "Model {Action} to {Version} from the web app")]
    public static partial void ModelChanged(ILogger logger, string action, string version);

    [LoggerMessage(EventId = SmartMailEventId.ActionRecovered, Level = LogLevel.Information, Message = "Finished {Count} web actions left open")]
    public static partial void Recovered(ILogger logger, int count);
}
