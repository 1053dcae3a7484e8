namespace SmartMail.Core.Classification;

/// <summary>ML.NET trainer settings. Stored in the model manifest.</summary>
public sealed record TrainerSettings
{
    /// <summary>The <see cref="Trainer"/> that trains one linear SVM per label (the default).</summary>
    public const string OneVersusRestSvm = "ova-svm";

    /// <summary>The <see cref="Trainer"/> that trains one multinomial logistic regression.</summary>
    public const string SdcaMaximumEntropy = "sdca-maxent";

    /// <summary>
    /// The linear member's trainer: <c>ova-svm</c> (one ML.NET <c>LinearSvm</c> per label against the rest, trained side
    /// by side, each deterministic for the seed) or <c>sdca-maxent</c> (ML.NET <c>SdcaMaximumEntropy</c>, one model,
    /// one thread; five times slower to train on 20 Newsgroups for lower accuracy, kept so older bundles load and for
    /// comparison).
    /// </summary>
    public string Trainer { get; init; } = OneVersusRestSvm;

    /// <summary>The SVMs' regularisation (Pegasos' λ) for <c>ova-svm</c>.</summary>
    public float SvmLambda { get; init; } = 3e-5f;

    /// <summary>Passes over the data per SVM for <c>ova-svm</c> (at least; see <see cref="SvmMinUpdates"/>).</summary>
    public int SvmIterations { get; init; } = 20;

    /// <summary>
    /// Fewest Pegasos updates per SVM for <c>ova-svm</c>: on small data the passes are raised to reach it, so a
    /// thousand short Danish titles get as many steps toward the optimum as large data does (20 passes over 1,400
    /// documents leave the SVMs far from it; cheap, since each pass is small), up to ten times <see cref="SvmIterations"/>.
    /// 0 = exactly <see cref="SvmIterations"/>.
    /// </summary>
    public int SvmMinUpdates { get; init; } = 200_000;

    /// <summary>The passes over <paramref name="documents"/> documents per SVM.</summary>
    internal int SvmPasses(int documents) =>
        Math.Max(SvmIterations, Math.Min(MaxSvmPassesFactor * SvmIterations, SvmMinUpdates <= 0 ? 0 : (int)Math.Ceiling((double)SvmMinUpdates / Math.Max(1, documents))));

    // At most this many times SvmIterations passes, however small the data.
    private const int MaxSvmPassesFactor = 10;

    /// <summary>
    /// The factor the linear member's scores are multiplied by before the softmax (temperature scaling, Guo et al.
    /// 2017). For <c>ova-svm</c> it is fitted at training by the likelihood of the held-out documents, so the margins
    /// become probabilities a caseworker can read; 1 for <c>sdca-maxent</c>, whose scores are already log-probabilities.
    /// </summary>
    public float ScoreScale { get; init; } = 1f;

    /// <summary>L2 regularisation (<c>sdca-maxent</c>).</summary>
    public float L2 { get; init; } = 3e-5f;

    /// <summary>L1 regularisation (sparsity of the weights, hence model size; <c>sdca-maxent</c>).</summary>
    public float L1 { get; init; }

    /// <summary>Most passes over the data (<c>sdca-maxent</c>).</summary>
    public int MaxIterations { get; init; } = 100;

    /// <summary>Relative duality gap at which SDCA stops (ML.NET's default of 0.1 stops far too early for text; <c>sdca-maxent</c>).</summary>
    public float ConvergenceTolerance { get; init; } = 0.01f;

    /// <summary>How many passes between SDCA's convergence checks (each check costs about a pass; <c>sdca-maxent</c>).</summary>
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
    /// Whether character n-grams feed only the naive Bayes member: the linear member is trained on the word
    /// features (values as in the full vector, so serving is unchanged) and its character n-gram weights stay 0. Naive
    /// Bayes costs one pass over the data whatever the features; the linear trainer's cost grows with the non-zeros per
    /// document, which character n-grams multiply by about ten.
    /// </summary>
    public bool CharNgramsNaiveBayesOnly { get; init; }

    /// <summary>
    /// When training chooses character n-grams, they feed the linear member too if the training rows'
    /// character n-gram non-zeros times the labels stay at or below this (the trainer's cost per pass grows with it:
    /// 10⁹ is about 40 s of <c>ova-svm</c> per model on two cores, and 8 bytes per non-zero are held); above it they
    /// feed naive Bayes only (<see cref="CharNgramsNaiveBayesOnly"/>), so training time and memory stay bounded.
    /// </summary>
    public long MaxEntCharNgramWork { get; init; } = 1_000_000_000;

    /// <summary>Seed for every random choice in training.</summary>
    public int Seed { get; init; } = 1;
}
