using SmartMail.Core.Classification;

namespace SmartMail.Core.Tests.Classification;

/// <summary>Small labeled corpora made in code: each label has its own vocabulary plus shared noise words.</summary>
internal static class SyntheticCorpus
{
    private static readonly Dictionary<string, string[]> Vocabulary = new(StringComparer.Ordinal)
    {
        ["byggeri"] = ["byggetilladelse", "tilbygning", "carport", "lokalplan", "tegninger", "kvadratmeter", "skur", "facade"],
        ["skat"] = ["ejendomsskat", "grundskyld", "restance", "betaling", "rykker", "afdrag", "opkrævning", "vurdering"],
        ["skole"] = ["skoleskift", "klasse", "elev", "skolebus", "sfo", "lærer", "frokost", "indskrivning"],
        ["affald"] = ["skraldespand", "tømning", "genbrug", "storskrald", "container", "affaldsgebyr", "sortering", "haveaffald"],
    };

    private static readonly string[] Noise = ["hej", "jeg", "vil", "gerne", "spørge", "om", "venlig", "hilsen", "tak", "kommune", "mvh", "min", "vores"];

    public static IReadOnlyList<string> Labels => [.. Vocabulary.Keys];

    public static List<TrainingDocument> Make(int perLabel, int seed, IReadOnlyDictionary<string, int>? overrides = null)
    {
        var random = new Random(seed);
        var docs = new List<TrainingDocument>();
        foreach (var (label, words) in Vocabulary)
        {
            var n = overrides?.GetValueOrDefault(label, perLabel) ?? perLabel;
            for (var i = 0; i < n; i++)
            {
                docs.Add(Document(label, words, random, i));
            }
        }
        return docs;
    }

    public static TrainingDocument Document(string label, string[] words, Random random, int i)
    {
        var body = string.Join(' ', Enumerable.Range(0, 30).Select(_ =>
            random.NextDouble() < 0.4 ? words[random.Next(words.Length)] : Noise[random.Next(Noise.Length)]));
        var subject = words[random.Next(words.Length)];
        return new TrainingDocument(label, new TextInput(subject, body), $"{label}-{i}-{body.GetHashCode(StringComparison.Ordinal):x8}", null);
    }

    public static TextInput TextFor(string label, int seed) => Document(label, Vocabulary[label], new Random(seed), 0).Text;

    public static TrainingSet Set(List<TrainingDocument> docs) => TrainingSet.FromDocuments("test", "synthetic", docs);

    /// <summary>Options that train in well under a second on a few hundred documents.</summary>
    public static TrainingOptions FastOptions => new()
    {
        Featurizer = new FeaturizerSettings { MinDocumentFrequency = 1, MaxFeatures = 5_000 },
        Trainer = new TrainerSettings { MaxIterations = 20, L2 = 1e-3f },
    };
}
