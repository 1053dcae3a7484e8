using SmartMail.Web;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Privacy;

/// <summary>The privacy page's requests, run by the worker's <see cref="PrivacyService"/> (each an audit row naming the user).</summary>
/// <param name="privacy">The service.</param>
/// <param name="store">The privacy store (for the compliance report).</param>
/// <param name="options">The worker's options.</param>
/// <param name="time">The clock.</param>
/// <param name="models">The model registry's store (for the compliance report's model cards).</param>
public sealed class WebPrivacyRequests(PrivacyService privacy, IPrivacyStore store, SmartMailOptions options, TimeProvider time,
    State.IModelStore models) : IPrivacyRequests
{
    /// <inheritdoc />
    public bool Available => true;

    /// <inheritdoc />
    public PrivacyAnswer Find(string kind, string value, string user)
    {
        var findings = privacy.Find(Query(kind, value), "web: " + user);
        return new PrivacyAnswer(PrivacyText.Findings(findings), findings.Mails.Count, findings.PlaceCount);
    }

    /// <inheritdoc />
    public byte[] Export(string kind, string value, string user)
    {
        var findings = privacy.Find(Query(kind, value), "web: " + user, audit: false);
        var file = Path.Combine(Path.GetTempPath(), "smartmail-export-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            privacy.Export(findings, file, "web: " + user);
            return File.ReadAllBytes(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <inheritdoc />
    public PrivacyAnswer EraseAll(string kind, string value, string user, bool dryRun)
    {
        var findings = privacy.Find(Query(kind, value), "web: " + user, audit: false);
        var result = privacy.Erase(findings, "web: " + user, dryRun);
        return new PrivacyAnswer(PrivacyText.Findings(findings) + "\n" + PrivacyText.Erasure(result), result.Mails, result.Places);
    }

    /// <inheritdoc />
    public string ComplianceHtml()
    {
        using var figures = store.Figures();
        return ComplianceReport.HtmlBody(ComplianceReport.Build(options, figures, store, models, time.GetUtcNow()), 2); // under the page's own h1
    }

    private static PersonQuery Query(string kind, string value) => kind switch
    {
        "cpr" => PersonQuery.ByCpr(value),
        "address" => PersonQuery.ByAddress(value),
        "name" => PersonQuery.ByName(value),
        _ => throw new ArgumentException("Choose CPR number, e-mail address or name.", nameof(kind)),
    };
}
