using System.Text;
using MailKit;

namespace SmartMail.Worker.Auth;

/// <summary>
/// A protocol logger that only listens while <see cref="MailSignIn"/> signs in, and only to the server: whether it answered
/// with the RFC 5530 code <c>[UNAVAILABLE]</c> (MailKit's <see cref="MailKit.Security.AuthenticationException"/> after a SASL
/// sign-in keeps neither the code nor the text). What the client sends (the token) is never looked at or kept; outside a
/// sign-in nothing is read at all.
/// </summary>
public sealed class SignInTranscript : IProtocolLogger
{
    private volatile bool _listening;
    private volatile bool _unavailable;

    /// <inheritdoc />
    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    /// <summary>Starts listening for one sign-in.</summary>
    public void Listen()
    {
        _unavailable = false;
        _listening = true;
    }

    /// <summary>Stops listening.</summary>
    public void Stop() => _listening = false;

    /// <summary>Whether the server answered <c>[UNAVAILABLE]</c> during the sign-in.</summary>
    public bool HeardUnavailable => _unavailable;

    /// <inheritdoc />
    public void LogConnect(Uri uri)
    {
    }

    /// <inheritdoc />
    public void LogClient(byte[] buffer, int offset, int count)
    {
        // never: the client's lines carry the token
    }

    /// <inheritdoc />
    public void LogServer(byte[] buffer, int offset, int count)
    {
        if (_listening && !_unavailable)
        {
            _unavailable = Encoding.ASCII.GetString(buffer, offset, Math.Min(count, 1024)).Contains("[UNAVAILABLE]", StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
