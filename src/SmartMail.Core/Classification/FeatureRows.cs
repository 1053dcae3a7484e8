using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SmartMail.Core.Classification;

/// <summary>
/// Scoring kernels over weights held feature-major: row <c>r</c> of a table holds one feature's weights for every
/// class side by side (<c>table[r * stride + offset + class]</c>), so a sparse document adds <c>value × row</c> for
/// each of its features and reads one contiguous row (SIMD across the classes) instead of one scattered read per
/// class. A table may hold several models' columns in one row (stride &gt; classes), so one
/// feature's weights for all of them share cache lines. Each class still sums the features in the document's
/// order with a separate multiply and add (no fused multiply-add), so the result is the same, bit for bit, as
/// the plain scalar loop over the same features.
/// </summary>
internal static class FeatureRows
{
    /// <summary>Fills columns <c>[offset, offset + classes)</c> of a table from class-major weights.</summary>
    /// <param name="table">The table (<c>dimension × stride</c>).</param>
    /// <param name="stride">Floats per row.</param>
    /// <param name="offset">The first column to fill.</param>
    /// <param name="classes">The number of classes.</param>
    /// <param name="rowOf">The row of each feature index.</param>
    /// <param name="weight">The weight of (class, feature index).</param>
    public static void Fill(float[] table, int stride, int offset, int classes, ReadOnlySpan<int> rowOf, Func<int, int, float> weight)
    {
        for (var j = 0; j < rowOf.Length; j++)
        {
            var row = table.AsSpan((rowOf[j] * stride) + offset, classes);
            for (var c = 0; c < classes; c++)
            {
                row[c] = weight(c, j);
            }
        }
    }

    /// <summary><c>output[c] += Σ_k values[k] × table[rows[k], offset + c]</c> in single precision.</summary>
    public static void Accumulate(float[] table, int stride, int offset, ReadOnlySpan<int> rows, ReadOnlySpan<float> values, Span<float> output)
    {
        var classes = output.Length;
        ref var acc = ref MemoryMarshal.GetReference(output);
        for (var k = 0; k < rows.Length; k++)
        {
            ref var row = ref MemoryMarshal.GetReference(table.AsSpan((rows[k] * stride) + offset, classes));
            var value = values[k];
            var c = 0;
            for (; c + 8 <= classes; c += 8)
            {
                (Vector256.LoadUnsafe(ref acc, (nuint)c) + (Vector256.LoadUnsafe(ref row, (nuint)c) * value)).StoreUnsafe(ref acc, (nuint)c);
            }
            if (c + 4 <= classes)
            {
                (Vector128.LoadUnsafe(ref acc, (nuint)c) + (Vector128.LoadUnsafe(ref row, (nuint)c) * value)).StoreUnsafe(ref acc, (nuint)c);
                c += 4;
            }
            for (; c < classes; c++)
            {
                Unsafe.Add(ref acc, c) += Unsafe.Add(ref row, c) * value;
            }
        }
    }

    /// <summary><c>output[c] += Σ_k values[k] × table[rows[k], offset + c]</c> in double precision (weights widened exactly).</summary>
    public static void Accumulate(float[] table, int stride, int offset, ReadOnlySpan<int> rows, ReadOnlySpan<float> values, Span<double> output)
    {
        var classes = output.Length;
        ref var acc = ref MemoryMarshal.GetReference(output);
        var vectorEnd = classes - (classes % 8);
        for (var k = 0; k < rows.Length; k++)
        {
            ref var row = ref MemoryMarshal.GetReference(table.AsSpan((rows[k] * stride) + offset, classes));
            double value = values[k];
            for (var c = 0; c < vectorEnd; c += 8)
            {
                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref row, (nuint)c));
                (Vector256.LoadUnsafe(ref acc, (nuint)c) + (low * value)).StoreUnsafe(ref acc, (nuint)c);
                (Vector256.LoadUnsafe(ref acc, (nuint)(c + 4)) + (high * value)).StoreUnsafe(ref acc, (nuint)(c + 4));
            }
            for (var c = vectorEnd; c < classes; c++)
            {
                Unsafe.Add(ref acc, c) += Unsafe.Add(ref row, c) * value;
            }
        }
    }
}
