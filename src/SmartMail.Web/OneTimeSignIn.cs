using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace SmartMail.Web;

/// <summary>
/// The one-time sign-in link of the embedded default (loopback, no OpenID Connect), as Jupyter does it: a random token
/// made at start; its first use, from the machine itself and within <see cref="Lifetime"/>, signs the browser in as the
/// local administrator and spends it. It is an administrator's credential: printed on the console of the person who
/// started SmartMail, or written to a file only the service user reads, never to the log.
/// </summary>
public sealed class OneTimeSignIn
{
    /// <summary>How long the link is good for after it was made.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    // Letters only: no CPR number or address can appear in it, so the redacting logger would print it unchanged.
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private readonly byte[] _token;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _expires;
    private int _spent;

    /// <summary>Creates a link with a fresh 228-bit token on the system clock.</summary>
    public OneTimeSignIn()
        : this(TimeProvider.System)
    {
    }

    /// <summary>Creates a link with a fresh 228-bit token, good for <see cref="Lifetime"/> from now.</summary>
    /// <param name="time">The clock.</param>
    public OneTimeSignIn(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _expires = time.GetUtcNow() + Lifetime;
        Token = RandomNumberGenerator.GetString(Alphabet, 40);
        _token = Encoding.ASCII.GetBytes(Token);
    }

    /// <summary>The token (a secret: printed once, logged nowhere).</summary>
    public string Token { get; }

    /// <summary>When the link stops working.</summary>
    public DateTimeOffset Expires => _expires;

    /// <summary>Whether the link has been used.</summary>
    public bool Spent => Volatile.Read(ref _spent) != 0;

    /// <summary>Whether the CLI prints the link on the console itself (then the web host writes no link file).</summary>
    public bool PrintedByCaller { get; set; }

    /// <summary>The link for an app listening on <paramref name="baseUrl"/>.</summary>
    /// <param name="baseUrl">The app's address, e.g. <c>http://127.0.0.1:5080</c>.</param>
    /// <returns>The link.</returns>
    public string Link(string baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        return $"{baseUrl.TrimEnd('/')}/signin?token={Token}";
    }

    /// <summary>
    /// Whether a request may use the link at all: it comes from this machine (a loopback address) and was not forwarded
    /// by a proxy on it (no <c>Forwarded</c> or <c>X-Forwarded-*</c> header).
    /// </summary>
    /// <param name="http">The request.</param>
    /// <returns>Whether it may.</returns>
    public static bool MayUse(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
        {
            return false;
        }
        var headers = http.Request.Headers;
        return !headers.ContainsKey("Forwarded") && !headers.ContainsKey("X-Forwarded-For") && !headers.ContainsKey("X-Forwarded-Host")
            && !headers.ContainsKey("X-Real-IP");
    }

    /// <summary>Spends the token if <paramref name="candidate"/> is it, it was not spent and has not expired; compares in constant time.</summary>
    /// <param name="candidate">What the browser sent.</param>
    /// <returns>Whether this call spent it.</returns>
    public bool TrySpend(string? candidate)
    {
        if (candidate is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(candidate), _token) || _time.GetUtcNow() >= _expires)
        {
            return false;
        }
        return Interlocked.Exchange(ref _spent, 1) == 0;
    }
}
