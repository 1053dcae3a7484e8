namespace SmartMail.Core.Text;

/// <summary>
/// A cheap stop-word vote between Danish and English. Returns <see langword="null"/> when the text is too
/// short or the vote is close: a guess is only given when it is clear.
/// </summary>
public static class LanguageGuesser
{
    private static readonly HashSet<string> Danish = new(StringComparer.Ordinal)
    {
        "og", "i", "jeg", "det", "at", "en", "den", "til", "er", "som", "på", "de", "med", "han", "af", "for",
        "ikke", "der", "var", "mig", "sig", "men", "et", "har", "om", "vi", "min", "havde", "ham", "hun", "nu",
        "over", "da", "fra", "du", "ud", "sin", "dem", "os", "op", "man", "hans", "hvor", "eller", "hvad", "skal",
        "selv", "her", "alle", "vil", "blev", "kunne", "ind", "når", "være", "dog", "noget", "ville", "jo", "deres",
        "efter", "ned", "skulle", "denne", "end", "dette", "mit", "også", "under", "have", "dig", "anden", "hende",
        "mine", "alt", "meget", "sit", "sine", "vor", "mod", "disse", "hvis", "din", "nogle", "hos", "blive", "mange",
        "ad", "bliver", "hendes", "været", "thi", "jer", "sådan", "venlig", "hilsen", "kommune", "tak",
    };

    private static readonly HashSet<string> English = new(StringComparer.Ordinal)
    {
        "the", "and", "to", "of", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on", "are", "with",
        "as", "his", "they", "be", "at", "one", "have", "this", "from", "or", "had", "by", "not", "but", "what",
        "some", "we", "can", "out", "other", "were", "all", "there", "when", "up", "use", "your", "how", "said",
        "an", "each", "she", "which", "do", "their", "if", "will", "would", "about", "many", "then", "them",
        "these", "so", "no", "has", "been", "my", "any", "does", "did", "who", "could", "should", "thanks",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> DanishWords = Danish.GetAlternateLookup<ReadOnlySpan<char>>();
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> EnglishWords = English.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Guesses the language of <paramref name="text"/>.</summary>
    /// <param name="text">Plain text.</param>
    /// <returns>"da", "en", or <see langword="null"/> when unsure.</returns>
    public static string? Guess(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int da = 0, en = 0, words = 0;
        foreach (var token in Tokenizer.Words(text.AsSpan(0, Math.Min(text.Length, 4_000))))
        {
            words++;
            if (DanishWords.Contains(token))
            {
                da++;
            }
            if (EnglishWords.Contains(token))
            {
                en++;
            }
        }
        if (words < 5 || da + en < 3)
        {
            return null;
        }
        if (da >= 2 * en)
        {
            return "da";
        }
        return en >= 2 * da ? "en" : null;
    }
}
