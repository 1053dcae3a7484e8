using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace SmartMail.Core.Classification;

/// <summary>
/// A trained text model: featurizer plus an ML.NET-trained linear member (one linear SVM per label, or one
/// multinomial logistic regression), optionally ensembled with complement naive Bayes. Scoring reads the linear
/// member's weights and biases once at load time and computes the scores as a sparse dot product, scales them
/// (<see cref="ScoreScale"/>) and applies the softmax itself, as ML.NET's maximum-entropy predictor does, without a
/// <see cref="PredictionEngine{TSrc, TDst}"/> per call. For a maximum-entropy model the engine path stays as the
/// reference the fast path is tested against. Both members' weights share one feature-major table whose rows are in
/// the featurizer's row order (most frequent features first, see <see cref="FeatureRows"/>). Thread-safe.
/// </summary>
public sealed class TextModel : IDisposable
{
    private const string LinearFormatTag = "smartmail-linear/1";
    private readonly MLContext? _ml;
    private readonly ITransformer? _model;
    private readonly DataViewSchema? _inputSchema;
    private readonly ThreadLocal<PredictionEngine<FeatureRow, ScoreRow>>? _engines;
    private readonly VBuffer<float>[] _weights;
    private readonly float[] _biases;
    private float[] _table;
    private int _stride;
    private ComplementNaiveBayes? _naiveBayes;
    private float _naiveBayesWeight;

    private TextModel(MLContext ml, ITransformer model, TextFeaturizer featurizer, DataViewSchema inputSchema)
    {
        _ml = ml;
        _model = model;
        _inputSchema = inputSchema;
        Featurizer = featurizer;
        var schemaDefinition = FeatureRow.Schema(featurizer.Dimension);
        _engines = new ThreadLocal<PredictionEngine<FeatureRow, ScoreRow>>(
            () => ml.Model.CreatePredictionEngine<FeatureRow, ScoreRow>(model, inputSchemaDefinition: schemaDefinition),
            trackAllValues: true);

        VBuffer<ReadOnlyMemory<char>> slotNames = default;
        model.GetOutputSchema(inputSchema)[nameof(ScoreRow.Score)].GetSlotNames(ref slotNames);
        Labels = [.. slotNames.DenseValues().Select(v => v.ToString())];

        var predictor = FindPredictor(model)
            ?? throw new InvalidDataException("The ML.NET model holds no linear multiclass predictor.");
        _weights = [];
        predictor.GetWeights(ref _weights, out var classes);
        if (classes != Labels.Count)
        {
            throw new InvalidDataException($"The model has {classes} classes but {Labels.Count} label names.");
        }
        _biases = [.. predictor.GetBiases()];
        if (_biases.Length != classes || _weights.Any(w => w.Length != featurizer.Dimension))
        {
            throw new InvalidDataException("The ML.NET model's weights do not match its classes or the featurizer's features.");
        }
        (_table, _stride) = BuildTable(null);
    }

    private TextModel(TextFeaturizer featurizer, IReadOnlyList<string> labels, float[][] weights, float[] biases)
    {
        if (labels.Count < 2 || weights.Length != labels.Count || biases.Length != labels.Count || weights.Any(w => w.Length != featurizer.Dimension))
        {
            throw new InvalidDataException("The linear model's weights do not match its labels or the featurizer's features.");
        }
        Featurizer = featurizer;
        Labels = [.. labels];
        _weights = [.. weights.Select(w => new VBuffer<float>(w.Length, w))];
        _biases = biases;
        (_table, _stride) = BuildTable(null);
    }

    /// <summary>The labels, in score order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The featurizer.</summary>
    public TextFeaturizer Featurizer { get; }

    internal static TextModel Create(MLContext ml, ITransformer model, TextFeaturizer featurizer, DataViewSchema inputSchema) =>
        new(ml, model, featurizer, inputSchema);

    /// <summary>A model whose linear member is one weight vector and bias per label (one-versus-rest).</summary>
    internal static TextModel CreateLinear(TextFeaturizer featurizer, IReadOnlyList<string> labels, float[][] weights, float[] biases) =>
        new(featurizer, labels, weights, biases);

