using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SmartMail.Worker.Tests.Sinks;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// A small real SMTP relay on 127.0.0.1 that, like Exchange Online's smtp.office365.com, advertises <c>AUTH XOAUTH2</c>
/// and <c>OAUTHBEARER</c>, checks each bearer token by an RFC 7662 introspection POST to a <see cref="LocalOidcAuthority"/>
/// (the token must be active and issued for the user named in the SASL message), answers a refusal with Exchange's
/// <c>535 5.7.3 Authentication unsuccessful</c>, and takes mail only after a successful sign-in (<c>530 5.7.57</c> before).
/// The SmtpServer package offers only PLAIN and LOGIN, hence this one.
/// </summary>
internal sealed class OAuth2SmtpRelay : LoopbackServer
{
    private readonly Uri _introspection;
    private readonly HttpClient _http = new();
    private int _accepted;
    private int _refused;
    private int _connections;

    private OAuth2SmtpRelay(Uri introspection)
    {
        _introspection = introspection;
        StartAccepting();
    }

    /// <summary>Mails received (after a successful sign-in).</summary>
    public ConcurrentQueue<ReceivedMail> Received { get; } = new();

    /// <summary>Every SASL message's raw text as the client sent it (base64-decoded), for leak checks.</summary>
    public ConcurrentQueue<string> SaslMessages { get; } = new();

    public int AcceptedSignIns => Volatile.Read(ref _accepted);

    public int RefusedSignIns => Volatile.Read(ref _refused);

    public int Connections => Volatile.Read(ref _connections);

    public static OAuth2SmtpRelay Start(LocalOidcAuthority authority) => new(authority.BackChannelIntrospectionEndpoint);

    public static OAuth2SmtpRelay Start(Uri introspection) => new(introspection);

    protected override void OnAccepted() => Interlocked.Increment(ref _connections);

    protected override void DisposeResources() => _http.Dispose();

    protected override async Task ServeAsync(TcpClient tcp)
    {
        using var client = tcp;
        try
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.Latin1, false, 4096, leaveOpen: true);
            await using var writer = new StreamWriter(stream, Encoding.Latin1, 4096, leaveOpen: true) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 localhost Microsoft ESMTP MAIL Service ready (test relay)");
            string? user = null;
            string? from = null;
            var to = new List<string>();
            while (await reader.ReadLineAsync(Stopping) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                var argument = line.Length > verb.Length ? line[(verb.Length + 1)..] : "";
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteAsync("250-localhost Hello\r\n250-SIZE 157286400\r\n250-8BITMIME\r\n250-AUTH XOAUTH2 OAUTHBEARER\r\n250 ENHANCEDSTATUSCODES\r\n");
                        break;
                    case "HELO":
                        await writer.WriteLineAsync("250 localhost");
                        break;
                    case "AUTH":
                        var parts = argument.Split(' ', 2);
                        var initial = parts.Length > 1 ? parts[1] : null;
                        if (initial is null)
                        {
                            await writer.WriteLineAsync("334 ");
                            initial = await reader.ReadLineAsync(Stopping) ?? "";
                        }
                        user = await SignInAsync(parts[0].ToUpperInvariant(), initial);
                        await writer.WriteLineAsync(user is null ? "535 5.7.3 Authentication unsuccessful [test relay]" : "235 2.7.0 Authentication successful");
                        break;
                    case "MAIL":
                        if (user is null)
                        {
                            await writer.WriteLineAsync("530 5.7.57 Client not authenticated to send mail. [test relay]");
                            break;
                        }
                        from = Address(argument);
                        to.Clear();
                        await writer.WriteLineAsync("250 2.1.0 Sender OK");
                        break;
                    case "RCPT":
                        to.Add(Address(argument));
                        await writer.WriteLineAsync("250 2.1.5 Recipient OK");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 Start mail input; end with <CRLF>.<CRLF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(Stopping) is { } dataLine && dataLine != ".")
                        {
                            data.Append(dataLine.StartsWith("..", StringComparison.Ordinal) ? dataLine[1..] : dataLine).Append("\r\n");
                        }
                        Received.Enqueue(new ReceivedMail(from ?? "", [.. to], Encoding.Latin1.GetBytes(data.ToString())));
                        await writer.WriteLineAsync("250 2.6.0 Queued mail for delivery");
                        break;
                    case "RSET":
                    case "NOOP":
                        await writer.WriteLineAsync("250 2.0.0 OK");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 2.0.0 Service closing transmission channel");
                        return;
                    default:
                        await writer.WriteLineAsync("502 5.3.3 Command not implemented");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // the client went away or the relay stops
        }
    }

    // XOAUTH2: "user=U^Aauth=Bearer T^A^A"; OAUTHBEARER (RFC 7628): "n,a=U,^Aauth=Bearer T^A^A".
    private async Task<string?> SignInAsync(string mechanism, string initial)
    {
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(initial.Trim()));
        }
        catch (FormatException)
        {
            Interlocked.Increment(ref _refused);
            return null;
        }
        SaslMessages.Enqueue(text);
        var fields = text.Split('\x01', StringSplitOptions.RemoveEmptyEntries);
        var user = mechanism == "XOAUTH2"
            ? fields.FirstOrDefault(f => f.StartsWith("user=", StringComparison.Ordinal))?[5..]
            : fields.FirstOrDefault()?.Split(',').FirstOrDefault(f => f.StartsWith("a=", StringComparison.Ordinal))?[2..];
        var token = fields.FirstOrDefault(f => f.StartsWith("auth=Bearer ", StringComparison.Ordinal))?[12..];
        if (mechanism is not ("XOAUTH2" or "OAUTHBEARER") || user is null || token is null || await IntrospectAsync(token) != user)
        {
            Interlocked.Increment(ref _refused);
            return null;
        }
        Interlocked.Increment(ref _accepted);
        return user;
    }

    private async Task<string?> IntrospectAsync(string token)
    {
        using var response = await _http.PostAsync(_introspection, new FormUrlEncodedContent([new("token", token)]), Stopping);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Stopping));
        return json.RootElement.GetProperty("active").GetBoolean() ? json.RootElement.GetProperty("username").GetString() : null;
    }

    private static string Address(string argument)
    {
        var start = argument.IndexOf('<', StringComparison.Ordinal);
        var end = argument.IndexOf('>', StringComparison.Ordinal);
        return start >= 0 && end > start ? argument[(start + 1)..end] : argument;
    }
}
