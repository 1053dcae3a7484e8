namespace SmartMail.Core.Attachments;

/// <summary>
/// What was read from one attachment whose text SmartMail understands (PDF, DOCX/DOCM, ODT), or why it was not read.
/// <see cref="Skipped"/> and <see cref="Truncated"/> hold no content of the file and are safe to log.
/// </summary>
public sealed record AttachmentText
{
    /// <summary>The file name, or <see langword="null"/> when none is given.</summary>
    public string? FileName { get; init; }

    /// <summary>The media type as declared in the mail, lower case.</summary>
    public required string MediaType { get; init; }

    /// <summary>The format it was read as.</summary>
    public AttachmentKind Kind { get; init; }

    /// <summary>The text read, tidied; <see langword="null"/> when skipped.</summary>
    public string? Text { get; init; }

    /// <summary>Why the file was not read (e.g. <c>encrypted</c>, <c>broken PDF</c>, <c>too large</c>); <see langword="null"/> when read.</summary>
    public string? Skipped { get; init; }

    /// <summary>Which bound cut the text short (e.g. <c>pages</c>, <c>characters</c>); <see langword="null"/> when read whole.</summary>
    public string? Truncated { get; init; }

    /// <summary>The decoded size in bytes (as far as it was decoded: at most one byte past the limit).</summary>
    public long Bytes { get; init; }

    /// <summary>Pages read (PDF); 0 for other formats.</summary>
    public int Pages { get; init; }

    /// <summary>Pages in the document (PDF), when known.</summary>
    public int TotalPages { get; init; }

    /// <summary>Time spent decoding and reading it.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Whether text was read.</summary>
    public bool IsRead => Skipped is null;
}

/// <summary>The attachment formats whose text is read.</summary>
public enum AttachmentKind
{
    /// <summary>PDF (text layer only; scanned images have none).</summary>
    Pdf,
    /// <summary>Office Open XML word processing (.docx, and .docm whose macros are never run).</summary>
    Docx,
    /// <summary>OpenDocument text (.odt).</summary>
    Odt,
}
