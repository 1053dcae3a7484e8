using System.Globalization;

namespace SmartMail.Web;

/// <summary>How the pages show numbers and times (invariant, UTC).</summary>
internal static class Format
{
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public static string Share(double? share) => share is { } s ? $"{(s * 100).ToString("F1", CultureInfo.InvariantCulture)}%" : "–";

    public static string Confidence(float? confidence) => confidence is { } c ? c.ToString("F2", CultureInfo.InvariantCulture) : "–";

    public static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    public static string Latency(TimeSpan? latency) => latency switch
    {
        null => "–",
        { TotalSeconds: < 1 } l => $"{l.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)} ms",
        { TotalMinutes: < 2 } l => $"{l.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s",
        var l => $"{l.Value.TotalMinutes.ToString("F0", CultureInfo.InvariantCulture)} min",
    };

    /// <summary>The first <paramref name="max"/> characters of <paramref name="text"/>, at a word break.</summary>
    public static string Preview(string text, int max = 400)
    {
        var flat = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (flat.Length <= max)
        {
            return flat;
        }
        var cut = flat.LastIndexOf(' ', max);
        return string.Concat(flat.AsSpan(0, cut > max / 2 ? cut : max), "…");
    }
}
