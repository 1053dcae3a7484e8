using System.Globalization;
using System.Text.RegularExpressions;

namespace SmartMail.Core.Routing;

/// <summary>A <see cref="CaseNumberRule"/> compiled: finds the case number in a subject and the label of its series.</summary>
internal sealed class CaseNumberMatcher
{
    private readonly Regex _pattern;
    private readonly (string Key, string Label)[] _prefixes;
    private readonly (long Low, long High, string Key, string Label)[] _ranges;

    private CaseNumberMatcher(CaseNumberRule rule, Regex pattern, (string, string)[] prefixes, (long, long, string, string)[] ranges)
    {
        Rule = rule;
        _pattern = pattern;
        _prefixes = prefixes;
        _ranges = ranges;
    }

    public CaseNumberRule Rule { get; }

    public static CaseNumberMatcher Create(CaseNumberRule rule, int index, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var name = string.IsNullOrWhiteSpace(rule.Name) ? $"CaseNumbers:{index}" : $"CaseNumbers:{index} ('{rule.Name}')";
        if (string.IsNullOrWhiteSpace(rule.Name))
        {
            throw new ArgumentException($"{name}:Name: a case-number rule needs a name (it is recorded in every decision it makes).", nameof(rule));
        }
        if (string.IsNullOrWhiteSpace(rule.Pattern))
        {
            throw new ArgumentException($"{name}:Pattern: a case-number rule needs a pattern.", nameof(rule));
        }
        if ((rule.Series is null || rule.Series.Count == 0) && string.IsNullOrWhiteSpace(rule.Label))
        {
            throw new ArgumentException($"{name}: sets neither Series nor Label, so it routes nothing.", nameof(rule));
        }
        Regex pattern;
        try
        {
            pattern = new Regex(rule.Pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, timeout);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{name}:Pattern is not a valid pattern: {ex.Message}", nameof(rule), ex);
        }
        var prefixes = new List<(string, string)>();
        var ranges = new List<(long, long, string, string)>();
        foreach (var (key, label) in rule.Series ?? [])
        {
            if (string.IsNullOrWhiteSpace(key) || string.IsNullOrWhiteSpace(label))
            {
                throw new ArgumentException($"{name}:Series: every series needs a number (prefix or lo..hi) and a label.", nameof(rule));
            }
            var dots = key.IndexOf("..", StringComparison.Ordinal);
            if (dots > 0)
            {
                if (!long.TryParse(key.AsSpan(0, dots), NumberStyles.None, CultureInfo.InvariantCulture, out var low)
                    || !long.TryParse(key.AsSpan(dots + 2), NumberStyles.None, CultureInfo.InvariantCulture, out var high) || low > high)
                {
                    throw new ArgumentException($"{name}:Series:{key}: a range is written lo..hi with whole numbers, lo <= hi.", nameof(rule));
                }
                ranges.Add((low, high, key, label));
                continue;
            }
            prefixes.Add((key, label));
        }
        // The longest prefix wins: a department that owns 27.24 beats the one that owns the rest of 27.
        return new CaseNumberMatcher(rule, pattern, [.. prefixes.OrderByDescending(p => p.Item1.Length)], [.. ranges]);
    }

    /// <summary>The label and series for the first case number in <paramref name="subject"/> this rule knows; <see langword="null"/> when none.</summary>
    public (string Label, string? Series)? Match(string subject)
    {
        try
        {
            for (var m = _pattern.Match(subject); m.Success; m = m.NextMatch())
            {
                var number = m.Groups["series"] is { Success: true } named ? named.Value
                    : m.Groups.Count > 1 && m.Groups[1].Success ? m.Groups[1].Value
                    : m.Value;
                if (Lookup(number) is { } hit)
                {
                    return hit;
                }
            }
        }
        catch (RegexMatchTimeoutException)
        {
            return null; // a pathological subject must not stall routing; the next step decides
        }
        return null;
    }

    private (string Label, string? Series)? Lookup(string number)
    {
        foreach (var (key, label) in _prefixes)
        {
            if (number.StartsWith(key, StringComparison.OrdinalIgnoreCase))
            {
                return (label, key);
            }
        }
        if (_ranges.Length > 0 && long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            foreach (var (low, high, key, label) in _ranges)
            {
                if (value >= low && value <= high)
                {
                    return (label, key);
                }
            }
        }
        return Rule.Label is { Length: > 0 } fallback ? (fallback, null) : null;
    }
}
