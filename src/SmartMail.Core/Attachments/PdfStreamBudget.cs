using System.IO.Compression;
using UglyToad.PdfPig.Filters;
using UglyToad.PdfPig.Tokens;

namespace SmartMail.Core.Attachments;

/// <summary>
/// What one PDF's streams may cost while PdfPig decodes them: at most <c>MaxPdfStreamBytes</c> decoded in all, and the
/// attachment's time budget, checked every 64 KiB of inflation — inside a page, not only between pages. A Flate stream is
/// inflated and counted by us first (without keeping the bytes), so that a bomb (10 MiB at 1000:1 is 10 GiB) is stopped
/// after the cap, before PdfPig inflates it into memory. PdfPig may swallow an exception of a filter (lenient parsing):
/// the first reason stays in <see cref="Exceeded"/>, every later decode fails at once, and the reader checks it after
/// each page.
/// </summary>
internal sealed class PdfStreamBudget(long maxBytes, Action checkTime)
{
    private const int Chunk = 64 * 1024;
    private long _decoded;

    /// <summary>Why the budget ran out, once it has.</summary>
    public string? Exceeded { get; private set; }

    /// <summary>A filter provider that decodes through PdfPig's own filters within this budget.</summary>
    /// <returns>The provider.</returns>
    public IFilterProvider Filters() => new BoundedFilterProvider(DefaultFilterProvider.Instance, this);

    private void Spend(long bytes)
    {
        if (Exceeded is { } reason)
        {
            throw new PdfBudgetException(reason);
        }
        _decoded += bytes;
        if (_decoded > maxBytes)
        {
            Fail($"PDF bomb: its streams inflate past {maxBytes} bytes");
        }
        try
        {
            checkTime();
        }
        catch (IOException ex)
        {
            Fail(ex.Message);
        }
    }

    private void Fail(string reason)
    {
        Exceeded ??= reason;
        throw new PdfBudgetException(Exceeded);
    }

    // Inflates a zlib stream (PdfPig's Flate input) into nothing, counting: stops at the cap or the time budget.
    private void CountInflated(ReadOnlyMemory<byte> input)
    {
        if (input.Length < 2)
        {
            return;
        }
        var buffer = new byte[Chunk];
        using var inflate = new DeflateStream(new MemoryStream(input[2..].ToArray(), writable: false), CompressionMode.Decompress);
        try
        {
            int n;
            while ((n = inflate.Read(buffer)) > 0)
            {
                Spend(n);
            }
        }
        catch (InvalidDataException)
        {
            // Broken data: PdfPig decides what it makes of it (what was inflated so far is counted).
        }
    }

    private sealed class BoundedFilterProvider(IFilterProvider inner, PdfStreamBudget budget) : IFilterProvider
    {
        public IReadOnlyList<IFilter> GetFilters(DictionaryToken dictionary) => Wrap(inner.GetFilters(dictionary));

        public IReadOnlyList<IFilter> GetNamedFilters(IReadOnlyList<NameToken> names) => Wrap(inner.GetNamedFilters(names));

        public IReadOnlyList<IFilter> GetAllFilters() => Wrap(inner.GetAllFilters());

        private IReadOnlyList<IFilter> Wrap(IReadOnlyList<IFilter> filters) => [.. filters.Select(f => (IFilter)new BoundedFilter(f, budget))];
    }

    private sealed class BoundedFilter(IFilter inner, PdfStreamBudget budget) : IFilter
    {
        public bool IsSupported => inner.IsSupported;

        public Memory<byte> Decode(Memory<byte> input, DictionaryToken streamDictionary, IFilterProvider filterProvider, int filterIndex)
        {
            if (inner is FlateFilter)
            {
                budget.CountInflated(input);
            }
            else
            {
                budget.Spend(0); // the time and an earlier excess are checked before any decoding
            }
            var output = inner.Decode(input, streamDictionary, filterProvider, filterIndex);
            if (inner is not FlateFilter)
            {
                budget.Spend(output.Length);
            }
            return output;
        }
    }
}

/// <summary>A PDF's streams went past their budget (bytes or time).</summary>
internal sealed class PdfBudgetException : IOException
{
    /// <summary>Creates the exception.</summary>
    public PdfBudgetException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The reason (no content).</param>
    public PdfBudgetException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The reason.</param>
    /// <param name="innerException">The cause.</param>
    public PdfBudgetException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
