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
