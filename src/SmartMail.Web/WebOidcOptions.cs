namespace SmartMail.Web;

/// <summary>
/// Sign-in by OpenID Connect (section <c>SmartMail:Web:Oidc</c>): the authorization code flow with PKCE against Entra ID
/// or any provider. Who may see what comes from the role claim (app roles) or the groups claim.
/// </summary>
public sealed class WebOidcOptions
{
    /// <summary>The issuer, e.g. <c>https://login.microsoftonline.com/&lt;tenant&gt;/v2.0</c>; its discovery document is read.</summary>
    public Uri? Authority { get; set; }

    /// <summary>The application (client) id of the app registration.</summary>
    public string ClientId { get; set; } = string.Empty;

    /// <summary>A file holding the client secret (e.g. a systemd credential).</summary>
    public string? ClientSecretFile { get; set; }

    /// <summary>The client secret, from the environment only (<c>SMARTMAIL_SmartMail__Web__Oidc__ClientSecret</c>); prefer <see cref="ClientSecretFile"/>.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>A PEM file with the CA that signs the authority's TLS certificate, when it is not in the system store.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>The claim holding the user's roles.</summary>
    /// <value>The default is <c>roles</c> (Entra ID's app roles).</value>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>The claim holding the user's groups (their object ids in Entra ID); its values count as roles too.</summary>
    /// <value>The default is <c>groups</c>.</value>
    public string GroupClaim { get; set; } = "groups";

    /// <summary>The claim naming the user in the audit trail.</summary>
    /// <value>The default is <c>preferred_username</c> (then <c>name</c>, then <c>sub</c>).</value>
    public string NameClaim { get; set; } = "preferred_username";

    /// <summary>The role (or group) of administrators: every mailbox, models, promote and rollback.</summary>
    /// <value>The default is <c>SmartMail.Admin</c>.</value>
    public string AdminRole { get; set; } = "SmartMail.Admin";

    /// <summary>
    /// How old a signed-in user's roles and groups may get before the app signs them in again at the provider (silently while
    /// the provider's session lasts) to read them afresh: someone removed from a mailbox's role loses it within this time.
    /// </summary>
    /// <value>The default is 5 minutes.</value>
    public TimeSpan RolesRecheckedAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Role or group → the mailboxes (by configured name) its members work as caseworkers.</summary>
    public Dictionary<string, string[]> MailboxRoles { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The rules a start-up check applies to configured sign-in.</summary>
    /// <param name="prefix">The settings path, e.g. <c>SmartMail:Web:Oidc</c>.</param>
    /// <returns>The failures.</returns>
    public IEnumerable<string> Validate(string prefix)
    {
        if (Authority is { } authority && authority.Scheme != Uri.UriSchemeHttps)
        {
            yield return $"{prefix}:Authority: must be an https:// issuer.";
        }
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            yield return $"{prefix}:ClientId: set the Application (client) ID of the app registration.";
        }
        if (string.IsNullOrEmpty(ClientSecretFile) == string.IsNullOrEmpty(ClientSecret))
        {
            yield return $"{prefix}:ClientSecretFile: set ClientSecretFile (or ClientSecret through the environment), one of them.";
        }
        if (RolesRecheckedAfter < TimeSpan.FromSeconds(30) || RolesRecheckedAfter > TimeSpan.FromHours(1))
        {
            yield return $"{prefix}:RolesRecheckedAfter: must be between 00:00:30 and 01:00:00 (roles removed at the provider take effect within it).";
        }
        if (string.IsNullOrWhiteSpace(RoleClaim))
        {
            yield return $"{prefix}:RoleClaim: must name a claim, e.g. roles.";
        }
        if (string.IsNullOrWhiteSpace(AdminRole) && MailboxRoles.Count == 0)
        {
            yield return $"{prefix}:MailboxRoles: nobody could see anything: set AdminRole or MailboxRoles.";
        }
    }
}
