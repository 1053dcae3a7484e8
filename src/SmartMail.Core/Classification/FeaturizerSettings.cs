namespace SmartMail.Core.Classification;

/// <summary>How text becomes a feature vector. Stored in the model manifest so serving matches training.</summary>
public sealed record FeaturizerSettings
{
    /// <summary>
    /// Longest word n-gram (1 = unigrams only); 0 = no word features at all, character n-grams alone (scikit-learn's
    /// <c>char_wb</c>), which serve short text best where compounds carry the meaning ("byggetilladelse").
    /// </summary>
    public int WordNgrams { get; init; } = 2;

    /// <summary>Shortest character n-gram over word boundaries; 0 disables them (unless <see cref="CharNgramsByValidation"/> turns them on).</summary>
    public int CharNgramMin { get; init; }

    /// <summary>Longest character n-gram.</summary>
    public int CharNgramMax { get; init; }

    /// <summary>
    /// Whether training chooses the features on its validation split by the model it ships (see <see cref="FeatureChoice"/>):
    /// words and word pairs, character 2-5-grams alone, or both, whichever gives the trained ensemble the best validation
    /// accuracy (character candidates only where their training cost stays in budget). Character n-grams recover Danish
    /// and Finnish compounds and inflections ("ejendomsskat", "ministeriölle") that word features see too rarely. The
    /// manifest records the outcome (and <c>false</c> here).
    /// </summary>
    public bool CharNgramsByValidation { get; init; } = true;

    /// <summary>
    /// The rule before <see cref="CharNgramsByValidation"/>: character 2-5-grams added when the training text is
    /// shorter than this many characters. 0 (the default) never adds them by size.
    /// </summary>
    public long CharNgramsBelowCharacters { get; init; }

    /// <summary>The settings to train with for a training text of <paramref name="totalCharacters"/>: the size rule applied.</summary>
    /// <param name="totalCharacters">Subject plus body characters over all training documents.</param>
    /// <returns>These settings, with character n-grams on when the size rule says so.</returns>
    public FeaturizerSettings Resolve(long totalCharacters) =>
        CharNgramMin == 0 && totalCharacters < CharNgramsBelowCharacters
            ? this with { CharNgramMin = 2, CharNgramMax = 5, CharNgramsBelowCharacters = 0 }
            : this with { CharNgramsBelowCharacters = 0 };

    /// <summary>These settings without character n-grams (words and word pairs only).</summary>
    /// <returns>The settings.</returns>
    internal FeaturizerSettings WithoutCharNgrams() => this with { CharNgramMin = 0, CharNgramMax = 0 };

    /// <summary>Whether word features are used (not character n-grams alone).</summary>
    internal bool HasWords => WordNgrams > 0;

    /// <summary>A short name of the feature set, e.g. <c>words 1-2 + char 2-5</c>.</summary>
    public string FeatureName =>
        string.Join(" + ", new[] { HasWords ? $"words 1-{WordNgrams}" : null, CharNgramMin > 0 ? $"char {CharNgramMin}-{CharNgramMax}" : null }.OfType<string>());

    /// <summary>Fewest training documents a term must occur in.</summary>
    public int MinDocumentFrequency { get; init; } = 2;

    /// <summary>Terms in more than this share of documents are dropped (stop words of the corpus).</summary>
    public double MaxDocumentFrequencyRatio { get; init; } = 0.5;

    /// <summary>Most words and word pairs kept, by document frequency.</summary>
    public int MaxFeatures { get; init; } = 200_000;

    /// <summary>
    /// Most character n-grams kept, by document frequency: a budget of their own, so that they never push out words and
    /// word pairs.
    /// </summary>
    public int MaxCharFeatures { get; init; } = 100_000;

    /// <summary>
    /// Most distinct terms counted while learning the vocabulary; beyond it the rarest counts are dropped (lossy
    /// counting), which bounds the memory of training on very large mailboxes. Far above what the vocabulary keeps.
    /// </summary>
    public int MaxCountedTerms { get; init; } = 8_000_000;

    /// <summary>How many times the subject's terms count relative to the body's.</summary>
    public int SubjectWeight { get; init; } = 2;

    /// <summary>Whether term frequency is dampened as 1 + ln(tf).</summary>
    public bool SublinearTf { get; init; } = true;

    /// <summary>Most body characters featurised.</summary>
    public int MaxTextLength { get; init; } = 20_000;
}
