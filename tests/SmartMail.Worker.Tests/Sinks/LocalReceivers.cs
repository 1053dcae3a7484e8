using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace SmartMail.Worker.Tests.Sinks;

/// <summary>Loopback ports.</summary>
internal static class LoopbackPort
{
    /// <summary>A port nothing listens on right now (the OS picks it; it is released again at once).</summary>
    public static int Free()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Waits until something accepts connections on the port.</summary>
    public static async Task WaitListeningAsync(int port, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(3);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, cancellationToken);
            }
        }
    }
}

/// <summary>A message the SMTP receiver accepted.</summary>
internal sealed record ReceivedMail(string From, IReadOnlyList<string> To, byte[] Raw);

/// <summary>A real SMTP server (the SmtpServer package) on 127.0.0.1 that keeps what it receives in memory.</summary>
internal sealed class SmtpReceiver : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly SmtpServer.SmtpServer _server;
    private readonly Task _running;

    private SmtpReceiver(int port, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate, bool implicitTls)
    {
        Port = port;
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(e =>
            {
                e.Endpoint(new IPEndPoint(IPAddress.Loopback, port));
                if (certificate is not null)
                {
                    // With a certificate: implicit TLS, or STARTTLS offered on a plain connection.
                    e.Certificate(certificate).IsSecure(implicitTls);
                }
            })
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(Received));
        _server = new SmtpServer.SmtpServer(options, services);
        _running = _server.StartAsync(_stop.Token);
    }

    public int Port { get; }

    public ConcurrentQueue<ReceivedMail> Received { get; } = new();

    public static async Task<SmtpReceiver> StartAsync(CancellationToken cancellationToken,
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null, bool implicitTls = false)
    {
        var receiver = new SmtpReceiver(LoopbackPort.Free(), certificate, implicitTls);
        await LoopbackPort.WaitListeningAsync(receiver.Port, cancellationToken);
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        _server.Shutdown();
        await _stop.CancelAsync();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (OperationCanceledException)
        {
        }
        catch (TimeoutException)
        {
        }
        _stop.Dispose();
    }

    private sealed class Store(ConcurrentQueue<ReceivedMail> received) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction,
            ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            received.Enqueue(new ReceivedMail(transaction.From.AsAddress(), [.. transaction.To.Select(t => t.AsAddress())], buffer.ToArray()));
            return Task.FromResult(SmtpResponse.Ok);
        }
    }
}

/// <summary>A request the HTTP receiver got.</summary>
internal sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>A real HTTP server (System.Net.HttpListener) on 127.0.0.1 that records requests and answers per a script.</summary>
internal sealed class HttpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<int, Task<int>> _answer;
    private readonly Task _loop;

    /// <param name="answer">Request number (1-based) → status code to answer (may wait first).</param>
    public HttpReceiver(Func<int, Task<int>> answer)
    {
        _answer = answer;
        Port = LoopbackPort.Free();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public HttpReceiver(params int[] statuses)
        : this(n => Task.FromResult(statuses[Math.Min(n, statuses.Length) - 1]))
    {
    }

    public int Port { get; }

    public Uri Url(string path) => new($"http://127.0.0.1:{Port}/{path}");

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    /// <summary>Each request with the status it was answered (after the answer was chosen).</summary>
    public ConcurrentQueue<(ReceivedRequest Request, int Status)> Answered { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(2));
    }

    private async Task LoopAsync()
    {
        var count = 0;
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
            _ = HandleAsync(context, Interlocked.Increment(ref count));
        }
    }

    private async Task HandleAsync(HttpListenerContext context, int number)
    {
        try
        {
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var headers = context.Request.Headers.AllKeys.Where(k => k is not null)
                .ToDictionary(k => k!, k => context.Request.Headers[k] ?? "", StringComparer.OrdinalIgnoreCase);
            var request = new ReceivedRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, headers, body.ToArray());
            Requests.Enqueue(request);
            var status = await _answer(number);
            Answered.Enqueue((request, status));
            context.Response.StatusCode = status;
            context.Response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The client gave up (time-out test) or the listener stopped.
        }
    }
}
