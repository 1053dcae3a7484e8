namespace SmartMail.Core.Routing;

/// <summary>
/// A label's threshold as changed in service (without a retrain), because its automatic routes were corrected more often
/// than the target precision allows. It only ever raises the model's own threshold, or makes the label manual-only.
/// </summary>
/// <param name="Threshold">The raised threshold; <see langword="null"/> makes the label manual-only.</param>
/// <param name="Reason">Why, in one sentence (labels and numbers only, no personal data).</param>
public sealed record ThresholdOverride(float? Threshold, string Reason);
