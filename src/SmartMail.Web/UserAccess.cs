using System.Security.Claims;

namespace SmartMail.Web;

/// <summary>What a signed-in user may see: every mailbox (administrator) or the mailboxes of their roles and groups.</summary>
internal sealed class UserAccess
{
    /// <summary>The claim type of an entitled mailbox in the app's cookie.</summary>
    public const string MailboxClaim = "smartmail:mailbox";

    /// <summary>The role claim value of an administrator.</summary>
    public const string AdminRole = "smartmail:admin";

    /// <summary>The role claim value of whoever answers citizens' privacy requests (find, export, erase).</summary>
    public const string PrivacyRole = "smartmail:privacy";

    private readonly HashSet<string> _mailboxes;

    private UserAccess(string name, bool isAdmin, HashSet<string> mailboxes, bool answersPrivacyRequests = false)
    {
        Name = name;
        IsAdmin = isAdmin;
        _mailboxes = mailboxes;
        AnswersPrivacyRequests = answersPrivacyRequests;
    }

    /// <summary>The user's name as the audit trail records it.</summary>
    public string Name { get; }

    /// <summary>Whether the user administers SmartMail.</summary>
    public bool IsAdmin { get; }

    /// <summary>Whether the user has the privacy role (<c>Oidc:PrivacyRole</c>): finds, exports and erases a citizen's data.</summary>
    public bool AnswersPrivacyRequests { get; }

    /// <summary>Reads the access from the app's cookie principal.</summary>
    /// <param name="user">The principal.</param>
    /// <returns>The access; nothing for a signed-out principal.</returns>
    public static UserAccess Of(ClaimsPrincipal user)
    {
        if (user.Identity is not { IsAuthenticated: true })
        {
            return new UserAccess(string.Empty, false, []);
        }
        return new UserAccess(user.Identity.Name ?? string.Empty, user.IsInRole(AdminRole),
            user.FindAll(MailboxClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal), user.IsInRole(PrivacyRole));
    }

    /// <summary>Whether the user may see <paramref name="mailbox"/>.</summary>
    /// <param name="mailbox">The mailbox name.</param>
    /// <returns>Whether they may.</returns>
    public bool MaySee(string? mailbox) => mailbox is not null && (IsAdmin || _mailboxes.Contains(mailbox));

    /// <summary>Of <paramref name="all"/>, those the user may see, in order.</summary>
    /// <param name="all">The worker's mailboxes.</param>
    /// <returns>The entitled ones.</returns>
    public IReadOnlyList<string> Entitled(IEnumerable<string> all) => [.. all.Where(MaySee)];

    /// <summary>The app's principal for a user named <paramref name="name"/> with the given roles and groups.</summary>
    /// <param name="name">The name.</param>
    /// <param name="rolesAndGroups">The values of the role and group claims.</param>
    /// <param name="options">The role mapping.</param>
    /// <param name="authenticationType">How they signed in.</param>
    /// <returns>A principal holding only the name and the entitlements.</returns>
    public static ClaimsPrincipal Principal(string name, IEnumerable<string> rolesAndGroups, WebOidcOptions options, string authenticationType)
    {
        var identity = new ClaimsIdentity(authenticationType, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, name));
        var mailboxes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var role in rolesAndGroups)
        {
            if (!string.IsNullOrEmpty(options.AdminRole) && role == options.AdminRole && !identity.HasClaim(ClaimTypes.Role, AdminRole))
            {
                identity.AddClaim(new Claim(ClaimTypes.Role, AdminRole));
            }
            if (!string.IsNullOrEmpty(options.PrivacyRole) && role == options.PrivacyRole && !identity.HasClaim(ClaimTypes.Role, PrivacyRole))
            {
                identity.AddClaim(new Claim(ClaimTypes.Role, PrivacyRole));
            }
            if (options.MailboxRoles.TryGetValue(role, out var entitled))
            {
                mailboxes.UnionWith(entitled);
            }
        }
        foreach (var mailbox in mailboxes.Order(StringComparer.Ordinal))
        {
            identity.AddClaim(new Claim(MailboxClaim, mailbox));
        }
        return new ClaimsPrincipal(identity);
    }

    /// <summary>The local administrator of the one-time link.</summary>
    /// <returns>The principal.</returns>
    public static ClaimsPrincipal LocalAdmin()
    {
        var identity = new ClaimsIdentity("signin-link", ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, "local"));
        identity.AddClaim(new Claim(ClaimTypes.Role, AdminRole));
        identity.AddClaim(new Claim(ClaimTypes.Role, PrivacyRole)); // the one local user of the embedded default answers requests too
        return new ClaimsPrincipal(identity);
    }
}
