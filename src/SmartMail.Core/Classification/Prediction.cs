namespace SmartMail.Core.Classification;

/// <summary>What the model thinks of one message.</summary>
/// <param name="Label">The most likely label.</param>
/// <param name="Confidence">Its probability (0..1).</param>
/// <param name="Top">The most likely labels with their probabilities, best first (at most three).</param>
public sealed record Prediction(string Label, float Confidence, IReadOnlyList<LabelScore> Top)
{
    /// <summary>Builds a prediction from per-label probabilities.</summary>
    /// <param name="labels">Label names in score order.</param>
    /// <param name="scores">Probabilities.</param>
    /// <param name="top">How many alternatives to keep.</param>
    /// <returns>The prediction.</returns>
    public static Prediction FromScores(IReadOnlyList<string> labels, ReadOnlySpan<float> scores, int top = 3)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var best = new List<LabelScore>(top + 1);
        for (var i = 0; i < scores.Length; i++)
        {
            var score = float.IsFinite(scores[i]) ? scores[i] : 0f;
            if (best.Count < top || score > best[^1].Score)
            {
                var at = best.FindIndex(b => score > b.Score);
                best.Insert(at < 0 ? best.Count : at, new LabelScore(labels[i], score));
                if (best.Count > top)
                {
                    best.RemoveAt(best.Count - 1);
                }
            }
        }
        return new Prediction(best[0].Label, best[0].Score, best);
    }
}

/// <summary>A label and its probability.</summary>
/// <param name="Label">The label.</param>
/// <param name="Score">The probability.</param>
public sealed record LabelScore(string Label, float Score);
