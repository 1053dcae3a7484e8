using SmartMail.Web;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Privacy;

/// <summary>The web app's audit of seeing what pages mask: an audit row on the mail (it shows in the mail's history) naming the user.</summary>
/// <param name="state">The audit trail.</param>
/// <param name="privacy">Where the mail's mailbox and fingerprint are looked up.</param>
/// <param name="time">The clock.</param>
public sealed class PrivacyAccessAudit(IStateStore state, IPrivacyStore privacy, TimeProvider time) : IAccessAudit
{
    /// <summary>The audit row's outcome when a mail's full text was shown.</summary>
    public const string FullTextOutcome = "full-text-shown";

    /// <inheritdoc />
    public bool FullTextShown(string decisionId, string user)
    {
        ArgumentNullException.ThrowIfNull(decisionId);
        ArgumentNullException.ThrowIfNull(user);
        if (privacy.MailOf(decisionId) is not { } mail)
        {
            return false;
        }
        try
        {
            state.AppendAudit(new AuditEntry
            {
                Time = time.GetUtcNow(),
                DecisionId = mail.DecisionId,
                Fingerprint = mail.Fingerprint,
                Mailbox = mail.Mailbox,
                Source = "web",
                Reason = "the full text was shown (CPR numbers unmasked)",
                Destination = "-",
                Outcome = FullTextOutcome,
                By = user,
            });
            return true;
        }
        catch (StateStoreException)
        {
            return false; // no row, no text
        }
    }
}
