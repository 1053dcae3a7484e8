using System.Globalization;
using System.Text.RegularExpressions;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;

namespace SmartMail.Core.Routing;

/// <summary>
/// Decides where a mail goes: explicit rules first, then case-number rules (a case number in the subject names the
/// department that owns its series), then the mail's thread (a reply goes where the mail it replies to went), then the
/// model when its top label reaches that label's threshold, else manual triage with the model's suggestions. Thread-safe.
/// </summary>
public sealed partial class RoutingPolicy
{
    // A guard against a pathological mail, not a budget: it is wall-clock time, so it must stay far above what a GC pause or a
    // busy machine adds to an ordinary match (at 100 ms a rule failed to match under load and the model decided instead).
    // Rules run on the non-backtracking engine where their pattern allows it (linear in the mail, no timeout reached).
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);
    // How many Message-IDs of a mail's References are looked up (the newest): a long thread needs no more.
    private const int MaxThreadIds = 10;
    // How many of the model's top terms are checked for attachment evidence.
    private const int ExplainTerms = 5;
    private readonly IReadOnlyList<CompiledRule> _rules;
    private readonly IReadOnlyList<CaseNumberMatcher> _caseNumbers;
    private readonly ModelBundle? _model;
    private readonly IThresholdOverrides? _overrides;

    /// <summary>Creates a policy.</summary>
    /// <param name="rules">Rules, tried in order.</param>
    /// <param name="model">The model; <see langword="null"/> sends everything no rule matches to manual triage.</param>
    /// <param name="overrides">Thresholds raised in service (drift), applied on top of the model's own; none when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">A rule has no pattern or an invalid pattern (the message names the rule).</exception>
    public RoutingPolicy(IEnumerable<RoutingRule> rules, ModelBundle? model, IThresholdOverrides? overrides = null)
        : this(rules, model, [], overrides)
    {
    }

    /// <summary>Creates a policy with case-number rules.</summary>
    /// <param name="rules">Rules, tried in order.</param>
    /// <param name="model">The model; <see langword="null"/> sends everything no rule matches to manual triage.</param>
    /// <param name="caseNumbers">Case-number rules, tried in order after <paramref name="rules"/>.</param>
    /// <param name="overrides">Thresholds raised in service (drift), applied on top of the model's own; none when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">A rule has no pattern or an invalid pattern (the message names the rule and its setting).</exception>
    public RoutingPolicy(IEnumerable<RoutingRule> rules, ModelBundle? model, IEnumerable<CaseNumberRule> caseNumbers, IThresholdOverrides? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(caseNumbers);
        _rules = [.. rules.Select((r, i) => CompiledRule.Create(r, i))];
        _caseNumbers = [.. caseNumbers.Select((r, i) => CaseNumberMatcher.Create(r, i, MatchTimeout))];
        _model = model;
        _overrides = overrides;
    }

    /// <summary>The model in use, if any.</summary>
    public ModelBundle? Model => _model;

    /// <summary>Decides the route for <paramref name="document"/>.</summary>
    /// <param name="document">The extracted mail.</param>
    /// <returns>The decision.</returns>
    public RoutingDecision Decide(MailDocument document) => Decide(document, null);

    /// <summary>Decides the route for <paramref name="document"/>, following its thread when <paramref name="threads"/> knows it.</summary>
    /// <param name="document">The extracted mail.</param>
    /// <param name="threads">What SmartMail remembers of threads; none when <see langword="null"/>.</param>
    /// <returns>The decision.</returns>
    public RoutingDecision Decide(MailDocument document, IThreadLookup? threads)
    {
        ArgumentNullException.ThrowIfNull(document);
        foreach (var rule in _rules)
        {
            if (rule.Matches(document))
            {
                return new RoutingDecision
                {
                    Source = DecisionSource.Rule,
                    Label = rule.Rule.Label,
                    Rule = rule.Rule.Name,
                    Reason = $"rule '{rule.Rule.Name}' matched",
                };
            }
        }
        foreach (var caseNumber in _caseNumbers)
        {
            if (caseNumber.Match(document.Subject) is { } hit)
            {
                return new RoutingDecision
                {
                    Source = DecisionSource.Rule,
                    Label = hit.Label,
                    Rule = caseNumber.Rule.Name,
                    Reason = hit.Series is null
                        ? $"case-number rule '{caseNumber.Rule.Name}' matched the subject"
                        : $"case-number rule '{caseNumber.Rule.Name}': the subject's case number is in series '{hit.Series}'",
                };
            }
        }
        if (threads is not null && FollowThread(document, threads) is { } thread)
        {
            return thread;
        }
        if (_model is null)
        {
            return new RoutingDecision { Source = DecisionSource.Manual, Reason = "no rule matched and no model is loaded" };
        }
        if (document.IsUnparseable)
        {
            return new RoutingDecision
            {
                Source = DecisionSource.Manual,
                ModelVersion = _model.Manifest.ModelVersion,
                Reason = "the mail could not be parsed as MIME",
            };
        }
        var input = new TextInput(document.Subject, document.Body);
        var prediction = _model.Predict(input);
        var decision = FromPrediction(prediction, _model, _overrides);
        return decision.Source == DecisionSource.Model && document.AttachmentTextStart is not null
            ? WithAttachmentEvidence(decision, document, input, _model)
            : decision;
    }

    // The Message-IDs a reply names: In-Reply-To, then References newest first (a bounded few).
    private static RoutingDecision? FollowThread(MailDocument document, IThreadLookup threads)
    {
        if (document.IsUnparseable || (document.InReplyTo is null && document.References.Count == 0))
        {
            return null;
        }
        var ids = new List<string>(MaxThreadIds);
        if (document.InReplyTo is { Length: > 0 } inReplyTo)
        {
            ids.Add(inReplyTo);
        }
        for (var i = document.References.Count - 1; i >= 0 && ids.Count < MaxThreadIds; i--)
        {
            if (!ids.Contains(document.References[i], StringComparer.Ordinal))
            {
                ids.Add(document.References[i]);
            }
        }
        if (threads.Find(ids) is not { } parent)
        {
            return null;
        }
        return new RoutingDecision
        {
            Source = DecisionSource.Thread,
            Label = parent.Label,
            ParentDecisionId = parent.DecisionId,
            Reason = parent.DecisionId is { } parentId
                ? $"thread: a reply to {parentId}, routed to '{parent.Label}'"
                : $"thread: a reply to a message in department folder '{parent.Folder}' (a caseworker's answer), label '{parent.Label}'",
        };
    }

    // Only when the model routed alone and the mail has attachment text: the top few terms for the label, those from attachments.
    private static RoutingDecision WithAttachmentEvidence(RoutingDecision decision, MailDocument document, TextInput input, ModelBundle model)
    {
        var labelIndex = IndexOf(model.Model.Labels, decision.Label!); // a model decision always has a label
        if (labelIndex < 0)
        {
            return decision;
        }
        var top = model.Model.Explain(input, labelIndex, ExplainTerms);
        var evidence = Attachments.AttachmentEvidence.Find(document, top.Select(t => t.Term));
        if (evidence.Terms.Count == 0)
        {
            return decision;
        }
        var files = evidence.Files.Count > 0 ? $" (bilag: {string.Join(", ", evidence.Files)})" : string.Empty;
        return decision with
        {
            AttachmentTerms = evidence.Terms,
            AttachmentFiles = evidence.Files,
            Reason = $"{decision.Reason}; decided by attachment terms: {string.Join(", ", evidence.Terms)}{files}",
        };
    }

    private static int IndexOf(IReadOnlyList<string> labels, string label)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i] == label)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Turns a model prediction into a decision by the label's threshold.</summary>
    /// <param name="prediction">The prediction.</param>
    /// <param name="model">The model that made it.</param>
    /// <param name="overrides">
    /// Thresholds raised in service; an override applies only where it is stricter than the model's own threshold (it
    /// never lowers one) and only to the model version it was made for. None when <see langword="null"/>.
    /// </param>
    /// <returns>A model decision when the threshold is reached, else manual triage.</returns>
    public static RoutingDecision FromPrediction(Prediction prediction, ModelBundle model, IThresholdOverrides? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(model);
        var threshold = model.Thresholds.GetValueOrDefault(prediction.Label);
        var raised = threshold is { } own && overrides?.Find(model.Manifest.ModelVersion, prediction.Label) is { } o
            && (o.Threshold is not { } to || to > own) ? o : null;
        if (raised is not null)
        {
            threshold = raised.Threshold;
        }
        var confidence = prediction.Confidence.ToString("0.000", CultureInfo.InvariantCulture);
        var automatic = threshold is { } t && prediction.Confidence >= t;
        var reason = (automatic, threshold) switch
        {
            (true, { } th) => $"model: '{prediction.Label}' at {confidence} reached its threshold {th.ToString("0.000", CultureInfo.InvariantCulture)}",
            (false, { } th) => $"model: '{prediction.Label}' at {confidence} is below its threshold {th.ToString("0.000", CultureInfo.InvariantCulture)}",
            _ when raised is not null => $"model: '{prediction.Label}' at {confidence}, but that label was made manual-only in service",
            _ => $"model: '{prediction.Label}' at {confidence}, but that label is manual-only (too little evidence for automatic routing)",
        };
        if (raised is not null)
        {
            reason += $" ({raised.Reason})";
        }
        return new RoutingDecision
        {
            Source = automatic ? DecisionSource.Model : DecisionSource.Manual,
            Label = automatic ? prediction.Label : null,
            Confidence = prediction.Confidence,
            Top = prediction.Top,
            Threshold = threshold,
            ModelVersion = model.Manifest.ModelVersion,
            Reason = reason,
        };
    }

    /// <summary>
    /// Reads back a model reason <see cref="FromPrediction"/> wrote (the label reached its threshold, is below it, or is
    /// manual-only for too little evidence), for a reader that words it in another language. Any other reason (a rule, a
    /// case number, a threshold raised in service, quarantine…) is not read: the recorded words stand.
    /// </summary>
    /// <param name="reason">The recorded reason.</param>
    /// <param name="label">The model's label.</param>
    /// <param name="confidence">Its confidence.</param>
    /// <param name="threshold">The label's threshold; <see langword="null"/> when the label is manual-only.</param>
    /// <param name="reached">Whether the confidence reached the threshold (the mail was routed).</param>
    /// <returns>Whether <paramref name="reason"/> is one of those three.</returns>
    public static bool TryReadModelReason(string? reason, out string label, out float confidence, out float? threshold, out bool reached)
    {
        (label, confidence, threshold, reached) = (string.Empty, 0, null, false);
        if (reason is null || ModelReason().Match(reason) is not { Success: true } m)
        {
            return false;
        }
        label = m.Groups["label"].Value;
        confidence = float.Parse(m.Groups["confidence"].Value, CultureInfo.InvariantCulture);
        threshold = m.Groups["threshold"].Success ? float.Parse(m.Groups["threshold"].Value, CultureInfo.InvariantCulture) : null;
        reached = m.Groups["verb"].Value == "reached"; // from the words: the rounded numbers may tie
        return true;
    }

    // The three plain forms FromPrediction writes (not those with a threshold raised in service).
    [GeneratedRegex(@"^model: '(?<label>.+)' at (?<confidence>[0-9.]+)(?: (?<verb>reached|is below) its threshold (?<threshold>[0-9.]+)|, but that label is manual-only \(too little evidence for automatic routing\))$", RegexOptions.CultureInvariant)]
    private static partial Regex ModelReason();

    private sealed record CompiledRule(RoutingRule Rule, Regex? From, Regex? Subject, Regex? Text)
    {
        public static CompiledRule Create(RoutingRule rule, int index)
        {
            ArgumentNullException.ThrowIfNull(rule);
            var name = string.IsNullOrWhiteSpace(rule.Name) ? $"Rules:{index}" : $"Rules:{index} ('{rule.Name}')";
            if (string.IsNullOrWhiteSpace(rule.Label))
            {
                throw new ArgumentException($"Routing rule {name} has no Label.", nameof(rule));
            }
            if (rule.From is null && rule.Subject is null && rule.Text is null)
            {
                throw new ArgumentException($"Routing rule {name} sets no pattern (From, Subject or Text).", nameof(rule));
            }
            return new CompiledRule(rule, Compile(rule.From, name, "From"), Compile(rule.Subject, name, "Subject"),
                Compile(rule.Text, name, "Text"));
        }

        public bool Matches(MailDocument d)
        {
            try
            {
                return (From is null || d.From.Any(From.IsMatch))
                    && (Subject is null || Subject.IsMatch(d.Subject))
                    && (Text is null || Text.IsMatch(d.Subject) || Text.IsMatch(d.Body));
            }
            catch (RegexMatchTimeoutException)
            {
                return false; // a pathological mail must not stall routing; the model decides instead
            }
        }

        private static Regex? Compile(string? pattern, string name, string field)
        {
            if (pattern is null)
            {
                return null;
            }
            try
            {
                try
                {
                    return new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, MatchTimeout);
                }
                catch (NotSupportedException)
                {
                    // Lookarounds, backreferences, atomic groups: only the backtracking engine has them.
                    return new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, MatchTimeout);
                }
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"Routing rule {name}: {field} is not a valid pattern: {ex.Message}", nameof(pattern), ex);
            }
        }
    }
}
