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
        return Guess(text.AsSpan(), []);
    }

    /// <summary>
    /// Guesses the language of <c>subject + "\n" + body</c> without building that string.
    /// </summary>
    /// <param name="subject">The subject.</param>
    /// <param name="body">The body.</param>
    /// <returns>"da", "en", or <see langword="null"/> when unsure.</returns>
    public static string? Guess(string subject, string body)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(body);
        return Guess(subject.AsSpan(), body.AsSpan());
    }

    // The vote over the first 4,000 chars of first, a line break and second (a line break never joins two words).
    private static string? Guess(ReadOnlySpan<char> first, ReadOnlySpan<char> second)
    {
        const int Limit = 4_000;
        var secondLength = Math.Clamp(Limit - first.Length - 1, 0, second.Length);
        var votes = new Votes();
        votes.Count(first[..Math.Min(first.Length, Limit)]);
        votes.Count(second[..secondLength]);
        if (votes.Words < 5 || votes.Danish + votes.English < 3)
        {
            return null;
        }
        if (votes.Danish >= 2 * votes.English)
        {
            return "da";
        }
        return votes.English >= 2 * votes.Danish ? "en" : null;
    }

    private struct Votes
    {
        public int Danish;
        public int English;
        public int Words;

        public void Count(ReadOnlySpan<char> text)
        {
            foreach (var token in Tokenizer.Words(text))
            {
                Words++;
                if (DanishWords.Contains(token))
                {
                    Danish++;
                }
                if (EnglishWords.Contains(token))
                {
                    English++;
                }
            }
        }
    }
}
