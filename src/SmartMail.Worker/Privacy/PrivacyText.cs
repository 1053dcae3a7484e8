using System.Globalization;
using System.Text;

namespace SmartMail.Worker.Privacy;

/// <summary>The privacy findings, erasures and retention in words (the CLI's and the web page's text; no personal data).</summary>
public static class PrivacyText
{
    /// <summary>The findings as plain text.</summary>
    /// <param name="f">The findings.</param>
    /// <returns>Lines.</returns>
    public static string Findings(PrivacyFindings f)
    {
        ArgumentNullException.ThrowIfNull(f);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{f.Query}: {f.Mails.Count} mails in {f.PlaceCount} places, {f.Inbox.Count} not yet routed.\n");
        foreach (var mail in f.Mails)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\nmail {mail.Mail.DecisionId} in {mail.Mail.Mailbox} (fingerprint {mail.Mail.Fingerprint[..12]}, {mail.State}" +
                $"{(mail.InFlight ? ", not yet delivered: erased once it is" : "")})\n");
            foreach (var p in mail.Places)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  {p.Kind,-17} {p.Location}{(p.Count > 1 ? $" ({p.Count})" : "")} — {p.Holds}\n");
            }
        }
        foreach (var inbox in f.Inbox)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\nnot yet routed: {inbox.Location} (fingerprint {inbox.Fingerprint[..12]})\n");
        }
        sb.Append(f.Models.Count == 0 ? "\nNo model version was trained on these mails.\n"
            : $"\nModel versions trained on these mails: {string.Join(", ", f.Models)}\n");
        return sb.ToString();
    }

    /// <summary>An erasure as plain text.</summary>
    /// <param name="r">The result.</param>
    /// <returns>Lines.</returns>
    public static string Erasure(ErasureResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var verb = r.DryRun ? "Would erase" : "Erased";
        return string.Create(CultureInfo.InvariantCulture, $"""
            {verb} {r.Mails} mails in {r.Places} places{(r.DryRun ? " (dry run: nothing changed)" : $"; audit row {r.RequestId}")}.
            {r.Pending} mails not yet delivered: {(r.DryRun ? "would be" : "are")} erased once delivered.
            {(r.Models.Count == 0 ? "No model version was trained on them." : $"Model versions trained on them, flagged: {string.Join(", ", r.Models)}. The next retrain leaves the erased examples out.")}

            """);
    }

    /// <summary>The retention report as plain text.</summary>
    /// <param name="r">The report.</param>
    /// <returns>Lines.</returns>
    public static string Retention(RetentionReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Learning:RetentionDays = {r.RetentionDays}: training text and the web app's mail rows older than that are purged daily.\n");
        sb.Append(r.Purges.Count == 0 ? "No purge recorded yet.\n" : "when (UTC)            cutoff (UTC)          examples  web rows\n");
        foreach (var p in r.Purges)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{p.Time:yyyy-MM-dd HH:mm:ss}   {p.Cutoff:yyyy-MM-dd HH:mm:ss}   {p.Examples,8}  {p.Summaries,8}\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"Erasures waiting for their mail's delivery: {r.PendingErasures}\n");
        sb.Append(r.FlaggedModels.Count == 0 ? "No model version is flagged as trained on erased mail.\n"
            : $"Model versions trained on erased mail: {string.Join(", ", r.FlaggedModels)}\n");
        return sb.ToString();
    }
}

/// <summary>What retention purged, and what erasures left.</summary>
/// <param name="RetentionDays">The setting.</param>
/// <param name="Purges">The latest purges, newest first.</param>
/// <param name="PendingErasures">Erasures waiting for delivery.</param>
/// <param name="FlaggedModels">Model versions trained on erased mail.</param>
public sealed record RetentionReport(int RetentionDays, IReadOnlyList<RetentionPurge> Purges, int PendingErasures, IReadOnlyList<string> FlaggedModels);
