namespace SmartMail.Web;

/// <summary>
/// What the web app reads. The worker implements it over its ledger, example store, model registry and health; the web
/// app filters by what the signed-in user is entitled to before it calls. Implementations are thread-safe and answer
/// from indexed queries (pages must render in under 200 ms with 100,000 decisions in the store).
/// </summary>
public interface IOversightQueries
{
    /// <summary>The mailboxes the worker serves, by configured name (the embedded default's drop folder is one of them).</summary>
    /// <returns>The names.</returns>
    IReadOnlyList<string> Mailboxes();

    /// <summary>The labels (departments) a mail of <paramref name="mailbox"/> can be routed to: the routes and the model's labels.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <returns>The labels, sorted.</returns>
    IReadOnlyList<string> Departments(string mailbox);

    /// <summary>Mails waiting in manual triage, oldest first.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="skip">How many to skip.</param>
    /// <param name="take">How many to return.</param>
    /// <returns>A page.</returns>
    ResultPage<MailSummary> TriageQueue(string mailbox, int skip, int take);

    /// <summary>Decided mails matching <paramref name="query"/>, newest first.</summary>
    /// <param name="query">The filter; <see cref="MailQuery.Mailboxes"/> limits it to the user's mailboxes.</param>
    /// <param name="skip">How many to skip.</param>
    /// <param name="take">How many to return.</param>
    /// <returns>A page.</returns>
    ResultPage<MailSummary> FindMail(MailQuery query, int skip, int take);

    /// <summary>One mail's decision, corrections and audit rows.</summary>
    /// <param name="decisionId">The decision id.</param>
    /// <returns>The detail, or <see langword="null"/> when unknown.</returns>
    MailDetail? GetMail(string decisionId);

    /// <summary>The mail's text for a preview (plain text; HTML already turned into text; no remote content).</summary>
    /// <param name="decisionId">The decision id.</param>
    /// <returns>The text, or <see langword="null"/> when no text was kept.</returns>
    MailText? GetText(string decisionId);

    /// <summary>
    /// The mail's text as stored at decision time, for a list of previews (the triage page): reading it costs a row, not a
    /// parse of the mail and its attachments. By default <see cref="GetText"/>.
    /// </summary>
    /// <param name="decisionId">The decision id.</param>
    /// <returns>The text, or <see langword="null"/> when no text was kept.</returns>
    MailText? GetStoredText(string decisionId) => GetText(decisionId);

    /// <summary>How a mailbox is doing.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="since">Start of the volume series (hourly buckets).</param>
    /// <returns>The status.</returns>
    MailboxStatus GetStatus(string mailbox, DateTimeOffset since);

    /// <summary>Per label: automatic routes, corrected ones, realised precision against the target, the threshold in force.</summary>
    /// <returns>One row per label of the current model.</returns>
    IReadOnlyList<LabelPrecision> LabelPrecisions();

    /// <summary>Threshold changes made in service (drift), newest first.</summary>
    /// <param name="take">How many.</param>
    /// <returns>The changes.</returns>
    IReadOnlyList<ThresholdChange> ThresholdChanges(int take);

    /// <summary>The model versions the registry knows, newest first.</summary>
    /// <returns>The versions.</returns>
    IReadOnlyList<ModelVersionInfo> Models();

    /// <summary>The retrain comparison report of <paramref name="version"/> (Markdown), if any.</summary>
    /// <param name="version">The version.</param>
    /// <returns>The report text.</returns>
    string? ModelReport(string version);

    /// <summary>The current model's precision–automation curve from its evaluation.</summary>
    /// <returns>The points, by rising automation.</returns>
    IReadOnlyList<CurvePoint> CurrentModelCurve();

    /// <summary>Quarantined mails, newest first.</summary>
    /// <param name="mailbox">A mailbox, or <see langword="null"/> for all.</param>
    /// <param name="skip">How many to skip.</param>
    /// <param name="take">How many to return.</param>
    /// <returns>A page.</returns>
    ResultPage<MailSummary> Quarantine(string? mailbox, int skip, int take);
}

/// <summary>
/// What a person can do from the web app. Every action goes through the worker's exactly-once path and writes an audit
/// row naming <c>user</c>; calling an action twice (double click, retry) has the effect of calling it once.
/// </summary>
public interface IMailActions
{
    /// <summary>Routes a mail waiting in manual triage to <paramref name="label"/>; recorded as a correction by <paramref name="user"/>.</summary>
    /// <param name="decisionId">The decision id.</param>
    /// <param name="label">The department.</param>
    /// <param name="user">Who (the signed-in name).</param>
    /// <param name="cancellationToken">Cancels the wait (the action itself, once accepted, completes).</param>
    /// <returns>The outcome.</returns>
    Task<ActionOutcome> RouteAsync(string decisionId, string label, string user, CancellationToken cancellationToken);

    /// <summary>"This was wrong, it belongs to <paramref name="label"/>": moves a routed mail and records the correction.</summary>
    /// <param name="decisionId">The decision id.</param>
    /// <param name="label">The right department.</param>
    /// <param name="user">Who.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The outcome.</returns>
    Task<ActionOutcome> CorrectAsync(string decisionId, string label, string user, CancellationToken cancellationToken);

