using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SmartMail.Core.Classification;

/// <summary>
/// Scoring kernels over weights held feature-major (<c>weights[feature * classes + class]</c>): a sparse document
/// adds <c>value × row</c> for each of its features, so one feature's weights for every class are read as one
/// contiguous row (SIMD across the classes) instead of one scattered read per class. Each class still sums its
/// features in the document's order with a separate multiply and add (no fused multiply-add), so the result is
/// the same, bit for bit, as the plain scalar loop.
/// </summary>
internal static class FeatureRows
{
    /// <summary>Transposes class-major weights (one array per class) to feature-major.</summary>
    /// <param name="classes">The number of classes.</param>
    /// <param name="dimension">The number of features.</param>
    /// <param name="weight">The weight of (class, feature).</param>
    /// <returns><c>weights[feature * classes + class]</c>.</returns>
    public static float[] Transpose(int classes, int dimension, Func<int, int, float> weight)
    {
        var byFeature = new float[classes * dimension];
        for (var c = 0; c < classes; c++)
        {
            for (var j = 0; j < dimension; j++)
            {
                byFeature[(j * classes) + c] = weight(c, j);
            }
        }
        return byFeature;
    }

    /// <summary><c>output[c] += Σ_k values[k] × weights[indices[k], c]</c> in single precision.</summary>
    public static void Accumulate(float[] weights, int classes, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output)
    {
        ref var acc = ref MemoryMarshal.GetReference(output[..classes]);
        for (var k = 0; k < indices.Length; k++)
        {
            ref var row = ref MemoryMarshal.GetReference(weights.AsSpan(indices[k] * classes, classes));
            var value = values[k];
            var c = 0;
            for (; c + 8 <= classes; c += 8)
            {
                var sum = Vector256.LoadUnsafe(ref acc, (nuint)c) + (Vector256.LoadUnsafe(ref row, (nuint)c) * value);
                sum.StoreUnsafe(ref acc, (nuint)c);
            }
            for (; c + 4 <= classes; c += 4)
            {
                var sum = Vector128.LoadUnsafe(ref acc, (nuint)c) + (Vector128.LoadUnsafe(ref row, (nuint)c) * value);
                sum.StoreUnsafe(ref acc, (nuint)c);
            }
            for (; c < classes; c++)
            {
                Unsafe.Add(ref acc, c) += Unsafe.Add(ref row, c) * value;
            }
        }
    }

    /// <summary><c>output[c] += Σ_k values[k] × weights[indices[k], c]</c> in double precision (weights widened exactly).</summary>
    public static void Accumulate(float[] weights, int classes, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<double> output)
    {
        ref var acc = ref MemoryMarshal.GetReference(output[..classes]);
        for (var k = 0; k < indices.Length; k++)
        {
            ref var row = ref MemoryMarshal.GetReference(weights.AsSpan(indices[k] * classes, classes));
            double value = values[k];
            var c = 0;
            for (; c + 8 <= classes; c += 8)
            {
                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref row, (nuint)c));
                (Vector256.LoadUnsafe(ref acc, (nuint)c) + (low * value)).StoreUnsafe(ref acc, (nuint)c);
                (Vector256.LoadUnsafe(ref acc, (nuint)(c + 4)) + (high * value)).StoreUnsafe(ref acc, (nuint)(c + 4));
            }
            for (; c + 4 <= classes; c += 4)
            {
                var (low, high) = Vector128.Widen(Vector128.LoadUnsafe(ref row, (nuint)c));
                (Vector128.LoadUnsafe(ref acc, (nuint)c) + (low * value)).StoreUnsafe(ref acc, (nuint)c);
                (Vector128.LoadUnsafe(ref acc, (nuint)(c + 2)) + (high * value)).StoreUnsafe(ref acc, (nuint)(c + 2));
            }
            for (; c < classes; c++)
            {
                Unsafe.Add(ref acc, c) += Unsafe.Add(ref row, c) * value;
            }
        }
    }
}
