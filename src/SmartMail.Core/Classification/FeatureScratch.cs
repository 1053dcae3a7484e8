using System.Numerics;

namespace SmartMail.Core.Classification;

/// <summary>
/// One thread's reusable buffers for featurizing a document: a small open-addressing map from feature index to
/// accumulated term frequency (it stays in the L1 cache for a mail's few hundred distinct terms), then the
/// finished sparse vector with each feature's row in the scoring tables (see <see cref="TermTable.RowOf"/>). Grows to
/// the largest document seen and is never shrunk. Not thread-safe: one per thread.
/// </summary>
internal sealed class FeatureScratch
{
    private int[] _slots = new int[1024]; // position in the lists + 1; 0 is empty
    private int[] _indices = new int[512];
    private float[] _tf = new float[512];
    private float[] _idf = new float[512];
    private int[] _rows = new int[512];
    private int[] _order = new int[512];
    private float[] _values = new float[512];
    private int[] _sortedRows = new int[512];
    private int _count;
    private int _knownWords;
    private bool _mapInUse;

    /// <summary>The feature indices, ascending (after <see cref="Normalise"/>).</summary>
    public ReadOnlySpan<int> Indices => _indices.AsSpan(0, _count);

    /// <summary>The feature values, at the positions of <see cref="Indices"/> (after <see cref="Normalise"/>).</summary>
    public ReadOnlySpan<float> Values => _values.AsSpan(0, _count);

    /// <summary>The features' rows in the scoring tables, at the positions of <see cref="Indices"/> (after <see cref="Normalise"/>).</summary>
    public ReadOnlySpan<int> Rows => _sortedRows.AsSpan(0, _count);

    /// <summary>How many distinct known words the document has (see <see cref="TextFeaturizer.IsEvidence"/>).</summary>
    public int KnownWords => _knownWords;

    /// <summary>Empties the buffers for the next document.</summary>
    public void Clear()
    {
        _knownWords = 0;
        if (_mapInUse)
        {
            Array.Clear(_slots);
            _mapInUse = false;
        }
        _count = 0;
    }

    /// <summary>Adds <paramref name="weight"/> to the frequency of feature <paramref name="index"/>.</summary>
    /// <param name="index">The feature.</param>
    /// <param name="idf">Its IDF weight.</param>
    /// <param name="row">Its row in the scoring tables.</param>
    /// <param name="weight">The weight of this occurrence.</param>
    /// <param name="isWord">Whether the feature counts as a known word (once, in <see cref="KnownWords"/>).</param>
    public void Add(int index, float idf, int row, float weight, bool isWord = false)
    {
        var mask = _slots.Length - 1;
        for (var slot = Slot(index, mask); ; slot = (slot + 1) & mask)
        {
            var at = _slots[slot] - 1;
            if (at < 0)
            {
                break;
            }
            if (_indices[at] == index)
            {
                _tf[at] += weight;
                return;
            }
        }
        if (_count == _indices.Length)
        {
            Grow();
        }
        if (isWord)
        {
            _knownWords++;
        }
        _indices[_count] = index;
        _tf[_count] = weight;
        _idf[_count] = idf;
        _rows[_count] = row;
        _count++;
        _mapInUse = true;
        if (_count * 2 > _slots.Length)
        {
            Rehash(_slots.Length * 2);
        }
        else
        {
            Place(_count - 1);
        }
    }

    /// <summary>
    /// Turns the frequencies into TF-IDF values (<c>1 + ln(tf)</c> when <paramref name="sublinear"/>), sorts by
    /// feature index and scales to unit length. The arithmetic and its order are those of the dictionary-based
    /// featurizer this replaced, so vectors are bit-identical to it.
    /// </summary>
    public void Normalise(bool sublinear)
    {
        var order = _order.AsSpan(0, _count);
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        _indices.AsSpan(0, _count).Sort(order);
        var values = _values.AsSpan(0, _count);
        for (var i = 0; i < values.Length; i++)
        {
            var at = order[i];
            var tf = _tf[at];
            values[i] = (sublinear ? 1f + MathF.Log(tf) : tf) * _idf[at];
            _sortedRows[i] = _rows[at];
        }
        double norm = 0;
        foreach (var v in values)
        {
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
        // The indices are now sorted, no longer at the positions the map points to: empty the map.
        if (_mapInUse)
        {
            Array.Clear(_slots);
            _mapInUse = false;
        }
    }

    private void Grow()
    {
        var size = _indices.Length * 2;
        Array.Resize(ref _indices, size);
        Array.Resize(ref _tf, size);
        Array.Resize(ref _idf, size);
        Array.Resize(ref _rows, size);
        _order = new int[size];
        _values = new float[size];
        _sortedRows = new int[size];
    }

    private void Rehash(int size)
    {
        _slots = new int[size];
        for (var i = 0; i < _count; i++)
        {
            Place(i);
        }
    }

    private void Place(int at)
    {
        var mask = _slots.Length - 1;
        var slot = Slot(_indices[at], mask);
        while (_slots[slot] != 0)
        {
            slot = (slot + 1) & mask;
        }
        _slots[slot] = at + 1;
    }

    private static int Slot(int index, int mask) => (int)(BitOperations.RotateLeft((uint)index * 0x9E3779B1u, 16)) & mask;
}
