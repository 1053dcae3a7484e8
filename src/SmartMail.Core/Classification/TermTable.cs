using System.Numerics;

namespace SmartMail.Core.Classification;

/// <summary>
/// The featurizer's vocabulary as an open-addressing hash table built at load time: term → (feature index, IDF).
/// A lookup hashes the term's characters (no string is made), probes one small array and rejects almost every
/// unknown term on a 32-bit fingerprint, without touching the term's text. Known terms are confirmed against the
/// terms' characters stored back to back in one array, so a lookup is exact, as with a dictionary of strings.
/// Word pairs are looked up as two spans (<c>first + ' ' + second</c>) with a hash carried over from the first word,
/// so a pair is never copied into a buffer. Immutable and thread-safe after construction.
/// </summary>
internal sealed class TermTable
{
    /// <summary>The hash state before the first character (FNV-1a 64 offset basis).</summary>
    public const ulong Seed = 14695981039346656037UL;

    private const ulong Prime = 1099511628211UL;
    private readonly Entry[] _entries;
    private readonly int _shift;
    private readonly char[] _text;

    public TermTable(IReadOnlyList<string> terms, IReadOnlyList<float> idf)
    {
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, terms.Count * 2));
        _entries = new Entry[capacity];
        _shift = 64 - BitOperations.Log2((uint)capacity);
        var length = 1;
        foreach (var term in terms)
        {
            length += term.Length + 1;
        }
        _text = new char[length];
        var at = 1; // 0 marks an empty slot
        for (var i = 0; i < terms.Count; i++)
        {
            var term = terms[i].AsSpan();
            if (term.IsEmpty || term.Length > char.MaxValue)
            {
                continue; // never emitted by the featurizer, so never looked up
            }
            var mixed = Mix(Hash(Seed, term));
            var slot = FindSlot(mixed, term, []);
            if (_entries[slot].Start == 0)
            {
                _text[at] = (char)term.Length;
                term.CopyTo(_text.AsSpan(at + 1));
                _entries[slot].Fingerprint = (uint)mixed;
                _entries[slot].Start = at;
                at += term.Length + 1;
            }
            // A repeated term keeps its last index, as a dictionary filled in order would.
            _entries[slot].Index = i;
            _entries[slot].Idf = idf[i];
        }
    }

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
    /// <returns>Whether the term is in the vocabulary.</returns>
    public bool TryGet(ulong hash, ReadOnlySpan<char> first, ReadOnlySpan<char> second, out int index, out float idf)
    {
        var slot = FindSlot(Mix(hash), first, second);
        ref readonly var entry = ref _entries[slot];
        index = entry.Index;
        idf = entry.Idf;
        return entry.Start != 0;
    }

    // Linear probing from the slot named by the high bits; the low 32 bits are the fingerprint.
    private int FindSlot(ulong mixed, ReadOnlySpan<char> first, ReadOnlySpan<char> second)
    {
        var mask = _entries.Length - 1;
        var fingerprint = (uint)mixed;
        for (var slot = (int)(mixed >> _shift); ; slot = (slot + 1) & mask)
        {
            ref readonly var entry = ref _entries[slot];
            if (entry.Start == 0 || (entry.Fingerprint == fingerprint && Matches(entry.Start, first, second)))
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

    private struct Entry
    {
        public uint Fingerprint;
        public int Start;
        public int Index;
        public float Idf;
    }
}
