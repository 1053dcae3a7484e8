using System.ComponentModel.DataAnnotations;

namespace SmartMail.Core.Routing;

/// <summary>
/// An explicit rule that routes a mail without asking the model. A rule matches when every pattern it sets
/// matches (patterns are .NET regular expressions, case-insensitive, with a 100 ms match timeout).
/// </summary>
public sealed class RoutingRule
{
    /// <summary>The rule's name, recorded in every decision it makes.</summary>
    [Required]
    public string Name { get; set; } = string.Empty;

    /// <summary>The label the rule routes to.</summary>
    [Required]
    public string Label { get; set; } = string.Empty;

    /// <summary>Matches any From address (e.g. <c>@skat\.dk$</c>).</summary>
    public string? From { get; set; }

    /// <summary>Matches the subject.</summary>
    public string? Subject { get; set; }

    /// <summary>Matches subject or body, e.g. a case number pattern <c>\b\d{2}\.\d{2}\.\d{2}-[A-Z]\d{2}-\d+-\d{2}\b</c>.</summary>
    public string? Text { get; set; }
}