    /// <summary>
    /// Undoes <paramref name="user"/>'s route of a mail from manual triage made within <paramref name="window"/>: the mail goes
    /// back to manual triage (a ledger transition with an audit row naming the user). A route older than the window, or a mail
    /// moved on since, is refused; a repeat finds it back in triage and does nothing.
    /// </summary>
    /// <param name="decisionId">The decision id.</param>
    /// <param name="user">Who.</param>
    /// <param name="window">How long after the route an undo is allowed.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The outcome.</returns>
    Task<ActionOutcome> UndoRouteAsync(string decisionId, string user, TimeSpan window, CancellationToken cancellationToken);

    /// <summary>Releases a quarantined mail to manual triage.</summary>
    /// <param name="decisionId">The decision id.</param>
    /// <param name="user">Who.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The outcome.</returns>
    Task<ActionOutcome> ReleaseAsync(string decisionId, string user, CancellationToken cancellationToken);

    /// <summary>Serves model <paramref name="version"/> (admin only; the caller checks the role).</summary>
    /// <param name="version">The version.</param>
    /// <param name="user">Who.</param>
    /// <param name="reason">Why.</param>
    /// <returns>The outcome.</returns>
    ActionOutcome Promote(string version, string user, string reason);

    /// <summary>Serves the model served before the current one again (admin only).</summary>
    /// <param name="user">Who.</param>
    /// <param name="reason">Why.</param>
    /// <returns>The outcome.</returns>
    ActionOutcome Rollback(string user, string reason);
}

/// <summary>A page of results.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <param name="Items">The items.</param>
/// <param name="Total">How many match in all.</param>
public sealed record ResultPage<T>(IReadOnlyList<T> Items, int Total);

/// <summary>A filter over decided mail. Null fields do not filter.</summary>
/// <param name="Mailboxes">The mailboxes to search (the user's).</param>
/// <param name="Sender">Part of the sender address.</param>
/// <param name="Subject">Part of the subject.</param>
/// <param name="From">Received at or after.</param>
/// <param name="To">Received before.</param>
/// <param name="DecisionId">A decision id (or its prefix of 8+ characters).</param>
public sealed record MailQuery(IReadOnlyList<string> Mailboxes, string? Sender = null, string? Subject = null, DateTimeOffset? From = null,
    DateTimeOffset? To = null, string? DecisionId = null);

/// <summary>One mail in a list.</summary>
/// <param name="DecisionId">The decision id.</param>
/// <param name="Mailbox">The mailbox.</param>
/// <param name="Subject">The subject (CPR numbers masked).</param>
/// <param name="Sender">The sender address.</param>
/// <param name="Received">When the mail arrived (its Date, else when SmartMail saw it).</param>
/// <param name="Source"><c>rule</c>, <c>model</c>, <c>thread</c>, <c>manual</c>, <c>quarantine</c>.</param>
/// <param name="Label">The label routed to, if any.</param>
/// <param name="Confidence">The model's confidence in its top label, if asked.</param>
/// <param name="State">Where it is now: <c>triage</c>, <c>routed</c>, <c>corrected</c>, <c>quarantined</c>, <c>pending</c>.</param>
public sealed record MailSummary(string DecisionId, string Mailbox, string Subject, string Sender, DateTimeOffset Received, string Source,
    string? Label, float? Confidence, string State);

/// <summary>One mail's decision and history.</summary>
/// <param name="Summary">The list view.</param>
/// <param name="Destination">Where it was delivered (folder, address, journal path).</param>
/// <param name="Top">The model's top alternatives, best first.</param>
/// <param name="Threshold">The threshold the top label had to reach.</param>
/// <param name="ModelVersion">The model version asked.</param>
/// <param name="Rule">The rule that decided.</param>
/// <param name="Reason">Why, in one sentence.</param>
/// <param name="Terms">The terms that weighed most for the top label (as <c>classify --explain</c> gives them), with their weight.</param>
/// <param name="Corrections">Its corrections, oldest first.</param>
/// <param name="History">Its audit rows, oldest first.</param>
public sealed record MailDetail(MailSummary Summary, string? Destination, IReadOnlyList<Suggestion> Top, float? Threshold, string? ModelVersion,
    string? Rule, string Reason, IReadOnlyList<Suggestion> Terms, IReadOnlyList<CorrectionInfo> Corrections, IReadOnlyList<HistoryRow> History);

/// <summary>A label (or term) with a score.</summary>
/// <param name="Name">The label or term.</param>
/// <param name="Score">Its confidence or weight.</param>
public sealed record Suggestion(string Name, float Score);

/// <summary>A correction.</summary>
/// <param name="Time">When.</param>
/// <param name="FromLabel">The label it had.</param>
/// <param name="ToLabel">The label it got.</param>
/// <param name="By">Who.</param>
/// <param name="Via">How (<c>web</c>, <c>imap-move</c>, <c>imap-copy</c>, <c>cli</c>).</param>
public sealed record CorrectionInfo(DateTimeOffset Time, string? FromLabel, string ToLabel, string By, string Via);

