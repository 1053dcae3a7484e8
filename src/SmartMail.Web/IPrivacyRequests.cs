namespace SmartMail.Web;

/// <summary>
/// A citizen's request for access or erasure, run from the privacy page by a user with the privacy role. Each call writes
/// an audit row naming the user; the answers never hold the CPR number or address asked for.
/// </summary>
public interface IPrivacyRequests
{
    /// <summary>Whether requests can be run here (the worker's data directory is at hand).</summary>
    bool Available { get; }

    /// <summary>Every place that holds something of the person.</summary>
    /// <param name="kind"><c>cpr</c>, <c>address</c> or <c>name</c>.</param>
    /// <param name="value">What identifies the person.</param>
    /// <param name="user">Who asks.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="ArgumentException">The value is not a CPR number or address (the message does not repeat it).</exception>
    PrivacyAnswer Find(string kind, string value, string user);

    /// <summary>The art. 15 package as a zip.</summary>
    /// <param name="kind"><c>cpr</c>, <c>address</c> or <c>name</c>.</param>
    /// <param name="value">What identifies the person.</param>
    /// <param name="user">Who asks.</param>
    /// <returns>The zip's bytes.</returns>
    byte[] Export(string kind, string value, string user);

    /// <summary>Erases the person's data (or says what would go).</summary>
    /// <param name="kind"><c>cpr</c>, <c>address</c> or <c>name</c>.</param>
    /// <param name="value">What identifies the person.</param>
    /// <param name="user">Who asks.</param>
    /// <param name="dryRun">Change nothing.</param>
    /// <returns>The answer.</returns>
    PrivacyAnswer EraseAll(string kind, string value, string user, bool dryRun);

    /// <summary>The compliance report (English) as an HTML fragment: its title an <c>h2</c>, its sections <c>h3</c>, text and tables.</summary>
    /// <returns>The fragment, every value HTML-encoded.</returns>
    string ComplianceHtml();
}

/// <summary>What a request found or did, in words without personal data.</summary>
/// <param name="Text">The lines.</param>
/// <param name="Mails">How many mails.</param>
/// <param name="Places">How many places.</param>
public sealed record PrivacyAnswer(string Text, int Mails, int Places);

/// <summary>No worker behind the web app: no requests.</summary>
internal sealed class NoPrivacyRequests : IPrivacyRequests
{
    public static IPrivacyRequests Instance { get; } = new NoPrivacyRequests();

    public bool Available => false;

    public PrivacyAnswer Find(string kind, string value, string user) => throw new InvalidOperationException("privacy requests are not available here");

    public byte[] Export(string kind, string value, string user) => throw new InvalidOperationException("privacy requests are not available here");

    public PrivacyAnswer EraseAll(string kind, string value, string user, bool dryRun) => throw new InvalidOperationException("privacy requests are not available here");

    public string ComplianceHtml() => throw new InvalidOperationException("privacy requests are not available here");
}
