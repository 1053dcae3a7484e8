using System.Globalization;
using SmartMail.Web.Resources;

namespace SmartMail.Web;

/// <summary>The worker's codes (a mail's state, a decision's source) in the request's language; an unknown code as itself.</summary>
internal static class Words
{
    /// <summary>A mail's state (<c>triage</c>, <c>routed</c>…) in words.</summary>
    /// <param name="state">The code.</param>
    /// <returns>The words.</returns>
    public static string State(string state) => Lookup("State_", state);

    /// <summary>A decision's source (<c>rule</c>, <c>model</c>…) in words.</summary>
    /// <param name="source">The code.</param>
    /// <returns>The words.</returns>
    public static string Source(string source) => Lookup("Source_", source);

    /// <summary>
    /// A decision's reason in words: the model's reasons (its label reached its threshold, is below it, or is manual-only)
    /// in the request's language; any other reason as the worker recorded it.
    /// </summary>
    /// <param name="reason">The recorded reason.</param>
    /// <returns>The words.</returns>
    public static string Reason(string reason)
    {
        if (!SmartMail.Core.Routing.RoutingPolicy.TryReadModelReason(reason, out var label, out var confidence, out var threshold, out var reached))
        {
            return reason;
        }
        return threshold is { } t
            ? Format.Fill(reached ? Texts.WhyModelReached : Texts.WhyModelBelow, label, Format.Number(confidence), Format.Number(t))
            : Format.Fill(Texts.WhyModelManualOnly, label, Format.Number(confidence));
    }

    private static string Lookup(string prefix, string code) =>
        Texts.ResourceManager.GetString(prefix + code, CultureInfo.CurrentUICulture) is { Length: > 0 } words ? words : code;
}
