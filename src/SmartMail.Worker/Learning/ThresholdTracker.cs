using System.Globalization;

namespace SmartMail.Worker.Learning;

/// <summary>
/// The online rule that raises a label's threshold in service when its automatic routes are corrected more often than the
/// target precision allows: adaptive conformal inference (Gibbs &amp; Candès 2021) in its quantile-tracking form, per
/// (model version, label), on the error indicator of each automatic route. The tracked threshold θ (in log-odds of the
/// confidence) moves by <c>γ (err − α)</c> for every automatic route, where <c>α = 1 − target precision</c> and
/// <c>err</c> is 1 for a route a person corrected: a corrected route raises it by <c>γ (1 − α)</c>, an uncorrected one lowers it by
/// <c>γ α</c>, never below the model's own threshold. Whatever the mail does, the share of corrected routes then
/// stays within <c>(θmax − θmin + 2γ) / (γ n)</c> above α after <c>n</c> routes (θ is bounded: above
/// <see cref="LearningOptions.ManualOnlyAbove"/> the label is manual-only and routes no more), so realised precision
/// converges to at least the target. Pure: no I/O, no clock.
/// </summary>
/// <remarks>
/// Every route counts as right when it is made (θ −= γα) and a correction adds γ when it comes, so a late correction moves
/// θ as an immediate one would (the updates add up the same, up to the floor). The threshold in force moves only when θ
/// has moved more than a step γ away from it (or back to the model's own): one correction after a clean run changes
/// nothing in force, two do, and each change in force is an audited event, not a drift of thousandths.
/// </remarks>
public sealed class ThresholdTracker
{
    private const double Epsilon = 1e-6;

    /// <summary>Creates the rule.</summary>
    /// <param name="targetPrecision">The precision the automatic routes must keep (0.5–0.999).</param>
    /// <param name="step">γ, in log-odds.</param>
    /// <param name="manualOnlyAbove">A threshold above this confidence makes the label manual-only.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public ThresholdTracker(double targetPrecision, double step, double manualOnlyAbove)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(targetPrecision, 0.5);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(targetPrecision, 1.0);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(manualOnlyAbove, 0.5);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(manualOnlyAbove, 1.0);
        TargetPrecision = targetPrecision;
        Step = step;
        ManualOnlyAbove = manualOnlyAbove;
    }

    /// <summary>The rule of <paramref name="options"/>.</summary>
    /// <param name="options">The learning loop's settings.</param>
    /// <returns>The rule.</returns>
    public static ThresholdTracker From(LearningOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ThresholdTracker(options.TargetPrecision, options.ThresholdStep, options.ManualOnlyAbove);
    }

    /// <summary>The target precision.</summary>
    public double TargetPrecision { get; }

    /// <summary>γ, in log-odds.</summary>
    public double Step { get; }

    /// <summary>Above this confidence a threshold makes the label manual-only.</summary>
    public double ManualOnlyAbove { get; }

    /// <summary>The state of a label no route has been counted for yet.</summary>
    /// <param name="modelVersion">The model version.</param>
    /// <param name="label">The label.</param>
    /// <param name="modelThreshold">The model's own threshold.</param>
    /// <returns>The state: the model's own threshold in force.</returns>
    public static LabelThresholdState Start(string modelVersion, string label, float modelThreshold) =>
        new(modelVersion, label, modelThreshold, LogOdds(modelThreshold), modelThreshold, 0, 0);

    /// <summary>An automatic route to the label: counted, and (while uncorrected) right.</summary>
    /// <param name="state">The label's state.</param>
    /// <param name="adjust">Whether the threshold in force may change.</param>
    /// <returns>The new state and the change in force, if any.</returns>
    public (LabelThresholdState State, ThresholdStep? Change) Routed(LabelThresholdState state, bool adjust = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var floor = LogOdds(state.ModelThreshold);
        var tracked = state.ManualOnly ? state.Tracked : Math.Max(floor, state.Tracked - (Step * (1 - TargetPrecision)));
        return Settle(state with { Automated = state.Automated + 1, Tracked = tracked }, state, adjust);
    }

    /// <summary>A person corrected one of the label's automatic routes.</summary>
    /// <param name="state">The label's state.</param>
    /// <param name="adjust">Whether the threshold in force may change.</param>
    /// <returns>The new state and the change in force, if any.</returns>
    public (LabelThresholdState State, ThresholdStep? Change) Corrected(LabelThresholdState state, bool adjust = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var tracked = state.ManualOnly ? state.Tracked : state.Tracked + Step;
        return Settle(state with { Wrong = state.Wrong + 1, Tracked = tracked }, state, adjust);
    }

    /// <summary>The reason an override in force gives in every decision it changes (labels and numbers only).</summary>
    /// <param name="state">The label's state.</param>
    /// <returns>One sentence.</returns>
    public string Describe(LabelThresholdState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var what = state.ManualOnly ? "made manual-only in service" : $"raised in service from the model's {F(state.ModelThreshold)}";
        return $"{what}: {state.Wrong} of {state.Automated} automatic routes corrected, target precision {F(TargetPrecision)}";
    }

    private (LabelThresholdState, ThresholdStep?) Settle(LabelThresholdState next, LabelThresholdState before, bool adjust)
    {
        if (!adjust || before.ManualOnly)
        {
            return (next, null);
        }
        var floor = LogOdds(next.ModelThreshold);
        if (next.Tracked >= LogOdds(ManualOnlyAbove))
        {
            var manual = next with { Threshold = null };
            return (manual, new ThresholdStep(before.Threshold, null, ThresholdOutcome.ManualOnly,
                $"made manual-only: {next.Wrong} of {next.Automated} automatic routes to '{next.Label}' corrected (realised precision " +
                $"{F(next.RealisedPrecision ?? 0)}, target {F(TargetPrecision)}), and no threshold up to {F(ManualOnlyAbove)} keeps the target"));
        }
        var inForce = LogOdds(before.Threshold ?? next.ModelThreshold);
        var toFloor = next.Tracked <= floor && before.Threshold != next.ModelThreshold;
        if (!toFloor && Math.Abs(next.Tracked - inForce) <= Step + Epsilon)
        {
            return (next, null);
        }
        var to = next.Tracked <= floor ? next.ModelThreshold : (float)Confidence(next.Tracked);
        if (before.Threshold == to)
        {
            return (next, null);
        }
        var raised = before.Threshold is not { } from || to > from;
        var outcome = raised ? ThresholdOutcome.Raised : ThresholdOutcome.Lowered;
        var reason = raised
            ? $"raised from {F(before.Threshold ?? 0)} to {F(to)}: {next.Wrong} of {next.Automated} automatic routes to '{next.Label}' corrected " +
              $"(realised precision {F(next.RealisedPrecision ?? 0)}, target {F(TargetPrecision)}; the model's own threshold is {F(next.ModelThreshold)})"
            : $"lowered from {F(before.Threshold ?? 0)} to {F(to)}{(to == next.ModelThreshold ? " (the model's own)" : "")}: routes to '{next.Label}' " +
              $"stood uncorrected ({next.Wrong} of {next.Automated} corrected, target precision {F(TargetPrecision)})";
        return (next with { Threshold = to }, new ThresholdStep(before.Threshold, to, outcome, reason));
    }

    /// <summary>log(p / (1 − p)), with p kept inside (0, 1).</summary>
    /// <param name="p">A confidence.</param>
    /// <returns>The log-odds.</returns>
    public static double LogOdds(double p)
    {
        p = Math.Clamp(p, Epsilon, 1 - Epsilon);
        return Math.Log(p / (1 - p));
    }

    private static double Confidence(double logOdds) => 1 / (1 + Math.Exp(-logOdds));

    private static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
}

