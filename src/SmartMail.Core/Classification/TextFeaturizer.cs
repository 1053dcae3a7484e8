using System.Buffers;
using System.Text;

namespace SmartMail.Core.Classification;

/// <summary>
/// Sublinear TF-IDF over word n-grams (and optionally character n-grams), L2-normalised, with a vocabulary
/// learned from training data. Subject terms are weighted above body terms. Thread-safe after construction.
/// The vocabulary is kept so that a decision can name the terms that drove it.
/// </summary>
public sealed class TextFeaturizer
{
    private readonly Dictionary<string, int> _index;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly string[] _terms;
    private readonly float[] _idf;

    private TextFeaturizer(FeaturizerSettings settings, string[] terms, float[] idf)
    {
        Settings = settings;
        _terms = terms;
        _idf = idf;
        _index = new Dictionary<string, int>(terms.Length, StringComparer.Ordinal);
        for (var i = 0; i < terms.Length; i++)
        {
            _index[terms[i]] = i;
        }
        _lookup = _index.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The settings this featurizer was built with.</summary>
    public FeaturizerSettings Settings { get; }

    /// <summary>The number of features (vector length).</summary>
    public int Dimension => _terms.Length;

    /// <summary>The term behind feature <paramref name="index"/>, for explanations.</summary>
    /// <param name="index">A feature index.</param>
    /// <returns>The term (n-gram words joined by a space).</returns>
    public string Term(int index) => _terms[index];

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
        var dfLookup = df.GetAlternateLookup<ReadOnlySpan<char>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var seenLookup = seen.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var doc in documents)
        {
            seen.Clear();
            ForEachTerm(doc, settings, (term, _) =>
            {
                if (seenLookup.Add(term))
                {
                    ref var count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(dfLookup, term, out bool _);
                    count++;
                }
            });
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
        var counts = new Dictionary<int, float>();
        ForEachTerm(document, Settings, (term, weight) =>
        {
            if (_lookup.TryGetValue(term, out var index))
            {
                ref var c = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, index, out bool _);
                c += weight;
            }
        });

        var indices = new int[counts.Count];
        var values = new float[counts.Count];
        var n = 0;
        foreach (var (index, tf) in counts)
        {
            indices[n++] = index;
        }
        Array.Sort(indices);
        double norm = 0;
        for (var i = 0; i < indices.Length; i++)
        {
            var tf = counts[indices[i]];
            var v = (Settings.SublinearTf ? 1f + MathF.Log(tf) : tf) * _idf[indices[i]];
            values[i] = v;
            norm += (double)v * v;
        }
        if (norm > 0)
        {
            var scale = (float)(1.0 / Math.Sqrt(norm));
            for (var i = 0; i < values.Length; i++)
            {
                values[i] *= scale;
            }
        }
        return new SparseVector(Dimension, indices, values);
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

    private delegate void TermAction(ReadOnlySpan<char> term, float weight);

    // Emits every term of a document with its weight: subject terms count SubjectWeight times.
    private static void ForEachTerm(TextInput doc, FeaturizerSettings s, TermAction action)
    {
        Emit(doc.Subject.AsSpan(), s.SubjectWeight, s, action);
        var body = doc.Body.AsSpan();
        Emit(body[..Math.Min(body.Length, s.MaxTextLength)], 1, s, action);
    }

    private static void Emit(ReadOnlySpan<char> text, float weight, FeaturizerSettings s, TermAction action)
    {
        if (text.IsEmpty || weight <= 0)
        {
            return;
        }
        var buffer = ArrayPool<char>.Shared.Rent(Text.Tokenizer.MaxTokenLength * 2 + 1);
        var prev = ArrayPool<char>.Shared.Rent(Text.Tokenizer.MaxTokenLength);
        var prevLength = 0;
        try
        {
            foreach (var token in Text.Tokenizer.Words(text))
            {
                if (token.Length < 2)
                {
                    prevLength = 0;
                    continue;
                }
                action(token, weight);
                if (s.WordNgrams >= 2 && prevLength > 0)
                {
                    prev.AsSpan(0, prevLength).CopyTo(buffer);
                    buffer[prevLength] = ' ';
                    token.CopyTo(buffer.AsSpan(prevLength + 1));
                    action(buffer.AsSpan(0, prevLength + 1 + token.Length), weight);
                }
                if (s.CharNgramMin > 0)
                {
                    EmitCharNgrams(token, weight, s, buffer, action);
                }
                token.CopyTo(prev);
                prevLength = token.Length;
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
            ArrayPool<char>.Shared.Return(prev);
        }
    }

    private static void EmitCharNgrams(ReadOnlySpan<char> token, float weight, FeaturizerSettings s, char[] buffer, TermAction action)
    {
        // Character n-grams of " word " (scikit-learn's char_wb), each behind a '#' so they never collide with words.
        Span<char> padded = stackalloc char[Text.Tokenizer.MaxTokenLength + 2];
        padded[0] = ' ';
        token.CopyTo(padded[1..]);
        padded[token.Length + 1] = ' ';
        padded = padded[..(token.Length + 2)];
        buffer[0] = '#';
        for (var n = s.CharNgramMin; n <= s.CharNgramMax && n <= padded.Length; n++)
        {
            for (var start = 0; start + n <= padded.Length; start++)
            {
                padded.Slice(start, n).CopyTo(buffer.AsSpan(1));
                action(buffer.AsSpan(0, n + 1), weight);
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
