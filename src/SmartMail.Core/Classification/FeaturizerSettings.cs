namespace SmartMail.Core.Classification;

/// <summary>How text becomes a feature vector. Stored in the model manifest so serving matches training.</summary>
public sealed record FeaturizerSettings
{
    /// <summary>Longest word n-gram (1 = unigrams only).</summary>
    public int WordNgrams { get; init; } = 2;

    /// <summary>Shortest character n-gram over word boundaries; 0 disables them (unless <see cref="CharNgramsBelowCharacters"/> turns them on).</summary>
    public int CharNgramMin { get; init; }

    /// <summary>Longest character n-gram.</summary>
    public int CharNgramMax { get; init; }

    /// <summary>
    /// Character 2-5-grams are added automatically when the training text is shorter than this many characters: on
    /// small sets they cost little and recover Danish compounds ("ejendomsskat") that words see too rarely; on large
    /// sets they would multiply training time, and words suffice. 0 never adds them.
    /// </summary>
    public long CharNgramsBelowCharacters { get; init; } = 5_000_000;

    /// <summary>The settings to train with for a training text of <paramref name="totalCharacters"/>: the automatic rule applied.</summary>
    /// <param name="totalCharacters">Subject plus body characters over all training documents.</param>
    /// <returns>These settings, with character n-grams on when the rule says so.</returns>
    public FeaturizerSettings Resolve(long totalCharacters) =>
        CharNgramMin == 0 && totalCharacters < CharNgramsBelowCharacters
            ? this with { CharNgramMin = 2, CharNgramMax = 5, CharNgramsBelowCharacters = 0 }
            : this with { CharNgramsBelowCharacters = 0 };

    /// <summary>Fewest training documents a term must occur in.</summary>
    public int MinDocumentFrequency { get; init; } = 2;

    /// <summary>Terms in more than this share of documents are dropped (stop words of the corpus).</summary>
    public double MaxDocumentFrequencyRatio { get; init; } = 0.5;

    /// <summary>Most terms kept, by document frequency.</summary>
    public int MaxFeatures { get; init; } = 200_000;

    /// <summary>How many times the subject's terms count relative to the body's.</summary>
    public int SubjectWeight { get; init; } = 2;

    /// <summary>Whether term frequency is dampened as 1 + ln(tf).</summary>
    public bool SublinearTf { get; init; } = true;

    /// <summary>Most body characters featurised.</summary>
    public int MaxTextLength { get; init; } = 20_000;
}
