using System.ComponentModel.DataAnnotations;

namespace SmartMail.Core.Routing;

/// <summary>
/// A case-number rule: a pattern that finds a case number in the subject, and which department owns which number series.
/// The pattern's first capture group (or a group named <c>series</c>) is the number looked up in <see cref="Series"/>; a
/// pattern without groups uses the whole match. Without <see cref="Series"/>, every match routes to <see cref="Label"/>.
/// Patterns are .NET regular expressions, case-insensitive, with a 100 ms match timeout.
/// </summary>
/// <example>KLE numbers: <c>Pattern = @"\b(\d{2}\.\d{2})\.\d{2}\b"</c>, <c>Series = { ["27.24"] = "boligstoette", ["02"] = "byggeri" }</c>.</example>
public sealed class CaseNumberRule
{
    /// <summary>The rule's name, recorded in every decision it makes.</summary>
    [Required]
    public string Name { get; set; } = string.Empty;

    /// <summary>Finds the case number in the subject.</summary>
    [Required]
    public string Pattern { get; set; } = string.Empty;

    /// <summary>
    /// Number series → label. A key matches the captured number when it is the number itself, a prefix of it (the longest
    /// prefix wins), or an integer range <c>lo..hi</c> that holds it (e.g. <c>2000..2099</c>).
    /// </summary>
    public Dictionary<string, string> Series { get; set; } = [];

    /// <summary>The label for a match no series names (or for every match when <see cref="Series"/> is empty); none when <see langword="null"/>.</summary>
    public string? Label { get; set; }
}
