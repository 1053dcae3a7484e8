using System.Security.Cryptography;
using System.Text;
using SmartMail.Core.Mime;
using SmartMail.Core.Text;

namespace SmartMail.Core.Classification;

/// <summary>Labeled documents read from a source, with what could not be read.</summary>
public sealed class TrainingSet
{
    private TrainingSet(string sourceKind, string sourceName, IReadOnlyList<TrainingDocument> documents, int skipped,
        IReadOnlyList<SkippedFile>? skippedFiles = null)
    {
        SourceKind = sourceKind;
        SourceName = sourceName;
        Documents = documents;
        Skipped = skipped;
        SkippedFiles = skippedFiles ?? [];
    }

    /// <summary><c>folders</c>, <c>csv</c> or <c>imap</c>.</summary>
    public string SourceKind { get; }

    /// <summary>The source's own name, without its path.</summary>
    public string SourceName { get; }

    /// <summary>The documents, in a stable order.</summary>
    public IReadOnlyList<TrainingDocument> Documents { get; }

    /// <summary>Files (or CSV rows) that could not be used (counted, not fatal).</summary>
    public int Skipped { get; }

    /// <summary>The files skipped, with why (empty, binary, unreadable), in a stable order; empty for CSV rows.</summary>
    public IReadOnlyList<SkippedFile> SkippedFiles { get; }

