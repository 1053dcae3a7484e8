using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Web;
using SmartMail.Worker.Tests.Sinks;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// An OAuth 2.0 token introspection endpoint (RFC 7662) on 127.0.0.1 for a test Dovecot started with
/// <c>oauth2IntrospectionUrl</c>: Dovecot POSTs <c>token=...</c> (form-encoded) and logs the user in when the answer is
/// <c>{"active": true, "username": USER}</c>. Tokens are issued with <see cref="Issue"/> and withdrawn with <see cref="Revoke"/>;
/// any other token is answered <c>{"active": false}</c>.
/// </summary>
internal sealed class IntrospectionEndpoint : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, string> _active = new(StringComparer.Ordinal);
    private readonly Task _loop;

    public IntrospectionEndpoint()
    {
        Port = LoopbackPort.Free();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/introspect");

    /// <summary>Every token that was asked about, in order.</summary>
    public ConcurrentQueue<string> Asked { get; } = new();

    /// <summary>Makes <paramref name="token"/> active for <paramref name="user"/>.</summary>
    public string Issue(string user, string token)
    {
        _active[token] = user;
        return token;
    }

    public void Revoke(string token) => _active.TryRemove(token, out _);

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(2));
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = AnswerAsync(context);
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var form = HttpUtility.ParseQueryString(await reader.ReadToEndAsync());
            var token = form["token"] ?? "";
            Asked.Enqueue(token);
            object answer = context.Request.HttpMethod == "POST" && _active.TryGetValue(token, out var user)
                ? new { active = true, username = user }
                : new { active = false };
            var body = JsonSerializer.SerializeToUtf8Bytes(answer);
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = body.Length;
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or IOException)
        {
            // Dovecot gave up or the listener stopped.
        }
    }
}
