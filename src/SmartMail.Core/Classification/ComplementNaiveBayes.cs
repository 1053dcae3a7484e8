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
        var counts = new Counts(classes, dimension);
        for (var r = 0; r < rows.Count; r++)
        {
            counts.Add(rows[r].Indices, rows[r].Values, labelIndex[r]);
        }
        return counts.Fit(alpha);
    }

    /// <summary>
    /// The per-class feature sums naive Bayes is fitted from, added one document at a time (so the documents need not
    /// be held), and the weights they give over all features or over a subset of them.
    /// </summary>
    internal sealed class Counts(int classes, int dimension)
    {
        private readonly double[][] _perClass = [.. Enumerable.Range(0, classes).Select(_ => new double[dimension])];
        private readonly double[] _total = new double[dimension];

        /// <summary>Adds a document of class <paramref name="label"/>.</summary>
        public void Add(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, int label)
        {
            var counts = _perClass[label];
            for (var k = 0; k < indices.Length; k++)
            {
                counts[indices[k]] += values[k];
                _total[indices[k]] += values[k];
            }
        }

        /// <summary>Adds <paramref name="other"/>'s sums to these.</summary>
        public void Merge(Counts other)
        {
            for (var c = 0; c < classes; c++)
            {
                for (var j = 0; j < dimension; j++)
                {
                    _perClass[c][j] += other._perClass[c][j];
                }
            }
            for (var j = 0; j < dimension; j++)
            {
                _total[j] += other._total[j];
            }
        }

        /// <summary>The weights per class and feature; features outside <paramref name="include"/> (when given) get 0 and do not count.</summary>
        public double[][] Weights(double alpha, Func<int, bool>? include = null)
        {
            var included = include is null ? dimension : Enumerable.Range(0, dimension).Count(include);
            double totalSum = 0;
            for (var j = 0; j < dimension; j++)
            {
                totalSum += include is null || include(j) ? _total[j] : 0;
            }
            var weights = new double[classes][];
            for (var c = 0; c < classes; c++)
            {
                double classSum = 0;
                for (var j = 0; j < dimension; j++)
                {
                    classSum += include is null || include(j) ? _perClass[c][j] : 0;
                }
                var complementSum = totalSum - classSum + (alpha * included);
                var w = new double[dimension];
                for (var j = 0; j < dimension; j++)
                {
                    w[j] = include is null || include(j) ? -Math.Log((_total[j] - _perClass[c][j] + alpha) / complementSum) : 0;
                }
                weights[c] = w;
            }
            return weights;
        }

        /// <summary>The naive Bayes member over all features.</summary>
        public ComplementNaiveBayes Fit(double alpha) =>
            new([.. Weights(alpha).Select(w => w.Select(v => (Half)v).ToArray())]);
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