/// <summary>An audit row.</summary>
/// <param name="Time">When.</param>
/// <param name="Outcome">What happened (<c>decided</c>, <c>delivered</c>, <c>corrected</c>…).</param>
/// <param name="Source">Who or what decided.</param>
/// <param name="Destination">Where.</param>
/// <param name="Reason">Why.</param>
public sealed record HistoryRow(DateTimeOffset Time, string Outcome, string Source, string Destination, string Reason);

/// <summary>A mail's text.</summary>
/// <param name="Subject">The subject.</param>
/// <param name="Sender">The sender.</param>
/// <param name="Body">The body as plain text (with attachment text under <c>[bilag: name]</c> when read).</param>
/// <param name="Attachments">Attachment file names.</param>
public sealed record MailText(string Subject, string Sender, string Body, IReadOnlyList<string> Attachments);

/// <summary>A mailbox's health and volumes.</summary>
/// <param name="Mailbox">The mailbox.</param>
/// <param name="Health"><c>Healthy</c>, <c>Degraded</c> or <c>Unhealthy</c>.</param>
/// <param name="HealthDetail">The worker's short description of it (in English, as the worker logs it), or empty.</param>
/// <param name="Backlog">Mails seen but not yet delivered.</param>
/// <param name="LeaseHolder">The instance holding the mailbox's lease, if a lease is used.</param>
/// <param name="Hours">Hourly volumes since the asked time.</param>
/// <param name="AutomationRate">Share of mails in the window routed without a person.</param>
/// <param name="LatencyP50">Median time from seen to delivered in the window.</param>
/// <param name="LatencyP99">99th percentile of the same.</param>
/// <param name="DeliveriesWaiting">Decided mails whose delivery waits (e.g. a sink is down).</param>
public sealed record MailboxStatus(string Mailbox, string Health, string HealthDetail, int Backlog, string? LeaseHolder, IReadOnlyList<HourVolume> Hours,
    double AutomationRate, TimeSpan? LatencyP50, TimeSpan? LatencyP99, int DeliveriesWaiting);

/// <summary>Mails in one hour.</summary>
/// <param name="Hour">The hour's start (UTC).</param>
/// <param name="Routed">Routed without a person (rule, model, thread).</param>
/// <param name="Manual">Sent to manual triage.</param>
/// <param name="Quarantined">Quarantined.</param>
public sealed record HourVolume(DateTimeOffset Hour, int Routed, int Manual, int Quarantined);

/// <summary>How one label keeps its promise in service.</summary>
/// <param name="Label">The label.</param>
/// <param name="Automated">Mails the model routed to it alone.</param>
/// <param name="Corrected">Of those, corrected by a person.</param>
/// <param name="RealisedPrecision">1 − corrected/automated; <see langword="null"/> with no automatic routes.</param>
/// <param name="TargetPrecision">The target.</param>
/// <param name="Threshold">The threshold in force (after in-service changes); <see langword="null"/> when manual-only.</param>
/// <param name="ManualOnly">Whether the label is manual-only now.</param>
public sealed record LabelPrecision(string Label, int Automated, int Corrected, double? RealisedPrecision, double TargetPrecision, float? Threshold,
    bool ManualOnly);

/// <summary>A threshold change made in service.</summary>
/// <param name="Time">When.</param>
/// <param name="ModelVersion">The model it applies to.</param>
/// <param name="Label">The label.</param>
/// <param name="From">The threshold before (<see langword="null"/>: manual-only).</param>
/// <param name="To">The threshold after (<see langword="null"/>: manual-only).</param>
/// <param name="Reason">Why.</param>
public sealed record ThresholdChange(DateTimeOffset Time, string ModelVersion, string Label, float? From, float? To, string Reason);

/// <summary>A model version.</summary>
/// <param name="Version">The version.</param>
/// <param name="Created">When it was trained.</param>
/// <param name="Status">Registry status (<c>serving</c>, <c>candidate</c>, <c>rejected</c>, <c>retired</c>…).</param>
/// <param name="IsCurrent">Whether it serves now.</param>
/// <param name="Labels">How many labels it knows.</param>
/// <param name="RoutedLabels">How many of them it may route alone.</param>
/// <param name="HasReport">Whether a comparison report exists.</param>
public sealed record ModelVersionInfo(string Version, DateTimeOffset Created, string Status, bool IsCurrent, int Labels, int RoutedLabels, bool HasReport);

/// <summary>A point of the precision–automation curve.</summary>
/// <param name="MinConfidence">The confidence cut.</param>
/// <param name="Automation">The share of mail routed at that cut.</param>
/// <param name="Precision">Their precision.</param>
public sealed record CurvePoint(double MinConfidence, double Automation, double Precision);

/// <summary>What an action did.</summary>
/// <param name="Ok">Whether it was done (or had already been done).</param>
/// <param name="Message">One sentence for the person who clicked.</param>
public sealed record ActionOutcome(bool Ok, string Message);
