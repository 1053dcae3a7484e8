using System.Text;

namespace SmartMail.Core.Classification;

/// <summary>
/// Complement Naive Bayes (Rennie et al. 2003) over the featurizer's TF-IDF vectors: for each label, the
/// weights are the negated log-probabilities of the terms in all <em>other</em> labels' documents. It is
/// strong on text where a linear model is weak and vice versa, so it is ensembled with the ML.NET model.
/// Weights are stored as half-precision floats to keep the bundle small and held so in memory; serving reads them
/// from <see cref="TextModel"/>'s scoring table. <see cref="Score(SparseVector, Span{double})"/> (the reference and
/// the benchmarks) builds its own feature-major single-precision table on first use.
/// </summary>
internal sealed class ComplementNaiveBayes
{
    private const string FormatTag = "smartmail-cnb/1";
    private readonly Half[][] _weights;
    private float[]? _byFeature;

    private ComplementNaiveBayes(Half[][] weights)
    {
        _weights = weights;
        Classes = weights.Length;
        Dimension = weights.Length == 0 ? 0 : weights[0].Length;
    }

    public int Classes { get; }

    public int Dimension { get; }

    /// <summary>Fits the weights; <paramref name="labelIndex"/> gives each row's class in model label order.</summary>
    public static ComplementNaiveBayes Fit(IReadOnlyList<SparseVector> rows, IReadOnlyList<int> labelIndex, int classes, int dimension, double alpha)
    {
        var perClass = new double[classes][];
        for (var c = 0; c < classes; c++)
        {
            perClass[c] = new double[dimension];
        }
        var total = new double[dimension];
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            var counts = perClass[labelIndex[r]];
            for (var k = 0; k < row.Indices.Length; k++)
            {
                counts[row.Indices[k]] += row.Values[k];
                total[row.Indices[k]] += row.Values[k];
            }
        }
        var totalSum = total.Sum();
        var weights = new Half[classes][];
        for (var c = 0; c < classes; c++)
        {
            var complementSum = totalSum - perClass[c].Sum() + (alpha * dimension);
            var w = new Half[dimension];
            for (var j = 0; j < dimension; j++)
            {
                w[j] = (Half)(-Math.Log((total[j] - perClass[c][j] + alpha) / complementSum));
            }
            weights[c] = w;
        }
        return new ComplementNaiveBayes(weights);
    }

    /// <summary>Joint log-likelihood per class (higher is more likely).</summary>
    public void Score(SparseVector features, Span<double> output) => Score(features.Indices, features.Values, output);

    /// <summary>Joint log-likelihood per class of the sparse vector (<paramref name="indices"/>, <paramref name="values"/>).</summary>
    public void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<double> output)
    {
        var byFeature = LazyInitializer.EnsureInitialized(ref _byFeature, () =>
        {
            var table = new float[Classes * Dimension];
            FeatureRows.Fill(table, Classes, 0, Classes, [.. Enumerable.Range(0, Dimension)], Weight);
            return table;
        });
        output = output[..Classes];
        output.Clear();
        FeatureRows.Accumulate(byFeature, Classes, 0, indices, values, output);
    }

    /// <summary>The weight of (<paramref name="label"/>, <paramref name="feature"/>).</summary>
    public float Weight(int label, int feature) => (float)_weights[label][feature];

    public void Save(Stream stream)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(FormatTag);
        writer.Write(Classes);
        writer.Write(Dimension);
        for (var c = 0; c < Classes; c++)
        {
            for (var j = 0; j < Dimension; j++)
            {
                writer.Write(_weights[c][j]);
            }
        }
    }

    public static ComplementNaiveBayes Load(Stream stream, int classes, int dimension)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadString() != FormatTag)
            {
                throw new InvalidDataException("Not a SmartMail naive Bayes component (format tag mismatch).");
            }
            if (reader.ReadInt32() != classes || reader.ReadInt32() != dimension)
            {
                throw new InvalidDataException("The naive Bayes component does not match the model's labels or features.");
            }
            var weights = new Half[classes][];
            for (var c = 0; c < classes; c++)
            {
                var w = new Half[dimension];
                for (var j = 0; j < dimension; j++)
                {
                    w[j] = reader.ReadHalf();
                }
                weights[c] = w;
            }
            return new ComplementNaiveBayes(weights);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The naive Bayes component is truncated.", ex);
        }
    }
}
