using System.Runtime.CompilerServices;
using System.Text;

namespace SmartMail.Core.Classification;

/// <summary>
/// Sublinear TF-IDF over word n-grams (and optionally character n-grams), L2-normalised, with a vocabulary
/// learned from training data. Subject terms are weighted above body terms. Thread-safe after construction.
/// The vocabulary is kept so that a decision can name the terms that drove it.
/// </summary>
public sealed class TextFeaturizer
{
    [ThreadStatic]
    private static FeatureScratch? t_scratch;

    private readonly TermTable _table;
    private readonly string[] _terms;
    private readonly float[] _idf;

    private TextFeaturizer(FeaturizerSettings settings, string[] terms, float[] idf)
    {
        Settings = settings;
        _terms = terms;
        _idf = idf;
        _table = new TermTable(terms, idf);
    }

    /// <summary>The settings this featurizer was built with.</summary>
    public FeaturizerSettings Settings { get; }

    /// <summary>The number of features (vector length).</summary>
    public int Dimension => _terms.Length;

    /// <summary>The term behind feature <paramref name="index"/>, for explanations.</summary>
    /// <param name="index">A feature index.</param>
    /// <returns>The term (n-gram words joined by a space).</returns>
    public string Term(int index) => _terms[index];

    /// <summary>The IDF weight of feature <paramref name="index"/>.</summary>
    internal float Idf(int index) => _idf[index];

    /// <summary>
    /// Where each feature's weights go in a scoring table (index → row): most frequent features first, so that the
    /// rows a typical mail reads sit together. <see cref="FeatureScratch.Rows"/> gives the rows of a transformed document.
    /// </summary>
    internal int[] RowOf => _table.RowOf;