    /// <summary>
    /// What the linear member's scores are multiplied by before the softmax (<see cref="TrainerSettings.ScoreScale"/>):
    /// 1 for a maximum-entropy model, the fitted temperature for one-versus-rest SVMs.
    /// </summary>
    internal float ScoreScale { get; set; } = 1f;

    /// <summary>Whether the linear member is an ML.NET model saved by <see cref="SaveMlModel"/> (else by <see cref="SaveLinear"/>).</summary>
    internal bool IsMlNetModel => _model is not null;

    /// <summary>Scores <paramref name="text"/>: one probability per label, in <see cref="Labels"/> order.</summary>
    /// <param name="text">Subject and body.</param>
    /// <returns>Probabilities summing to 1.</returns>
    public float[] Score(TextInput text)
    {
        var features = Featurizer.TransformScratch(text);
        var probabilities = Score(features.Rows, features.Values);
        ShrinkByEvidence(probabilities, features.KnownWords, FullEvidenceWords);
        return probabilities;
    }

    /// <summary>
    /// Below this many distinct known words a mail's confidence is shrunk (see
    /// <see cref="TrainerSettings.FullEvidenceWords"/>); 0 turns the guard off.
    /// </summary>
    public int FullEvidenceWords { get; internal set; }

    /// <summary>
    /// Tempers <paramref name="probabilities"/> for a mail with only <paramref name="knownWords"/> known words: each is
    /// raised to the power <c>knownWords / fullEvidenceWords</c> (below 1) and the result renormalised, so the
    /// distribution moves towards uniform as the evidence shrinks and is uniform with none. Order is kept, so the top
    /// label does not change; only how sure the model claims to be.
    /// </summary>
    internal static void ShrinkByEvidence(Span<float> probabilities, int knownWords, int fullEvidenceWords)
    {
        if (knownWords >= fullEvidenceWords || probabilities.Length == 0)
        {
            return;
        }
        var power = (double)knownWords / fullEvidenceWords;
        double sum = 0;
        for (var i = 0; i < probabilities.Length; i++)
        {
            var p = Math.Pow(Math.Max(probabilities[i], 1e-12f), power);
            probabilities[i] = (float)p;
            sum += p;
        }
        for (var i = 0; i < probabilities.Length; i++)
        {
            probabilities[i] = (float)(probabilities[i] / sum);
        }
    }

    /// <summary>Scores a vector made by <see cref="Featurizer"/>.</summary>
    /// <param name="features">The vector.</param>
    /// <returns>Probabilities in <see cref="Labels"/> order.</returns>
    public float[] Score(SparseVector features)
    {
        ArgumentNullException.ThrowIfNull(features);
        var rowOf = Featurizer.RowOf;
        var rows = System.Buffers.ArrayPool<int>.Shared.Rent(features.Indices.Length);
        try
        {
            for (var k = 0; k < features.Indices.Length; k++)
            {
                rows[k] = rowOf[features.Indices[k]];
            }
            var probabilities = Score(rows.AsSpan(0, features.Indices.Length), features.Values);
            ShrinkByEvidence(probabilities, KnownWords(features), FullEvidenceWords);
            return probabilities;
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(rows);
        }
    }

    /// <summary>
    /// <see cref="Score(SparseVector)"/> through ML.NET's <see cref="PredictionEngine{TSrc, TDst}"/> (one per thread)
    /// and the naive Bayes component's own weights: the reference the direct computation is tested against.
    /// Slower; not used for serving.
    /// </summary>
    internal float[] ScoreReference(SparseVector features)
    {
        float[] probabilities;
        if (_engines is not null)
        {
            probabilities = _engines.Value!.Predict(FeatureRow.From(features)).Score;
        }
        else
        {
            // One-versus-rest: each label's score from its own weight vector, feature by feature in index order.
            probabilities = new float[_biases.Length];
            for (var c = 0; c < probabilities.Length; c++)
            {
                var score = _biases[c];
                for (var k = 0; k < features.Indices.Length; k++)
                {
                    score += _weights[c].GetItemOrDefault(features.Indices[k]) * features.Values[k];
                }
                probabilities[c] = score * ScoreScale;
            }
            Softmax(probabilities);
        }
        if (_naiveBayes is not null && _naiveBayesWeight > 0)
        {
            Span<double> nb = stackalloc double[probabilities.Length];
            _naiveBayes.Score(features, nb);
            probabilities = Ensemble(probabilities, nb);
        }
        ShrinkByEvidence(probabilities, KnownWords(features), FullEvidenceWords);
        return probabilities;
    }

