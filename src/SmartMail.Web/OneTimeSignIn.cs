using System.Security.Cryptography;
using System.Text;

namespace SmartMail.Web;

/// <summary>
/// The one-time sign-in link of the embedded default (loopback, no OpenID Connect), as Jupyter does it: a random token
/// printed at start; its first use signs the browser in as the local administrator and spends it.
/// </summary>
public sealed class OneTimeSignIn
{
    // Letters only: no CPR number or address can appear in it, so the redacting logger prints it unchanged.
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private readonly byte[] _token;
    private int _spent;

    /// <summary>Creates a link with a fresh 228-bit token.</summary>
    public OneTimeSignIn()
    {
        Token = RandomNumberGenerator.GetString(Alphabet, 40);
        _token = Encoding.ASCII.GetBytes(Token);
    }

    /// <summary>The token (a secret: printed once, logged nowhere else).</summary>
    public string Token { get; }

    /// <summary>Whether the link has been used.</summary>
    public bool Spent => Volatile.Read(ref _spent) != 0;

    /// <summary>Whether the CLI prints the link on the console itself (then the web host logs that it did, not the link).</summary>
    public bool PrintedByCaller { get; set; }

    /// <summary>The link for an app listening on <paramref name="baseUrl"/>.</summary>
    /// <param name="baseUrl">The app's address, e.g. <c>http://127.0.0.1:5080</c>.</param>
    /// <returns>The link.</returns>
    public string Link(string baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        return $"{baseUrl.TrimEnd('/')}/signin?token={Token}";
    }

    /// <summary>Spends the token if <paramref name="candidate"/> is it and it was not spent; compares in constant time.</summary>
    /// <param name="candidate">What the browser sent.</param>
    /// <returns>Whether this call spent it.</returns>
    public bool TrySpend(string? candidate)
    {
        if (candidate is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(candidate), _token))
        {
            return false;
        }
        return Interlocked.Exchange(ref _spent, 1) == 0;
    }
}