    /// <summary>Learns the vocabulary and IDF weights from training documents.</summary>
    /// <param name="documents">Subject and body of each training document.</param>
    /// <param name="settings">Featurizer settings.</param>
    /// <returns>The fitted featurizer.</returns>
    /// <exception cref="ArgumentException">There are no documents.</exception>
    public static TextFeaturizer Fit(IReadOnlyList<TextInput> documents, FeaturizerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(settings);
        if (documents.Count == 0)
        {
            throw new ArgumentException("No training documents.", nameof(documents));
        }

        // Character n-grams are counted on an evenly spaced sample of at most CharCountDocuments documents (their
        // frequent n-grams, the ones the budget keeps, are the same on any large sample; counting them is most of the
        // cost of fitting), words and word pairs on all. A sampled document frequency is scaled to the whole set.
        var charSample = settings.CharNgramMin > 0 ? Math.Min(documents.Count, CharCountDocuments) : 0;
        var wordSettings = settings.WithoutCharNgrams();
        FeaturizerSettings SettingsOf(int d) => InSample(d, documents.Count, charSample) ? settings : wordSettings;
        var df = CountDocumentFrequencies(documents, settings.MaxCountedTerms, SettingsOf);
        var charScale = charSample > 0 ? (double)documents.Count / charSample : 1;
        double Frequency(KeyValuePair<ulong, int> kv) => IsCharKey(kv.Key) ? kv.Value * charScale : kv.Value;
        var maxDf = settings.MaxDocumentFrequencyRatio * documents.Count;
        // Words (and word pairs) and character n-grams have separate budgets, so character n-grams, frequent by
        // nature, never push out the word pairs the linear member relies on. Ties: by key (deterministic).
        IEnumerable<KeyValuePair<ulong, int>> Top(bool charNgrams, int budget) => df
            .Where(kv => IsCharKey(kv.Key) == charNgrams && kv.Value >= settings.MinDocumentFrequency && Frequency(kv) <= maxDf)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key)
            .Take(budget);
        var chosen = Top(false, settings.MaxFeatures).Concat(settings.CharNgramMin > 0 ? Top(true, settings.MaxCharFeatures) : []).ToArray();
        var position = new Dictionary<ulong, int>(chosen.Length);
        for (var i = 0; i < chosen.Length; i++)
        {
            position[chosen[i].Key] = i;
        }
        var texts = new string?[chosen.Length];
        // Every chosen term is in at least one document; the pass stops as soon as each has been seen.
        var missing = new StrongBox<int>(chosen.Length);
        Parallel.For(0, (documents.Count + CountChunk - 1) / CountChunk, chunk =>
        {
            var collect = new CollectTerms(position, texts, missing);
            for (var d = chunk * CountChunk; d < Math.Min(documents.Count, (chunk + 1) * CountChunk) && Volatile.Read(ref missing.Value) > 0; d++)
            {
                ForEachTerm(documents[d], SettingsOf(d), ref collect);
            }
        });
        var kept = chosen.Select((kv, i) => (Term: texts[i] ?? string.Empty, Df: Frequency(kv)))
            .Where(t => t.Term.Length > 0)
            .OrderBy(t => t.Term, StringComparer.Ordinal)
            .ToArray();
        var terms = new string[kept.Length];
        var idf = new float[kept.Length];
        for (var i = 0; i < kept.Length; i++)
        {
            terms[i] = kept[i].Term;
            idf[i] = (float)(Math.Log((1.0 + documents.Count) / (1.0 + kept[i].Df)) + 1.0);
        }
        return new TextFeaturizer(settings, terms, idf);
    }

    /// <summary>Whether feature <paramref name="index"/> is a character n-gram (not a word or word pair).</summary>
    /// <param name="index">A feature index.</param>
    /// <returns><see langword="true"/> for a character n-gram.</returns>
    public bool IsCharNgram(int index) => _terms[index].StartsWith('#');

    /// <summary>
    /// Whether feature <paramref name="index"/> counts as a known word for the evidence guard
    /// (<see cref="TrainerSettings.FullEvidenceWords"/>): a single word, or with character n-grams alone a word's
    /// beginning (its longest n-gram after the leading space, or a whole short word), one per word.
    /// </summary>
    internal bool IsEvidence(int index) => IsEvidenceTerm(_terms[index], Settings);

    private static bool IsEvidenceTerm(ReadOnlySpan<char> term, FeaturizerSettings s) =>
        s.HasWords
            ? term[0] != '#' && !term.Contains(' ')
            : term.Length > 2 && term[0] == '#' && term[1] == ' ' && (term.Length == s.CharNgramMax + 1 || term[^1] == ' ');

    /// <summary>
    /// This featurizer without its character n-grams: the same words and word pairs with the same IDF weights (their
    /// budget is separate, so they do not depend on whether character n-grams were counted), renumbered.
    /// </summary>
    /// <returns>A words-only featurizer; this one when it has no character n-grams.</returns>
    public TextFeaturizer WithoutCharNgrams()
    {
        if (Settings.CharNgramMin == 0)
        {
            return this;
        }
        var keep = Enumerable.Range(0, _terms.Length).Where(i => !IsCharNgram(i)).ToArray();
        return new TextFeaturizer(Settings.WithoutCharNgrams(), [.. keep.Select(i => _terms[i])], [.. keep.Select(i => _idf[i])]);
    }

    /// <summary>The most documents character n-grams are counted on when a vocabulary is fitted (an evenly spaced sample beyond it).</summary>
    internal const int CharCountDocuments = 4_000;

    // Whether document d of count is in the evenly spaced sample of size sample (all of them when sample ≥ count).
    private static bool InSample(int d, int count, int sample) =>
        sample >= count || ((long)(d + 1) * sample / count) > ((long)d * sample / count);

    // Documents per counting chunk. Chunks are counted in parallel and merged in order, and the bound on the counted
    // terms is applied after each merge, so the result does not depend on the number of cores.
    private const int CountChunk = 1024;

    // Document frequency of every term, keyed by the term's 64-bit hash (lowest bit: 1 for a character n-gram), so no
    // string is made per distinct term. Bounded: when more than MaxCountedTerms terms are counted, the rarest are
    // dropped (lossy counting); a term that comes back later starts again from 0. The vocabulary keeps the most frequent
    // terms, which are far above the dropped counts, so this only bounds memory on very large training sets.
    // settingsOf(d) is how document d is read (with or without character n-grams).
    private static Dictionary<ulong, int> CountDocumentFrequencies(IReadOnlyList<TextInput> documents, int maxCountedTerms,
        Func<int, FeaturizerSettings> settingsOf)
    {
        var df = new Dictionary<ulong, int>();
        var chunks = (documents.Count + CountChunk - 1) / CountChunk;
        var batch = Math.Max(1, Environment.ProcessorCount);
        var floor = 0;
        for (var first = 0; first < chunks; first += batch)
        {
            var parts = new Dictionary<ulong, DocumentCount>[Math.Min(batch, chunks - first)];
            Parallel.For(0, parts.Length, p =>
            {
                var counts = new Dictionary<ulong, DocumentCount>();
                var start = (first + p) * CountChunk;
                for (var d = start; d < Math.Min(documents.Count, start + CountChunk); d++)
                {
                    var counter = new CountTerms(counts, d + 1);
                    ForEachTerm(documents[d], settingsOf(d), ref counter);
                }
                parts[p] = counts;
            });
            foreach (var part in parts)
            {
                foreach (var (key, count) in part)
                {
                    System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(df, key, out _) += count.Documents;
                }
                while (df.Count > maxCountedTerms)
                {
                    floor++;
                    foreach (var (key, count) in df)
                    {
                        if (count <= floor)
                        {
                            df.Remove(key);
                        }
                    }
                }
            }
        }
        return df;
    }

    private static bool IsCharKey(ulong key) => (key & 1) != 0;

    private static ulong Key(ulong hash, ReadOnlySpan<char> first, ReadOnlySpan<char> second) =>
        second.IsEmpty && first[0] == '#' ? hash | 1UL : hash & ~1UL;

    /// <summary>Turns a document into a sparse, L2-normalised vector.</summary>
    /// <param name="document">Subject and body.</param>
    /// <returns>The sparse vector (indices ascending).</returns>
    public SparseVector Transform(TextInput document)
    {
        var scratch = TransformScratch(document);
        return new SparseVector(Dimension, scratch.Indices.ToArray(), scratch.Values.ToArray());
    }

    /// <summary>
    /// <see cref="Transform"/> into this thread's reused buffers: no allocation once they have grown to the
    /// largest document seen. The result is valid until the next call on the same thread.
    /// </summary>
    /// <param name="document">Subject and body.</param>
    /// <returns>The thread's scratch holding the vector.</returns>
    internal FeatureScratch TransformScratch(TextInput document)
    {
        var scratch = t_scratch ??= new FeatureScratch();
        scratch.Clear();
        var sink = new Accumulate(_table, scratch, Settings);
        ForEachTerm(document, Settings, ref sink);
        scratch.Normalise(Settings.SublinearTf);
        return scratch;
    }

    /// <summary>Writes the featurizer (settings are stored by the caller in the manifest).</summary>
    /// <param name="stream">Destination.</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(FormatTag);
        writer.Write(_terms.Length);
        for (var i = 0; i < _terms.Length; i++)
        {
            writer.Write(_terms[i]);
            writer.Write(_idf[i]);
        }
    }

    /// <summary>Reads a featurizer written by <see cref="Save"/>.</summary>
    /// <param name="stream">Source.</param>
    /// <param name="settings">The settings from the manifest.</param>
    /// <returns>The featurizer.</returns>
    /// <exception cref="InvalidDataException">The data is not a SmartMail featurizer.</exception>
    public static TextFeaturizer Load(Stream stream, FeaturizerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(settings);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadString() != FormatTag)
            {
                throw new InvalidDataException("Not a SmartMail featurizer (format tag mismatch).");
            }
            var count = reader.ReadInt32();
            if (count is < 0 or > 50_000_000)
            {
                throw new InvalidDataException($"Featurizer term count {count} is out of range.");
            }
            var terms = new string[count];
            var idf = new float[count];
            for (var i = 0; i < count; i++)
            {
                terms[i] = reader.ReadString();
                idf[i] = reader.ReadSingle();
            }
            return new TextFeaturizer(settings, terms, idf);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The featurizer data is truncated.", ex);
        }
    }

    private const string FormatTag = "smartmail-featurizer/1";

    // Receives every term of a document: the term's hash (TermTable.Hash from TermTable.Seed), the term itself, or
    // a word pair as its two words (first + ' ' + second), and the weight. A struct, so each use is compiled apart.
    private interface ITermSink
    {
        void Add(ulong hash, ReadOnlySpan<char> first, ReadOnlySpan<char> second, float weight);
    }

    // Emits every term of a document with its weight: subject terms count SubjectWeight times.
    private static void ForEachTerm<TSink>(TextInput doc, FeaturizerSettings s, ref TSink sink)
        where TSink : struct, ITermSink
    {
        Emit(doc.Subject.AsSpan(), s.SubjectWeight, s, ref sink);
        var body = doc.Body.AsSpan();
        Emit(body[..Math.Min(body.Length, s.MaxTextLength)], 1, s, ref sink);
    }

    private static void Emit<TSink>(ReadOnlySpan<char> text, float weight, FeaturizerSettings s, ref TSink sink)
        where TSink : struct, ITermSink
    {
        if (text.IsEmpty || weight <= 0)
        {
            return;
        }
        Span<char> prev = stackalloc char[Text.Tokenizer.MaxTokenLength];
        var prevLength = 0;
        var prevHash = TermTable.Seed;
        foreach (var token in Text.Tokenizer.Words(text))
        {
            if (token.Length < 2)
            {
                prevLength = 0;
                continue;
            }
            var hash = TermTable.Hash(TermTable.Seed, token);
            if (s.HasWords)
            {
                sink.Add(hash, token, default, weight);
            }
            if (s.WordNgrams >= 2 && prevLength > 0)
            {
                sink.Add(TermTable.Hash(prevHash, token), prev[..prevLength], token, weight);
            }
            if (s.CharNgramMin > 0)
            {
                EmitCharNgrams(token, weight, s, ref sink);
            }
            token.CopyTo(prev);
            prevLength = token.Length;
            prevHash = TermTable.Hash(hash, ' ');
        }
    }

    private static void EmitCharNgrams<TSink>(ReadOnlySpan<char> token, float weight, FeaturizerSettings s, ref TSink sink)
        where TSink : struct, ITermSink
    {
        // Character n-grams of " word " (scikit-learn's char_wb), each behind a '#' so they never collide with words.
        Span<char> padded = stackalloc char[Text.Tokenizer.MaxTokenLength + 2];
        padded[0] = ' ';
        token.CopyTo(padded[1..]);
        padded[token.Length + 1] = ' ';
        padded = padded[..(token.Length + 2)];
        Span<char> buffer = stackalloc char[Text.Tokenizer.MaxTokenLength + 3];
        buffer[0] = '#';
        for (var n = s.CharNgramMin; n <= s.CharNgramMax && n <= padded.Length; n++)
        {
            for (var start = 0; start + n <= padded.Length; start++)
            {
                padded.Slice(start, n).CopyTo(buffer[1..]);
                var term = buffer[..(n + 1)];
                sink.Add(TermTable.Hash(TermTable.Seed, term), term, default, weight);
            }
        }
    }

    private struct DocumentCount
    {
        public int Documents;
        public int LastDocument;
    }

    // Fit: counts each term once per document (document numbers start at 1).
    private readonly struct CountTerms(Dictionary<ulong, DocumentCount> counts, int document) : ITermSink
    {
        public void Add(ulong hash, ReadOnlySpan<char> first, ReadOnlySpan<char> second, float weight)
        {
            ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, Key(hash, first, second), out _);
            if (count.LastDocument != document)
            {
                count.LastDocument = document;
                count.Documents++;
            }
        }
    }

    // Fit: finds the text of each chosen term (terms were counted by hash).
    private readonly struct CollectTerms(Dictionary<ulong, int> position, string?[] texts, StrongBox<int> missing) : ITermSink
    {
        public void Add(ulong hash, ReadOnlySpan<char> first, ReadOnlySpan<char> second, float weight)
        {
            if (position.TryGetValue(Key(hash, first, second), out var at) && Volatile.Read(ref texts[at]) is null
                && Interlocked.CompareExchange(ref texts[at], second.IsEmpty ? first.ToString() : string.Concat(first, " ", second), null) is null)
            {
                Interlocked.Decrement(ref missing.Value);
            }
        }
    }

    // Transform: adds each known term's weight to its feature.
    private readonly struct Accumulate(TermTable table, FeatureScratch scratch, FeaturizerSettings settings) : ITermSink
    {
        public void Add(ulong hash, ReadOnlySpan<char> first, ReadOnlySpan<char> second, float weight)
        {
            if (table.TryGet(hash, first, second, out var index, out var idf, out var row))
            {
                scratch.Add(index, idf, row, weight, second.IsEmpty && (settings.HasWords ? first[0] != '#' : IsEvidenceTerm(first, settings)));
            }
        }
    }
}

/// <summary>The text fields a model reads.</summary>
/// <param name="Subject">The subject.</param>
/// <param name="Body">The body text.</param>
public readonly record struct TextInput(string Subject, string Body);

/// <summary>A sparse feature vector.</summary>
/// <param name="Dimension">The full length.</param>
/// <param name="Indices">Non-zero positions, ascending.</param>
/// <param name="Values">Values at those positions.</param>
public sealed record SparseVector(int Dimension, int[] Indices, float[] Values);