/// <summary>One label's threshold state in service, per model version.</summary>
/// <param name="ModelVersion">The model version.</param>
/// <param name="Label">The label.</param>
/// <param name="ModelThreshold">The model's own threshold (the floor).</param>
/// <param name="Tracked">θ, the tracked threshold in log-odds.</param>
/// <param name="Threshold">The threshold in force; <see langword="null"/> when manual-only.</param>
/// <param name="Automated">Automatic routes counted.</param>
/// <param name="Wrong">Of those, corrected by a person.</param>
public sealed record LabelThresholdState(string ModelVersion, string Label, float ModelThreshold, double Tracked, float? Threshold,
    int Automated, int Wrong)
{
    /// <summary>Whether the label is manual-only now.</summary>
    public bool ManualOnly => Threshold is null;

    /// <summary>1 − wrong / automated; <see langword="null"/> without automatic routes.</summary>
    public double? RealisedPrecision => Automated == 0 ? null : 1 - ((double)Wrong / Automated);

    /// <summary>Whether a threshold other than the model's own is in force.</summary>
    public bool Overridden => Threshold != ModelThreshold;
}

/// <summary>What a change of the threshold in force was.</summary>
public enum ThresholdOutcome
{
    /// <summary>Raised above the threshold in force.</summary>
    Raised,

    /// <summary>Lowered (never below the model's own).</summary>
    Lowered,

    /// <summary>Made manual-only.</summary>
    ManualOnly,
}

/// <summary>A change of the threshold in force.</summary>
/// <param name="From">Before (<see langword="null"/>: manual-only).</param>
/// <param name="To">After (<see langword="null"/>: manual-only).</param>
/// <param name="Outcome">What it was.</param>
/// <param name="Reason">Why (labels and numbers only).</param>
public sealed record ThresholdStep(float? From, float? To, ThresholdOutcome Outcome, string Reason);
