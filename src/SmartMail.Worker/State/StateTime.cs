using System.Globalization;

namespace SmartMail.Worker.State;

/// <summary>How the store writes a time: UTC, round-trip ISO 8601 text (sorts as it compares, on every provider).</summary>
internal static class StateTime
{
    /// <summary>The stored form of <paramref name="t"/>.</summary>
    public static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}