    /// <summary>Documents per label.</summary>
    public IReadOnlyDictionary<string, int> LabelCounts =>
        Documents.GroupBy(d => d.Label, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>SHA-256 over the sorted (label, fingerprint) pairs: the same data gives the same value.</summary>
    public string Fingerprint()
    {
        var sb = new StringBuilder();
        foreach (var d in Documents.OrderBy(d => d.Label, StringComparer.Ordinal).ThenBy(d => d.Fingerprint, StringComparer.Ordinal))
        {
            sb.Append(d.Label).Append('\t').Append(d.Fingerprint).Append('\n');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>Creates a set from documents already in memory (e.g. read from IMAP or the state store).</summary>
    /// <param name="sourceKind">The kind of source.</param>
    /// <param name="sourceName">Its name.</param>
    /// <param name="documents">The documents.</param>
    /// <param name="skipped">How many could not be read.</param>
    /// <returns>The set.</returns>
    public static TrainingSet FromDocuments(string sourceKind, string sourceName, IReadOnlyList<TrainingDocument> documents, int skipped = 0) =>
        new(sourceKind, sourceName, documents, skipped);

    /// <summary>
    /// Reads a folder with one sub-folder per label holding raw messages (<c>.eml</c> or extension-less RFC 822 files).
    /// Unreadable, empty and binary files (a scan, a PDF saved as .eml) are skipped, counted and named in <see cref="SkippedFiles"/>.
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <param name="extractor">The extractor live mail goes through.</param>
    /// <param name="progress">Receives (done, total).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The set.</returns>
    /// <exception cref="TrainingDataException">The folder is missing or holds no messages.</exception>
    public static TrainingSet FromFolders(string directory, MailExtractor extractor, IProgress<(int Done, int Total)>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(extractor);
        if (!Directory.Exists(directory))
        {
            throw new TrainingDataException($"Training folder '{directory}' does not exist.");
        }
        var files = Directory.EnumerateDirectories(directory)
            .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)
                .Where(IsMessageFile)
                .Select(f => (Label: Path.GetFileName(d), File: f)))
            .OrderBy(x => x.Label, StringComparer.Ordinal).ThenBy(x => x.File, StringComparer.Ordinal)
            .ToArray();
        if (files.Length == 0)
        {
            throw new TrainingDataException(
                $"Training folder '{directory}' holds no messages: expected one sub-folder per label with .eml files.");
        }

        var documents = new TrainingDocument?[files.Length];
        var reasons = new string?[files.Length];
        var done = 0;
        Parallel.For(0, files.Length, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            try
            {
                var raw = File.ReadAllBytes(files[i].File);
                reasons[i] = NotAMessage(raw);
                if (reasons[i] is null)
                {
                    var doc = extractor.Extract(raw);
                    documents[i] = new TrainingDocument(files[i].Label, new TextInput(doc.Subject, doc.Body), doc.Fingerprint, doc.Date);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                reasons[i] = $"unreadable ({ex.GetType().Name})";
            }
            var n = Interlocked.Increment(ref done);
            if (n % 500 == 0 || n == files.Length)
            {
                progress?.Report((n, files.Length));
            }
        });
        var read = documents.OfType<TrainingDocument>().ToArray();
        var skipped = reasons.Select((reason, i) => reason is null ? null : new SkippedFile(files[i].File, reason)).OfType<SkippedFile>().ToArray();
        return new TrainingSet("folders", Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))),
            read, files.Length - read.Length, skipped);
    }

    /// <summary>
    /// Reads a CSV or TSV export with a header row: the text column and the label column are named.
    /// Quoted fields (with separators, quotes and line breaks inside) are supported. Rows with an empty
    /// label or text are skipped and counted.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="textColumn">The header of the text column.</param>
    /// <param name="labelColumn">The header of the label column.</param>
    /// <param name="separator">
    /// The separator; <see langword="null"/> chooses tab for .tsv/.tab files, else the one of <c>,</c>, <c>;</c> (Danish Excel)
    /// and tab with which the header holds both named columns.
    /// </param>
    /// <returns>The set.</returns>
    /// <exception cref="TrainingDataException">The file is missing, empty or lacks a named column (the message names <c>--separator</c>).</exception>
    public static TrainingSet FromCsv(string path, string textColumn, string labelColumn, char? separator = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(textColumn);
        ArgumentNullException.ThrowIfNull(labelColumn);
        if (!File.Exists(path))
        {
            throw new TrainingDataException($"CSV file '{path}' does not exist.");
        }
        char[] candidates = separator is { } given ? [given]
            : Path.GetExtension(path).ToLowerInvariant() is ".tsv" or ".tab" ? ['\t']
            : [',', ';', '\t'];
        List<string>? widest = null;
        var sep = candidates[0];
        int textIndex = -1, labelIndex = -1;
        foreach (var candidate in candidates)
        {
            using var headerReader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            var candidateHeader = CsvReader.ReadRecord(headerReader, candidate)
                ?? throw new TrainingDataException($"CSV file '{path}' is empty.");
            var (t, l) = (ColumnIndex(candidateHeader, textColumn), ColumnIndex(candidateHeader, labelColumn));
            if (widest is null || candidateHeader.Count > widest.Count)
            {
                (widest, sep) = (candidateHeader, candidate);
            }
            if (t >= 0 && l >= 0)
            {
                (sep, textIndex, labelIndex) = (candidate, t, l);
                break;
            }
        }
        if (textIndex < 0 || labelIndex < 0)
        {
            // widest is set: the loop ran at least once (candidates is never empty).
            var missing = ColumnIndex(widest!, textColumn) < 0 ? $"text column '{textColumn}'" : $"label column '{labelColumn}'";
            var tried = separator is { } s ? $"with separator {Name(s)}" : $"with {string.Join(", ", candidates.Select(Name))} as separator";
            throw new TrainingDataException(
                $"CSV file '{path}' has no {missing} {tried}; its columns are: {string.Join(", ", widest!.Select(h => h.Trim()))}. " +
                "Name the columns with --text-column and --label-column, or the separator with --separator.");
        }
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        _ = CsvReader.ReadRecord(reader, sep); // the header

        var documents = new List<TrainingDocument>();
        var skipped = 0;
        while (CsvReader.ReadRecord(reader, sep) is { } record)
        {
            if (record.Count == 1 && record[0].Length == 0)
            {
                continue; // blank line
            }
            var label = labelIndex < record.Count ? record[labelIndex].Trim() : string.Empty;
            var text = textIndex < record.Count ? TextNormalizer.TidyLines(record[textIndex]) : string.Empty;
            if (label.Length == 0 || text.Length == 0)
            {
                skipped++;
                continue;
            }
            var fingerprint = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
            documents.Add(new TrainingDocument(label, new TextInput(string.Empty, text), fingerprint, null));
        }
        return new TrainingSet("csv", Path.GetFileName(path), documents, skipped);
    }

    private static int ColumnIndex(List<string> header, string name) =>
        header.FindIndex(h => h.Trim().Equals(name, StringComparison.OrdinalIgnoreCase));

    private static readonly System.Buffers.SearchValues<byte> Blank = System.Buffers.SearchValues.Create(" \t\r\n"u8);

    private static string Name(char separator) => separator == '\t' ? "tab" : $"'{separator}'";

    // Why a file is no message: empty, or binary (a NUL byte, or many control characters, early on). Mail is text: 7-bit,
    // 8-bit charsets and UTF-8 all pass; ESC is allowed for ISO-2022-JP.
    private static string? NotAMessage(byte[] raw)
    {
        if (raw.Length == 0 || raw.AsSpan().IndexOfAnyExcept(Blank) < 0)
        {
            return "empty file";
        }
        var head = raw.AsSpan(0, Math.Min(raw.Length, 8192));
        if (head.Contains((byte)0))
        {
            return "binary file (holds NUL bytes), not a mail";
        }
        var control = 0;
        foreach (var b in head)
        {
            if (b < 0x20 && b is not (byte)'\t' and not (byte)'\r' and not (byte)'\n' and not 0x0c and not 0x1b)
            {
                control++;
            }
        }
        return control * 10 > head.Length ? "binary file (control characters), not a mail" : null;
    }

    private static readonly HashSet<string> NotMail = new(StringComparer.OrdinalIgnoreCase)
    {
        ".json", ".md", ".csv", ".tsv", ".zip", ".gz", ".pdf", ".png", ".jpg", ".gif", ".docx", ".xlsx", ".exe", ".dll",
    };

    // Raw messages come as .eml, extension-less files (20 Newsgroups) or with odd suffixes (SpamAssassin's hashes).
    private static bool IsMessageFile(string path) =>
        !Path.GetFileName(path).StartsWith('.') && !NotMail.Contains(Path.GetExtension(path));
}

/// <summary>One labeled training document.</summary>
/// <param name="Label">The label.</param>
/// <param name="Text">The text.</param>
/// <param name="Fingerprint">The content fingerprint.</param>
/// <param name="Date">The message date, if known.</param>
public sealed record TrainingDocument(string Label, TextInput Text, string Fingerprint, DateTimeOffset? Date);

/// <summary>A file left out of a training set.</summary>
/// <param name="Path">The file.</param>
/// <param name="Reason">Why: empty, binary or unreadable.</param>
public sealed record SkippedFile(string Path, string Reason);

/// <summary>Training data that cannot be used; the message says why and names the file or column.</summary>
public sealed class TrainingDataException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDataException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public TrainingDataException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public TrainingDataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
