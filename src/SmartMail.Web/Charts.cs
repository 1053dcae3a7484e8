using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Html;
using SmartMail.Web.Resources;

namespace SmartMail.Web;

/// <summary>Server-rendered SVG charts (no script, no library), titled in the request's language.</summary>
internal static class Charts
{
    private const string Routed = "#2e7d32";
    private const string Manual = "#f9a825";
    private const string Quarantined = "#c62828";

    /// <summary>Stacked bars per hour: routed, manual, quarantined.</summary>
    /// <param name="hours">The hourly volumes.</param>
    /// <param name="testId">The chart's test hook.</param>
    /// <param name="format">How hours are shown (the configured time zone).</param>
    /// <returns>The SVG.</returns>
    public static IHtmlContent Volumes(IReadOnlyList<HourVolume> hours, string testId, Format format)
    {
        const double width = 480, height = 120, top = 14, bottom = 16;
        var max = Math.Max(1, hours.Count == 0 ? 1 : hours.Max(h => h.Routed + h.Manual + h.Quarantined));
        var bar = hours.Count == 0 ? width : width / hours.Count;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg data-testid=\"{testId}\" role=\"img\" viewBox=\"0 0 {width} {height}\" width=\"100%\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">");
        svg.Append(CultureInfo.InvariantCulture, $"<title>{Encode(Format.Fill(Texts.ChartVolumes, max))}</title>");
        var scale = (height - top - bottom) / max;
        for (var i = 0; i < hours.Count; i++)
        {
            var h = hours[i];
            var y = height - bottom;
            foreach (var (count, colour, what) in new[] { (h.Routed, Routed, Texts.ChartRouted), (h.Manual, Manual, Texts.ChartManual), (h.Quarantined, Quarantined, Texts.ChartQuarantined) })
            {
                if (count == 0)
                {
                    continue;
                }
                var bh = count * scale;
                y -= bh;
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"{i * bar + 1:F1}\" y=\"{y:F1}\" width=\"{Math.Max(1, bar - 2):F1}\" height=\"{bh:F1}\" fill=\"{colour}\"><title>{Encode(Format.Fill(Texts.ChartBar, format.Hour(h.Hour), count, what))}</title></rect>");
            }
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"10\">{Encode(Format.Fill(Texts.ChartPerHour, max))}</text>");
        if (hours.Count > 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"{height - 3}\">{format.Hour(hours[0].Hour)}</text>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{width}\" y=\"{height - 3}\" text-anchor=\"end\">{format.Hour(hours[^1].Hour)}</text>");
        }
        svg.Append("</svg>");
        return new HtmlString(svg.ToString());
    }

    /// <summary>Precision (y) against automation (x) of the current model.</summary>
    /// <param name="points">The curve, by rising automation.</param>
    /// <param name="testId">The chart's test hook.</param>
    /// <returns>The SVG.</returns>
    public static IHtmlContent Curve(IReadOnlyList<CurvePoint> points, string testId)
    {
        const double width = 480, height = 240, left = 40, right = 10, top = 10, bottom = 30;
        var minPrecision = points.Count == 0 ? 0.5 : Math.Min(0.9, Math.Floor(points.Min(p => p.Precision) * 10) / 10);
        double X(double automation) => left + Math.Clamp(automation, 0, 1) * (width - left - right);
        double Y(double precision) => top + (1 - (Math.Clamp(precision, minPrecision, 1) - minPrecision) / (1 - minPrecision)) * (height - top - bottom);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg data-testid=\"{testId}\" role=\"img\" viewBox=\"0 0 {width} {height}\" width=\"100%\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">");
        svg.Append(CultureInfo.InvariantCulture, $"<title>{Encode(Texts.ChartCurve)}</title>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"#888\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"#888\"/>");
        for (var a = 0.0; a <= 1.0001; a += 0.25)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(a):F1}\" y=\"{height - bottom + 12}\" text-anchor=\"middle\">{a.ToString("P0", CultureInfo.CurrentCulture)}</text>");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{(left + width) / 2:F1}\" y=\"{height - 3}\" text-anchor=\"middle\">{Encode(Texts.ChartAutomation)}</text>");
        for (var p = minPrecision; p <= 1.0001; p += (1 - minPrecision) / 4)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 3}\" y=\"{Y(p) + 3:F1}\" text-anchor=\"end\">{p.ToString("P0", CultureInfo.CurrentCulture)}</text>");
        }
        if (points.Count > 0)
        {
            svg.Append("<polyline fill=\"none\" stroke=\"#2f6fb3\" stroke-width=\"2\" points=\"");
            foreach (var point in points)
            {
                svg.Append(CultureInfo.InvariantCulture, $"{X(point.Automation):F1},{Y(point.Precision):F1} ");
            }
            svg.Append("\"/>");
            foreach (var point in points)
            {
                svg.Append(CultureInfo.InvariantCulture,
                    $"<circle cx=\"{X(point.Automation):F1}\" cy=\"{Y(point.Precision):F1}\" r=\"2.5\" fill=\"#2f6fb3\"><title>{Encode(Format.Fill(Texts.ChartPoint, point.MinConfidence.ToString("F2", CultureInfo.CurrentCulture), Format.Share(point.Automation), Format.Share(point.Precision)))}</title></circle>");
            }
        }
        svg.Append("</svg>");
        return new HtmlString(svg.ToString());
    }

    /// <summary>HTML-encodes <paramref name="text"/> (for callers building markup by hand).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The encoded text.</returns>
    public static string Encode(string text) => HtmlEncoder.Default.Encode(text);
}
