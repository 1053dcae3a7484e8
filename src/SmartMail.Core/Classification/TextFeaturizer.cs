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

        var df = new Dictionary<string, int>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var counter = new DocumentFrequencies(seen.GetAlternateLookup<ReadOnlySpan<char>>(), df.GetAlternateLookup<ReadOnlySpan<char>>());
        foreach (var doc in documents)
        {
            seen.Clear();
            ForEachTerm(doc, settings, ref counter);
        }

        var maxDf = settings.MaxDocumentFrequencyRatio * documents.Count;
        var kept = df.Where(kv => kv.Value >= settings.MinDocumentFrequency && kv.Value <= maxDf)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(settings.MaxFeatures)
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .ToArray();
        var terms = new string[kept.Length];
        var idf = new float[kept.Length];
        for (var i = 0; i < kept.Length; i++)
        {
            terms[i] = kept[i].Key;
            idf[i] = (float)(Math.Log((1.0 + documents.Count) / (1.0 + kept[i].Value)) + 1.0);
        }
        return new TextFeaturizer(settings, terms, idf);
    }

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
        var sink = new Accumulate(_table, scratch);
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
            sink.Add(hash, token, default, weight);
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

    // Fit: counts each term once per document.
    private readonly struct DocumentFrequencies(
        HashSet<string>.AlternateLookup<ReadOnlySpan<char>> seen,
        Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> df) : ITermSink
    {
        public void Add(ulong hash, ReadOnlySpan<char> first, ReadOnlySpan<char> second, float weight)
        {
            scoped ReadOnlySpan<char> term = first;
            Span<char> buffer = stackalloc char[(Text.Tokenizer.MaxTokenLength * 2) + 1];
            if (!second.IsEmpty)
            {
                first.CopyTo(buffer);
                buffer[first.Length] = ' ';
                second.CopyTo(buffer[(first.Length + 1)..]);
                term = buffer[..(first.Length + 1 + second.Length)];
            }
            if (seen.Add(term))
            {
                ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(df, term, out _);
                count++;
            }
        }
    }

    // Transform: adds each known term's weight to its feature.
    private readonly struct Accumulate(TermTable table, FeatureScratch scratch) : ITermSink
    {
        public void Add(ulong hash, ReadOnlySpan<char> first, ReadOnlySpan<char> second, float weight)
        {
            if (table.TryGet(hash, first, second, out var index, out var idf, out var row))
            {
                scratch.Add(index, idf, row, weight, second.IsEmpty && first[0] != '#');
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
