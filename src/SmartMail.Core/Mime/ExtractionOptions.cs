using System.ComponentModel.DataAnnotations;

namespace SmartMail.Core.Mime;

/// <summary>Limits and switches for <see cref="MailExtractor"/>. Exceeding a limit truncates and is recorded; it never fails.</summary>
public sealed class ExtractionOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Extraction";

    /// <summary>Deepest MIME nesting that is walked; deeper parts are treated as opaque leaves.</summary>
    /// <value>The default is 32.</value>
    [Range(1, 1024)]
    public int MaxMimeDepth { get; set; } = 32;

    /// <summary>Most MIME entities visited in one message.</summary>
    /// <value>The default is 1,000.</value>
    [Range(1, 1_000_000)]
    public int MaxParts { get; set; } = 1_000;

    /// <summary>Most characters of body text kept for classification.</summary>
    /// <value>The default is 50,000.</value>
    [Range(256, 10_000_000)]
    public int MaxTextLength { get; set; } = 50_000;

    /// <summary>Most decoded bytes of one HTML part handed to the HTML parser.</summary>
    /// <value>The default is 2 MiB.</value>
    [Range(1_024, 256 * 1024 * 1024)]
    public int MaxHtmlBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Most attachments listed; the rest are counted, not listed.</summary>
    /// <value>The default is 100.</value>
    [Range(0, 100_000)]
    public int MaxAttachments { get; set; } = 100;

    /// <summary>Whether quoted replies ("&gt; " blocks, "Den ... skrev:", "On ... wrote:") are cut from the body.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool TrimQuotes { get; set; }

    /// <summary>
    /// Whether the text of PDF, DOCX/DOCM and ODT attachments, and the file names of all attachments, are read and
    /// appended to <see cref="MailDocument.Body"/> (after the mail's own text, each under a <c>[bilag: name]</c> line), so
    /// that the model, rules and stored examples see them. Files are only parsed, never executed.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool ReadAttachments { get; set; } = true;

    /// <summary>Most decoded bytes of one attachment that is read; a larger one is skipped (<c>too large</c>).</summary>
    /// <value>The default is 10 MiB.</value>
    [Range(1_024, 1024 * 1024 * 1024)]
    public int MaxAttachmentBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Most decoded attachment bytes read per mail; attachments past it are skipped (<c>mail budget spent</c>).</summary>
    /// <value>The default is 25 MiB.</value>
    [Range(1_024, int.MaxValue)]
    public int MaxAttachmentBytesPerMail { get; set; } = 25 * 1024 * 1024;

    /// <summary>Most attachments read per mail; the rest are skipped.</summary>
    /// <value>The default is 10.</value>
    [Range(0, 1_000)]
    public int MaxAttachmentsRead { get; set; } = 10;

    /// <summary>Most PDF pages read per attachment; the text of the first pages is kept (truncated: <c>pages</c>).</summary>
    /// <value>The default is 50.</value>
    [Range(1, 100_000)]
    public int MaxAttachmentPages { get; set; } = 50;

    /// <summary>Most characters of text kept from one attachment (truncated: <c>characters</c>).</summary>
    /// <value>The default is 20,000.</value>
    [Range(256, 10_000_000)]
    public int MaxAttachmentTextLength { get; set; } = 20_000;

    /// <summary>Most characters of attachment text (names included) appended to the body per mail; the body and its attachment text together stay within <see cref="MaxTextLength"/>.</summary>
    /// <value>The default is 50,000.</value>
    [Range(256, 10_000_000)]
    public int MaxAttachmentTextPerMail { get; set; } = 50_000;

    /// <summary>
    /// Most time spent reading one attachment, in milliseconds; checked between pages and XML nodes and while a PDF's streams
    /// inflate, and an attachment
    /// that runs past it is skipped (<c>time budget</c>).
    /// </summary>
    /// <value>The default is 2,000 ms.</value>
    [Range(1, 600_000)]
    public int AttachmentTimeBudgetMs { get; set; } = 2_000;

    /// <summary>
    /// Most bytes a PDF attachment's streams may decode to, all together (<see cref="MaxAttachmentBytes"/> bounds the
    /// encoded file only: a Flate stream inflates up to ~1000:1); more is refused as a PDF bomb.
    /// </summary>
    /// <value>The default is 64 MiB.</value>
    [Range(1_048_576, int.MaxValue)]
    public int MaxPdfStreamBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Most entries in a DOCX/ODT zip; more is refused as a zip bomb.</summary>
    /// <value>The default is 1,000.</value>
    [Range(1, 100_000)]
    public int MaxZipEntries { get; set; } = 1_000;

    /// <summary>Most uncompressed bytes of the one zip entry that holds a DOCX/ODT's text; more is refused as a zip bomb.</summary>
    /// <value>The default is 20 MiB.</value>
    [Range(1_024, int.MaxValue)]
    public int MaxZipEntryBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Highest uncompressed-to-compressed ratio of a zip entry over 1 MiB; more is refused as a zip bomb.</summary>
    /// <value>The default is 100.</value>
    [Range(2, 100_000)]
    public int MaxZipRatio { get; set; } = 100;

    /// <summary>Throws when a value is out of range, naming the setting.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public void Validate()
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true))
        {
            throw new ArgumentOutOfRangeException(
                $"{SectionName}:{string.Join(",", results[0].MemberNames)}", results[0].ErrorMessage);
        }
    }
}
