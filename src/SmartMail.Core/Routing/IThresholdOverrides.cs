namespace SmartMail.Core.Routing;

/// <summary>Where the routing policy finds thresholds changed in service. Implementations are thread-safe and fast (one call per decision).</summary>
public interface IThresholdOverrides
{
    /// <summary>The override in force for <paramref name="label"/> of model <paramref name="modelVersion"/>.</summary>
    /// <param name="modelVersion">The model version (a new model starts without overrides).</param>
    /// <param name="label">The label.</param>
    /// <returns>The override, or <see langword="null"/> when the model's own threshold applies.</returns>
    ThresholdOverride? Find(string modelVersion, string label);
}
