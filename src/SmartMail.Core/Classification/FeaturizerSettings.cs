namespace SmartMail.Core.Classification;

/// <summary>How text becomes a feature vector. Stored in the model manifest so serving matches training.</summary>
public sealed record FeaturizerSettings
{
    /// <summary>Longest word n-gram (1 = unigrams only).</summary>
    public int WordNgrams { get; init; } = 2;

    /// <summary>Shortest and longest character n-gram over word boundaries; 0 disables them.</summary>
    public int CharNgramMin { get; init; }

    /// <summary>Longest character n-gram.</summary>
    public int CharNgramMax { get; init; }

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