    // Known words among the vector's features (see TextFeaturizer.IsEvidence).
    private int KnownWords(SparseVector features)
    {
        var knownWords = 0;
        foreach (var index in features.Indices)
        {
            if (Featurizer.IsEvidence(index))
            {
                knownWords++;
            }
        }
        return knownWords;
    }

    // rows[k] is the table row of the k-th feature (features in ascending index order, as the featurizer makes them).
    private float[] Score(ReadOnlySpan<int> rows, ReadOnlySpan<float> values)
    {
        var classes = _biases.Length;
        Span<float> probabilities = stackalloc float[classes];
        _biases.CopyTo(probabilities);
        FeatureRows.Accumulate(_table, _stride, 0, rows, values, probabilities);
        if (ScoreScale != 1f)
        {
            for (var c = 0; c < classes; c++)
            {
                probabilities[c] *= ScoreScale;
            }
        }
        Softmax(probabilities);
        if (_stride == classes)
        {
            return probabilities.ToArray();
        }
        Span<double> nb = stackalloc double[classes];
        nb.Clear();
        FeatureRows.Accumulate(_table, _stride, classes, rows, values, nb);
        return Ensemble(probabilities, nb);
    }

    // ML.NET's MaximumEntropyModelParameters: the logits (bias + weights · x, single precision; already times ScoreScale) to probabilities
    // through the log of the normalising sum.
    private static void Softmax(Span<float> scores)
    {
        var max = float.NegativeInfinity;
        foreach (var score in scores)
        {
            max = Math.Max(max, score);
        }
        double sum = 0;
        foreach (var score in scores)
        {
            sum += Math.Exp(score - max);
        }
        var logSum = (float)(max + Math.Log(sum));
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i] = (float)Math.Exp(scores[i] - logSum);
        }
    }

    // One row per feature (in the featurizer's row order): the maximum-entropy weights, then, with naive Bayes,
    // its weights, so one feature's weights for both members share cache lines.
    private (float[] Table, int Stride) BuildTable(ComplementNaiveBayes? naiveBayes)
    {
        var classes = _biases.Length;
        var stride = naiveBayes is null ? classes : 2 * classes;
        var table = new float[Featurizer.Dimension * stride];
        var weights = _weights;
        FeatureRows.Fill(table, stride, 0, classes, Featurizer.RowOf, (c, j) => weights[c].GetItemOrDefault(j));
        if (naiveBayes is not null)
        {
            FeatureRows.Fill(table, stride, classes, classes, Featurizer.RowOf, naiveBayes.Weight);
        }
        return (table, stride);
    }

    /// <summary>The linear member's weight of (<paramref name="label"/>, <paramref name="feature"/>).</summary>
    internal float LinearWeight(int label, int feature) => _weights[label].GetItemOrDefault(feature);

    /// <summary>Whether a naive Bayes component is ensembled with the ML.NET model.</summary>
    internal ComplementNaiveBayes? NaiveBayes => _naiveBayes;

    internal void AttachNaiveBayes(ComplementNaiveBayes naiveBayes, float weight)
    {
        if (naiveBayes.Classes != Labels.Count || naiveBayes.Dimension != Featurizer.Dimension)
        {
            throw new InvalidDataException("The naive Bayes component does not match the model's labels or features.");
        }
        _naiveBayes = naiveBayes;
        _naiveBayesWeight = weight;
        (_table, _stride) = BuildTable(weight > 0 ? naiveBayes : null);
    }

    // Both members are standardised per document and added on the maxent model's log-probability scale,
    // then renormalised, so the confidence stays a probability and thresholds stay meaningful.
    // nb: the naive Bayes joint log-likelihoods.
    private float[] Ensemble(ReadOnlySpan<float> probabilities, ReadOnlySpan<double> nb)
    {
        var n = probabilities.Length;
        Span<double> logP = stackalloc double[n];
        for (var i = 0; i < n; i++)
        {
            logP[i] = Math.Log(Math.Max(probabilities[i], 1e-12f));
        }
        var (_, logStd) = MeanStd(logP);
        var (nbMean, nbStd) = MeanStd(nb);
        var scale = nbStd > 0 ? _naiveBayesWeight * logStd / nbStd : 0;
        var max = double.NegativeInfinity;
        for (var i = 0; i < n; i++)
        {
            logP[i] += scale * (nb[i] - nbMean);
            max = Math.Max(max, logP[i]);
        }
        double sum = 0;
        for (var i = 0; i < n; i++)
        {
            logP[i] = Math.Exp(logP[i] - max);
            sum += logP[i];
        }
        var result = new float[n];
        for (var i = 0; i < n; i++)
        {
            result[i] = (float)(logP[i] / sum);
        }
        return result;
    }

    private static (double Mean, double Std) MeanStd(ReadOnlySpan<double> values)
    {
        double mean = 0;
        foreach (var v in values)
        {
            mean += v;
        }
        mean /= values.Length;
        double variance = 0;
        foreach (var v in values)
        {
            variance += (v - mean) * (v - mean);
        }
        return (mean, Math.Sqrt(variance / values.Length));
    }

    /// <summary>
    /// The words and word pairs of <paramref name="text"/> that pushed hardest towards <paramref name="labelIndex"/>.
    /// Character n-grams are folded into the words of the text that contain them (split evenly), so the explanation
    /// names words a caseworker can read, never word fragments.
    /// </summary>
    /// <param name="text">The document.</param>
    /// <param name="labelIndex">The label, as an index into <see cref="Labels"/>.</param>
    /// <param name="count">How many terms.</param>
    /// <returns>Terms with their contribution (weight × value), strongest first; only positive contributions.</returns>
    public IReadOnlyList<TermContribution> Explain(TextInput text, int labelIndex, int count = 10)
    {
        var features = Featurizer.Transform(text);
        var weights = _weights[labelIndex];
        var byTerm = new Dictionary<string, float>(StringComparer.Ordinal);
        string[]? words = null;
        for (var i = 0; i < features.Indices.Length; i++)
        {
            var index = features.Indices[i];
            var contribution = weights.GetItemOrDefault(index) * features.Values[i];
            var term = Featurizer.Term(index);
            if (!term.StartsWith('#'))
            {
                byTerm[term] = byTerm.GetValueOrDefault(term) + contribution;
                continue;
            }
            words ??= DistinctWords(text);
            var gram = term[1..];
            var owners = words.Where(w => (" " + w + " ").Contains(gram, StringComparison.Ordinal)).ToList();
            foreach (var owner in owners)
            {
                byTerm[owner] = byTerm.GetValueOrDefault(owner) + (contribution / owners.Count);
            }
        }
        return [.. byTerm.Where(t => t.Value > 0).OrderByDescending(t => t.Value).Take(count).Select(t => new TermContribution(t.Key, t.Value))];
    }

    private static string[] DistinctWords(TextInput text)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in (ReadOnlySpan<string>)[text.Subject, text.Body])
        {
            foreach (var token in Text.Tokenizer.Words(part.AsSpan()))
            {
                if (token.Length >= 2)
                {
                    words.Add(token.ToString());
                }
            }
        }
        return [.. words];
    }

    /// <summary>Writes the ML.NET part of a maximum-entropy model (the featurizer is saved separately).</summary>
    /// <param name="stream">Destination.</param>
    /// <exception cref="InvalidOperationException">The model's linear member is not an ML.NET model (see <see cref="SaveLinear"/>).</exception>
    public void SaveMlModel(Stream stream)
    {
        if (_ml is null || _model is null)
        {
            throw new InvalidOperationException("This model's linear member is saved with SaveLinear.");
        }
        _ml.Model.Save(_model, _inputSchema, stream);
    }

    /// <summary>
    /// Writes the linear member as labels, biases and one dense weight vector per label (single precision, little
    /// endian). The one-versus-rest SVMs are ML.NET models; their weights are kept this way because ML.NET has no model
    /// type that holds several binary models for one feature vector without its own calibration and normalisation.
    /// </summary>
    /// <param name="stream">Destination.</param>
    internal void SaveLinear(Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(LinearFormatTag);
        writer.Write(Labels.Count);
        writer.Write(Featurizer.Dimension);
        foreach (var label in Labels)
        {
            writer.Write(label);
        }
        foreach (var bias in _biases)
        {
            writer.Write(bias);
        }
        var row = new float[Featurizer.Dimension];
        foreach (var weights in _weights)
        {
            weights.CopyTo(row);
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()));
        }
    }

    /// <summary>Reads a linear member written by <see cref="SaveLinear"/> together with its featurizer.</summary>
    /// <param name="stream">The data.</param>
    /// <param name="featurizer">The featurizer trained with it.</param>
    /// <returns>The model.</returns>
    /// <exception cref="InvalidDataException">The data is not a linear member for this featurizer.</exception>
    internal static TextModel LoadLinear(Stream stream, TextFeaturizer featurizer)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadString() != LinearFormatTag)
            {
                throw new InvalidDataException("Not a SmartMail linear model (format tag mismatch).");
            }
            var classes = reader.ReadInt32();
            var dimension = reader.ReadInt32();
            if (classes is < 2 or > 100_000 || dimension != featurizer.Dimension)
            {
                throw new InvalidDataException(
                    $"The linear model has {classes} labels over {dimension} features; the featurizer makes {featurizer.Dimension}.");
            }
            var labels = new string[classes];
            for (var c = 0; c < classes; c++)
            {
                labels[c] = reader.ReadString();
            }
            var biases = new float[classes];
            for (var c = 0; c < classes; c++)
            {
                biases[c] = reader.ReadSingle();
            }
            var weights = new float[classes][];
            for (var c = 0; c < classes; c++)
            {
                weights[c] = new float[dimension];
                reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights[c].AsSpan()));
            }
            if (weights.Any(w => w.Any(v => !float.IsFinite(v))) || biases.Any(b => !float.IsFinite(b)))
            {
                throw new InvalidDataException("The linear model holds weights that are not finite numbers.");
            }
            return new TextModel(featurizer, labels, weights, biases);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The linear model data is truncated.", ex);
        }
    }

    /// <summary>Loads a model written by <see cref="SaveMlModel"/> together with its featurizer.</summary>
    /// <param name="mlModel">The ML.NET model stream.</param>
    /// <param name="featurizer">The featurizer trained with it.</param>
    /// <returns>The model.</returns>
    /// <exception cref="InvalidDataException">The stream is not a usable ML.NET model.</exception>
    public static TextModel Load(Stream mlModel, TextFeaturizer featurizer)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        var ml = new MLContext(seed: 1);
        ITransformer model;
        DataViewSchema schema;
        try
        {
            model = ml.Model.Load(mlModel, out schema);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or ArgumentException or IOException)
        {
            throw new InvalidDataException($"The ML.NET model cannot be read: {ex.Message}", ex);
        }
        var column = schema.GetColumnOrNull(nameof(FeatureRow.Features));
        if (column is not { Type: VectorDataViewType { Size: var size } } || size != featurizer.Dimension)
        {
            throw new InvalidDataException(
                $"The ML.NET model expects a different feature vector than the featurizer makes ({featurizer.Dimension}).");
        }
        return new TextModel(ml, model, featurizer, schema);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_engines is null)
        {
            return;
        }
        foreach (var engine in _engines.Values)
        {
            engine.Dispose();
        }
        _engines.Dispose();
    }

    private static MaximumEntropyModelParameters? FindPredictor(ITransformer model)
    {
        if (model is IEnumerable<ITransformer> chain)
        {
            foreach (var t in chain.Reverse())
            {
                if (FindPredictor(t) is { } p)
                {
                    return p;
                }
            }
        }
        return model is ISingleFeaturePredictionTransformer<MaximumEntropyModelParameters> single ? single.Model : null;
    }
}

/// <summary>How much one term pushed a decision.</summary>
/// <param name="Term">The word or word pair.</param>
/// <param name="Contribution">Weight times feature value.</param>
public sealed record TermContribution(string Term, float Contribution);
