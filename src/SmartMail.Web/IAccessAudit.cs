namespace SmartMail.Web;

/// <summary>
/// Writes an audit row when a person sees personal data the pages otherwise mask (the full text of a mail, CPR numbers
/// unmasked), and for each privacy request run from the web app. Rows name the user, never the data.
/// </summary>
public interface IAccessAudit
{
    /// <summary>Records that <paramref name="user"/> had the full text of a mail shown.</summary>
    /// <param name="decisionId">The mail's decision id.</param>
    /// <param name="user">Who (the signed-in name).</param>
    /// <returns><see langword="true"/> when the row was written (only then is the text shown).</returns>
    bool FullTextShown(string decisionId, string user);
}

/// <summary>No audit trail to write to: the full text is not shown.</summary>
internal sealed class NoAccessAudit : IAccessAudit
{
    public static IAccessAudit Instance { get; } = new NoAccessAudit();

    public bool FullTextShown(string decisionId, string user) => false;
}
