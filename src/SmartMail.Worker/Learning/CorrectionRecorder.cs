using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Learning;

/// <summary>
/// Records a correction, however it was reported: the ledger's <see cref="MailTransition.Correct"/> writes the correction, its example,
/// its count against the label's precision and its audit rows in one transaction; the audit rows reach audit.jsonl through the store's one writer.
/// </summary>
public static class CorrectionRecorder
{
    /// <summary>
    /// The labels a correction may name without saying it is a new department: those of the model in force, the configured
    /// routes, and those earlier corrections introduced.
    /// </summary>
    /// <param name="examples">The example store (earlier corrections).</param>
    /// <param name="options">The worker's options (model registry, routes).</param>
    /// <param name="models">The model registry's store.</param>
    /// <returns>The labels.</returns>
    public static IReadOnlySet<string> KnownLabels(ExampleStore examples, SmartMailOptions options, State.IModelStore models)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        var known = new HashSet<string>(options.Routes.Keys, StringComparer.Ordinal);
        using (var model = SmartMail.Core.Classification.ModelBundle.Load(ModelRegistry.For(options, models).ActivePath))
        {
            known.UnionWith(model.Model.Labels);
        }
        known.UnionWith(examples.ReadCorrections().Select(c => c.ToLabel));
        return known;
    }

    /// <summary>Records <paramref name="correction"/>.</summary>
    /// <param name="store">The ledger and audit trail.</param>
    /// <param name="examples">The example store.</param>
    /// <param name="options">The worker's options (whether audit.jsonl is written, and where).</param>
    /// <param name="correction">The correction.</param>
    /// <param name="text">The mail's text when the caller has it; otherwise the text kept at decision time is used.</param>
    /// <param name="reason">The audit row's reason (no personal data).</param>
    /// <param name="destination">The audit row's destination.</param>
    /// <returns>Whether the example has text, i.e. whether the correction can train a model.</returns>
    public static bool Record(IStateStore store, ExampleStore examples, SmartMailOptions options, Correction correction, NewExample? text,
        string reason, string destination)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(correction);
        var audit = Audit(correction, reason, destination);
        if (options.AuditJsonLines)
        {
            store.MirrorAuditTo(Path.Combine(options.DataDirectory, "audit.jsonl"));
        }
        // A corrected automatic route counts against its label's realised precision (and may raise its threshold).
        var (hasText, _) = store.Ledger.Correct(correction, text, audit, ThresholdTracker.From(options.Learning), options.Learning.AdjustThresholds);
        return hasText;
    }

    /// <summary>The <c>corrected</c> audit row of <paramref name="correction"/>.</summary>
    /// <param name="correction">The correction.</param>
    /// <param name="reason">Why (no personal data).</param>
    /// <param name="destination">Where the mail is now.</param>
    /// <returns>The row.</returns>
    public static AuditEntry Audit(Correction correction, string reason, string destination)
    {
        ArgumentNullException.ThrowIfNull(correction);
        return new AuditEntry
        {
            Time = correction.Time,
            DecisionId = correction.DecisionId ?? "",
            Fingerprint = correction.Fingerprint,
            Mailbox = correction.Mailbox,
            Source = "correction",
            Label = correction.ToLabel,
            By = correction.By,
            ModelVersion = correction.ModelVersion,
            Reason = reason,
            Destination = destination,
            Outcome = "corrected",
        };
    }
}
