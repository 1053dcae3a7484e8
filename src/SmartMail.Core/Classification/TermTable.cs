using System.Numerics;

namespace SmartMail.Core.Classification;

/// <summary>
/// The featurizer's vocabulary as an open-addressing hash table built at load time: term → (feature index, IDF, row).
/// A lookup hashes the term's characters (no string is made), probes one array of 4-byte slots (2 MB for 200,000
/// terms, so it stays in the caches) and rejects almost every unknown term on a fingerprint kept in the slot's bits
/// the row does not need (14 bits for 200,000 terms), without touching the term's text. Known terms are confirmed
/// against the terms' characters stored back to back in one array, so a lookup is exact, as with a dictionary of strings.
/// Word pairs are looked up as two spans (<c>first + ' ' + second</c>) with a hash carried over from the first word,
/// so a pair is never copied into a buffer.
/// <para>
/// Terms are stored in <em>row</em> order: most frequent first (lowest IDF; ties by feature index). The rows of the
/// scoring weights use the same order, so the few thousand terms that make up most of any mail share a compact, warm
/// region of memory instead of being spread over every cache line of the tables. Immutable and thread-safe.
/// </para>
/// </summary>
internal sealed class TermTable
{
    /// <summary>The hash state before the first character (FNV-1a 64 offset basis).</summary>
    public const ulong Seed = 14695981039346656037UL;

    private const ulong Prime = 1099511628211UL;
    private const int LoadDivisor = 2; // capacity ≥ 1.5 × terms: at most 2/3 full, short probe runs
    private readonly uint[] _slots;
    private readonly uint _rowMask;
    private readonly Term[] _byRow;
    private readonly int _shift;
    private readonly char[] _text;

    public TermTable(IReadOnlyList<string> terms, IReadOnlyList<float> idf)
    {
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, terms.Count + (terms.Count / LoadDivisor)));
        _slots = new uint[capacity];
        _shift = 64 - BitOperations.Log2((uint)capacity);
        _rowMask = uint.MaxValue >> BitOperations.LeadingZeroCount((uint)Math.Max(1, terms.Count));
        RowOf = RowOrder(idf);
        _byRow = new Term[terms.Count];
        var length = 0;
        foreach (var term in terms)
        {
            length += term.Length + 1;
        }
        _text = new char[length];
        var indexOfRow = new int[terms.Count];
        for (var i = 0; i < terms.Count; i++)
        {
            indexOfRow[RowOf[i]] = i;
        }
        var at = 0;
        foreach (var i in indexOfRow)
        {
            var term = terms[i].AsSpan();
            var row = RowOf[i];
            _text[at] = (char)Math.Min(term.Length, char.MaxValue);
            term[..Math.Min(term.Length, char.MaxValue)].CopyTo(_text.AsSpan(at + 1));
            _byRow[row] = new Term(at, i, idf[i]);
            at += term.Length + 1;
            if (term.IsEmpty || term.Length > char.MaxValue)
            {
                continue; // never emitted by the featurizer, so never looked up
            }
            var mixed = Mix(Hash(Seed, term));
            var slot = FindSlot(mixed, term, []);
            // A repeated term keeps its last index, as a dictionary filled in index order would.
            if (_slots[slot] == 0 || _byRow[(int)(_slots[slot] & _rowMask) - 1].Index < i)
            {
                _slots[slot] = ((uint)mixed & ~_rowMask) | (uint)(row + 1);
            }
        }
    }

    /// <summary>The row of each feature index: features by falling frequency (rising IDF), ties by index.</summary>
    public int[] RowOf { get; }

    /// <summary>Continues the hash <paramref name="state"/> over <paramref name="chars"/> (FNV-1a, one step per char).</summary>
    public static ulong Hash(ulong state, ReadOnlySpan<char> chars)
    {
        foreach (var c in chars)
        {
            state = (state ^ c) * Prime;
        }
        return state;
    }

    /// <summary>Continues the hash <paramref name="state"/> over one char.</summary>
    public static ulong Hash(ulong state, char c) => (state ^ c) * Prime;

    /// <summary>Looks up the term <paramref name="first"/>, or the pair <c>first + ' ' + second</c> when <paramref name="second"/> is not empty.</summary>
    /// <param name="hash">The <see cref="Hash(ulong, ReadOnlySpan{char})"/> of the whole term, from <see cref="Seed"/>.</param>
    /// <param name="first">The term, or the pair's first word.</param>
    /// <param name="second">The pair's second word, or empty.</param>
    /// <param name="index">The feature index.</param>
    /// <param name="idf">The feature's IDF weight.</param>
    /// <param name="row">The feature's row (see <see cref="RowOf"/>).</param>
    /// <returns>Whether the term is in the vocabulary.</returns>
    public bool TryGet(ulong hash, ReadOnlySpan<char> first, ReadOnlySpan<char> second, out int index, out float idf, out int row)
    {
        row = (int)(_slots[FindSlot(Mix(hash), first, second)] & _rowMask) - 1;
        if (row < 0)
        {
            index = -1;
            idf = 0;
            return false;
        }
        ref readonly var term = ref _byRow[row];
        index = term.Index;
        idf = term.Idf;
        return true;
    }

    private static int[] RowOrder(IReadOnlyList<float> idf)
    {
        var indices = new int[idf.Count];
        for (var i = 0; i < indices.Length; i++)
        {
            indices[i] = i;
        }
        Array.Sort(indices, (a, b) => idf[a] != idf[b] ? idf[a].CompareTo(idf[b]) : a.CompareTo(b));
        var rowOf = new int[indices.Length];
        for (var row = 0; row < indices.Length; row++)
        {
            rowOf[indices[row]] = row;
        }
        return rowOf;
    }

    // Linear probing from the slot named by the high bits of the mixed hash. A slot is one uint: the row + 1 in the
    // low bits (0 = empty), and in the bits above them a fingerprint from the low bits of the mixed hash.
    private int FindSlot(ulong mixed, ReadOnlySpan<char> first, ReadOnlySpan<char> second)
    {
        var mask = _slots.Length - 1;
        var fingerprint = (uint)mixed & ~_rowMask;
        for (var slot = (int)(mixed >> _shift); ; slot = (slot + 1) & mask)
        {
            var entry = _slots[slot];
            if (entry == 0 || ((entry & ~_rowMask) == fingerprint && Matches(_byRow[(int)(entry & _rowMask) - 1].Start, first, second)))
            {
                return slot;
            }
        }
    }

    private bool Matches(int start, ReadOnlySpan<char> first, ReadOnlySpan<char> second)
    {
        var length = second.IsEmpty ? first.Length : first.Length + 1 + second.Length;
        if (_text[start] != length)
        {
            return false;
        }
        var text = _text.AsSpan(start + 1, length);
        return second.IsEmpty
            ? text.SequenceEqual(first)
            : text[..first.Length].SequenceEqual(first) && text[first.Length] == ' ' && text[(first.Length + 1)..].SequenceEqual(second);
    }

    // MurmurHash3's 64-bit finaliser: spreads FNV's weak high bits before they pick the slot.
    private static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        return h ^ (h >> 33);
    }

    // One vocabulary term, in row order: where its text starts, its feature index and IDF.
    private readonly record struct Term(int Start, int Index, float Idf);
}
