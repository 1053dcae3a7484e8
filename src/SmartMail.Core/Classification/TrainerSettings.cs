namespace SmartMail.Core.Classification;

/// <summary>ML.NET trainer settings. Stored in the model manifest.</summary>
public sealed record TrainerSettings
{
    /// <summary>The trainer: <c>sdca-maxent</c> (multinomial logistic regression by SDCA).</summary>
    public string Trainer { get; init; } = "sdca-maxent";

    /// <summary>L2 regularisation.</summary>
    public float L2 { get; init; } = 3e-5f;

    /// <summary>L1 regularisation (sparsity of the weights, hence model size).</summary>
    public float L1 { get; init; }

    /// <summary>Most passes over the data.</summary>
    public int MaxIterations { get; init; } = 100;

    /// <summary>Relative duality gap at which SDCA stops (ML.NET's default of 0.1 stops far too early for text).</summary>
    public float ConvergenceTolerance { get; init; } = 0.01f;

    /// <summary>How many passes between SDCA's convergence checks (each check costs about a pass).</summary>
    public int ConvergenceCheckFrequency { get; init; } = 25;

    /// <summary>Weight of the Complement Naive Bayes component in the ensemble; 0 turns it off.</summary>
    public float NaiveBayesWeight { get; init; } = 0.5f;

    /// <summary>Additive smoothing of the Complement Naive Bayes component.</summary>
    public float NaiveBayesAlpha { get; init; } = 0.03f;

    /// <summary>
    /// A mail in which fewer distinct words than this are known to the model has its confidence shrunk: the
    /// probabilities are raised to the power <c>known / FullEvidenceWords</c> and renormalised, so a mail that says
    /// almost nothing ("Se vedhæftede.") is never confident, whatever single word it shares with a label. 0 turns it off.
    /// </summary>
    public int FullEvidenceWords { get; init; } = 5;

    /// <summary>
    /// Whether character n-grams feed only the naive Bayes member: the maximum-entropy model is trained on the word
    /// features (values as in the full vector, so serving is unchanged) and its character n-gram weights stay 0. Naive
    /// Bayes costs one pass over the data whatever the features; SDCA's cost grows with the non-zeros per document,
    /// which character n-grams multiply by about ten.
    /// </summary>
    public bool CharNgramsNaiveBayesOnly { get; init; }

    /// <summary>
    /// When training chooses character n-grams, they feed the maximum-entropy member too if the training rows'
    /// character n-gram non-zeros times the labels stay at or below this (SDCA's cost per pass grows with it); above
    /// it they feed naive Bayes only (<see cref="CharNgramsNaiveBayesOnly"/>), so training time stays bounded.
    /// </summary>
    public long MaxEntCharNgramWork { get; init; } = 20_000_000;

    /// <summary>Seed for every random choice in training.</summary>
    public int Seed { get; init; } = 1;
}
