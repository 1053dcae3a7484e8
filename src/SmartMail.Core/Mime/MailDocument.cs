using SmartMail.Core.Attachments;

namespace SmartMail.Core.Mime;

/// <summary>
/// Everything routing needs to know about one message, extracted from its raw bytes. Attachments are described; the
/// text of PDF, DOCX and ODT attachments and all attachment file names are appended to <see cref="Body"/>
/// (see <see cref="ExtractionOptions.ReadAttachments"/>), and what was read or skipped is in <see cref="AttachmentTexts"/>.
/// </summary>
public sealed record MailDocument
{
    /// <summary>The Message-ID, or a stable synthetic id derived from <see cref="Fingerprint"/> when the message has none.</summary>
    public required string Id { get; init; }

    /// <summary>Whether <see cref="Id"/> was synthesised because the message had no usable Message-ID.</summary>
    public bool HasSyntheticId { get; init; }

    /// <summary>Lower-case hex SHA-256 of the raw message bytes.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>The In-Reply-To message id, if any.</summary>
    public string? InReplyTo { get; init; }

    /// <summary>The References message ids, oldest first.</summary>
    public IReadOnlyList<string> References { get; init; } = [];

    /// <summary>The From addresses, as <c>address</c> only (lower case).</summary>
    public IReadOnlyList<string> From { get; init; } = [];

    /// <summary>The To and Cc addresses (lower case).</summary>
    public IReadOnlyList<string> Recipients { get; init; } = [];

    /// <summary>The Date header, if present and parseable.</summary>
    public DateTimeOffset? Date { get; init; }

    /// <summary>The subject with encoded words decoded; empty when missing.</summary>
    public string Subject { get; init; } = string.Empty;

    /// <summary>
    /// The text the model reads: the body (text/plain preferred, HTML converted to text otherwise; possibly truncated),
    /// then from <see cref="AttachmentTextStart"/> on, per attachment a line <c>[bilag: file name]</c> and the text read
    /// from it. Without attachments (or with <see cref="ExtractionOptions.ReadAttachments"/> off) it is the body alone.
    /// </summary>
    public string Body { get; init; } = string.Empty;

    /// <summary>Where the attachment section of <see cref="Body"/> begins; <see langword="null"/> when there is none.</summary>
    public int? AttachmentTextStart { get; init; }

    /// <summary>The PDF, DOCX and ODT attachments: the text read from each, or why it was skipped.</summary>
    public IReadOnlyList<AttachmentText> AttachmentTexts { get; init; } = [];

    /// <summary>The attachments, described (not loaded).</summary>
    public IReadOnlyList<AttachmentInfo> Attachments { get; init; } = [];

    /// <summary>How many attachments the message has, including those past <see cref="ExtractionOptions.MaxAttachments"/>.</summary>
    public int AttachmentCount { get; init; }

    /// <summary>Whether the body came from HTML only (no text/plain alternative).</summary>
    public bool IsHtmlOnly { get; init; }

    /// <summary>Whether the top-level entity is a multipart.</summary>
    public bool IsMultipart { get; init; }

    /// <summary>The detected language ("da", "en") or <see langword="null"/> when unsure.</summary>
    public string? Language { get; init; }

    /// <summary>The raw size in bytes.</summary>
    public long Size { get; init; }

    /// <summary>Which limits were hit while extracting.</summary>
    public ExtractionLimits LimitsHit { get; init; }

    /// <summary>Whether the message could not be parsed as MIME at all; the body then holds the raw text.</summary>
    public bool IsUnparseable { get; init; }

    /// <summary>Problems met and repaired while extracting (no message content, safe to log).</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];
}

/// <summary>An attachment, described without its content.</summary>
/// <param name="FileName">The file name, or <see langword="null"/> when none is given.</param>
/// <param name="MediaType">The media type, e.g. <c>application/pdf</c>.</param>
/// <param name="Size">The decoded size in bytes (estimated from the transfer encoding).</param>
public sealed record AttachmentInfo(string? FileName, string MediaType, long Size);

/// <summary>Limits of <see cref="ExtractionOptions"/> that a message exceeded.</summary>
[Flags]
public enum ExtractionLimits
{
    /// <summary>No limit was hit.</summary>
    None = 0,
    /// <summary>MIME nesting deeper than <see cref="ExtractionOptions.MaxMimeDepth"/>.</summary>
    MimeDepth = 1,
    /// <summary>More entities than <see cref="ExtractionOptions.MaxParts"/>.</summary>
    Parts = 2,
    /// <summary>Body longer than <see cref="ExtractionOptions.MaxTextLength"/>.</summary>
    TextLength = 4,
    /// <summary>An HTML part larger than <see cref="ExtractionOptions.MaxHtmlBytes"/>.</summary>
    HtmlSize = 8,
    /// <summary>More attachments than <see cref="ExtractionOptions.MaxAttachments"/>.</summary>
    Attachments = 16,
    /// <summary>More attachment text than <see cref="ExtractionOptions.MaxAttachmentTextPerMail"/>.</summary>
    AttachmentText = 32,
}
