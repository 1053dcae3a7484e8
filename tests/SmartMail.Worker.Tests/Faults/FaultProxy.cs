using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SmartMail.Worker.Tests.Faults;

/// <summary>Which way bytes flow through the proxy.</summary>
internal enum Flow
{
    ClientToServer,
    ServerToClient,
}

/// <summary>What a fault does to the connection it strikes.</summary>
internal enum FaultAction
{
    /// <summary>Holds the stream for <see cref="Fault.Delay"/>, then carries on.</summary>
    Delay,

    /// <summary>From here on the connection forwards nothing either way; it accepts and drops bytes (a silent dead link).</summary>
    BlackHole,

    /// <summary>The matched bytes are not forwarded: the client gets a TCP RST and the server connection is closed.</summary>
    Reset,

    /// <summary>The matched bytes (a command) reach the server, the client gets a TCP RST at once, and the server's reply is
    /// read and dropped: the server acted, the client never hears of it (the ambiguous outcome).</summary>
    ResetAfterReply,

    /// <summary>Nothing more is forwarded and both sides are closed (FIN), as when a server process dies mid-response.</summary>
    Cut,
}

/// <summary>
/// A one-shot fault. It strikes the first connection where <see cref="Pattern"/> is seen flowing <see cref="Flow"/>
/// (or where <see cref="AfterBytes"/> have flowed that way): bytes server→client are forwarded up to the end of the
/// match, bytes client→server are held before it. While the stream is frozen at that point <see cref="While"/> runs
/// (e.g. restart the server), then <see cref="Action"/> is applied.
/// </summary>
internal sealed class Fault
{
    private readonly TaskCompletionSource _fired = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public required Flow Flow { get; init; }

    public string? Pattern { get; init; }

    public long? AfterBytes { get; init; }

    public required FaultAction Action { get; init; }

    public TimeSpan Delay { get; init; }

    public Func<Task>? While { get; init; }

    /// <summary>Completes when the fault has struck and <see cref="While"/> has run (faulted if it threw).</summary>
    public Task Fired => _fired.Task;

    internal void Complete(Exception? error)
    {
        if (error is null)
        {
            _fired.TrySetResult();
        }
        else
        {
            _fired.TrySetException(error);
        }
    }

    /// <summary>Where in <paramref name="chunk"/> the fault strikes (the end of the match), or -1.</summary>
    internal int Find(string tail, ReadOnlySpan<byte> chunk, long flowedBefore)
    {
        if (AfterBytes is { } limit && flowedBefore + chunk.Length >= limit)
        {
            return (int)Math.Max(0, limit - flowedBefore);
        }
        if (Pattern is null)
        {
            return -1;
        }
        var index = (tail + Encoding.Latin1.GetString(chunk)).IndexOf(Pattern, StringComparison.Ordinal);
        return index < 0 ? -1 : Math.Max(0, index + Pattern.Length - tail.Length);
    }
}

/// <summary>
/// A TCP proxy on 127.0.0.1 between a client (the worker) and a server (Dovecot, an SMTP or HTTP receiver) that injects
/// network faults, in place of Toxiproxy: one-shot <see cref="Fault"/>s on a command or a response, or the whole link
/// black-holed (a partition: connections open but nothing arrives) or refused (every connection reset) until healed.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Link> _links = [];
    private readonly Task _accepting;
    private Fault? _armed;
    private LinkMode _mode = LinkMode.Pass;

    private FaultProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = Task.Run(AcceptAsync);
    }

    private enum LinkMode
    {
        Pass,
        BlackHole,
        Refuse,
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted { get; private set; }

    public static FaultProxy Start(int upstreamPort) => new(upstreamPort);

    /// <summary>Arms a one-shot fault (replacing one not yet fired).</summary>
    public Fault Arm(Fault fault)
    {
        Volatile.Write(ref _armed, fault);
        return fault;
    }

    /// <summary>A partition: every open connection and every new one goes silent (bytes accepted and dropped).</summary>
    public void BlackHoleAll() => SetMode(LinkMode.BlackHole, link => link.BlackHoled = true);

    /// <summary>The server is down: every open connection is reset, and so is every new one at once.</summary>
    public void RefuseAll() => SetMode(LinkMode.Refuse, link => link.Reset());

    /// <summary>New connections pass again (connections that went silent stay silent until their client gives up).</summary>
    public void Heal() => SetMode(LinkMode.Pass, _ => { });

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        SetMode(LinkMode.Refuse, link => link.Close());
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // stopped
        }
        _stop.Dispose();
    }

    private void SetMode(LinkMode mode, Action<Link> toOpenLinks)
    {
        List<Link> open;
        lock (_gate)
        {
            _mode = mode;
            open = [.. _links];
        }
        open.ForEach(toOpenLinks);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            client.NoDelay = true;
            Accepted++;
            LinkMode mode;
            lock (_gate)
            {
                mode = _mode;
            }
            var link = new Link(this, client);
            lock (_gate)
            {
                _links.Add(link);
            }
            switch (mode)
            {
                case LinkMode.Refuse:
                    link.Reset();
                    break;
                case LinkMode.BlackHole:
                    link.BlackHoled = true;
                    _ = link.DrainClientAsync(_stop.Token); // never connects upstream: the partition holds
                    break;
                default:
                    _ = link.RunAsync(_upstreamPort, _stop.Token);
                    break;
            }
        }
    }

    private Fault? Claim(Flow flow, string tail, ReadOnlySpan<byte> chunk, long flowedBefore, out int at)
    {
        at = -1;
        var fault = Volatile.Read(ref _armed);
        if (fault is null || fault.Flow != flow)
        {
            return null;
        }
        at = fault.Find(tail, chunk, flowedBefore);
        return at >= 0 && Interlocked.CompareExchange(ref _armed, null, fault) == fault ? fault : null;
    }

    private void Forget(Link link)
    {
        lock (_gate)
        {
            _links.Remove(link);
        }
    }

    /// <summary>One client connection and its server connection.</summary>
    private sealed class Link(FaultProxy proxy, TcpClient client) : IDisposable
    {
        private const int TailLength = 64;
        private readonly TcpClient _server = new() { NoDelay = true };
        private readonly StringBuilder _reply = new();
        private volatile bool _clientGone;

        public volatile bool BlackHoled;

        public async Task RunAsync(int upstreamPort, CancellationToken cancellationToken)
        {
            try
            {
                await _server.ConnectAsync(IPAddress.Loopback, upstreamPort, cancellationToken);
            }
            catch (SocketException)
            {
                Reset(); // the server is down: the client sees its connection refused (reset)
                return;
            }
            await Task.WhenAll(
                PumpAsync(client, _server, Flow.ClientToServer, cancellationToken),
                PumpAsync(_server, client, Flow.ServerToClient, cancellationToken));
            Close();
        }

        public async Task DrainClientAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (await client.GetStream().ReadAsync(buffer, cancellationToken) > 0)
                {
                    // dropped: nothing answers
                }
            }
            catch (Exception ex) when (IsClosed(ex))
            {
                // the client gave up
            }
            Close();
        }

        public void Reset()
        {
            _clientGone = true;
            try
            {
                client.Client.LingerState = new LingerOption(true, 0); // close sends RST
            }
            catch (Exception ex) when (IsClosed(ex))
            {
                // already closed
            }
            client.Close();
            _server.Close();
            proxy.Forget(this);
        }

        public void Close()
        {
            client.Close();
            _server.Close();
            proxy.Forget(this);
        }

        public void Dispose() => Close();

        private async Task PumpAsync(TcpClient from, TcpClient to, Flow flow, CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            var tail = string.Empty;
            long flowed = 0;
            try
            {
                var source = from.GetStream();
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    var chunk = buffer.AsMemory(0, read);
                    if (_clientGone && flow == Flow.ServerToClient)
                    {
                        // After ResetAfterReply: drop the reply; once the command's tagged completion has come, end the server side.
                        _reply.Append(Encoding.Latin1.GetString(chunk.Span));
                        if (HasTaggedReply(_reply.ToString()))
                        {
                            break;
                        }
                        continue;
                    }
                    if (BlackHoled)
                    {
                        continue;
                    }
                    var fault = proxy.Claim(flow, tail, chunk.Span, flowed, out var at);
                    tail = Tail(tail, chunk.Span);
                    flowed += read;
                    if (fault is null)
                    {
                        await to.GetStream().WriteAsync(chunk, cancellationToken);
                        continue;
                    }
                    var split = flow == Flow.ServerToClient ? Math.Min(at, read) : 0;
                    await to.GetStream().WriteAsync(chunk[..split], cancellationToken);
                    await StrikeAsync(fault, to, chunk[split..], cancellationToken);
                    if (fault.Action is FaultAction.Reset or FaultAction.Cut or FaultAction.ResetAfterReply)
                    {
                        return; // after ResetAfterReply the other pump ends the server side
                    }
                }
            }
            catch (Exception ex) when (IsClosed(ex))
            {
                // one side closed or was reset
            }
            Close();
        }

        private async Task StrikeAsync(Fault fault, TcpClient to, ReadOnlyMemory<byte> rest, CancellationToken cancellationToken)
        {
            Exception? error = null;
            try
            {
                if (fault.While is { } action)
                {
                    await action();
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                error = ex;
            }
            try
            {
                switch (fault.Action)
                {
                    case FaultAction.Delay:
                        await Task.Delay(fault.Delay, cancellationToken);
                        await to.GetStream().WriteAsync(rest, cancellationToken);
                        break;
                    case FaultAction.BlackHole:
                        BlackHoled = true;
                        break;
                    case FaultAction.Reset:
                        Reset();
                        break;
                    case FaultAction.ResetAfterReply:
                        _clientGone = true;
                        await to.GetStream().WriteAsync(rest, cancellationToken); // the command reaches the server
                        client.Client.LingerState = new LingerOption(true, 0);
                        client.Close();
                        _ = CloseLaterAsync(cancellationToken);
                        break;
                    case FaultAction.Cut:
                        Close();
                        break;
                }
            }
            finally
            {
                fault.Complete(error);
            }
        }

        // A server that never completes the command let through must not keep the link open for ever.
        private async Task CloseLaterAsync(CancellationToken cancellationToken)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // the proxy stops
            }
            Close();
        }

        private static bool HasTaggedReply(string text) =>
            text.Split("\r\n").Any(line => line.Length > 0 && line[0] is not '*' and not '+'
                && (line.Contains(" OK ", StringComparison.Ordinal) || line.Contains(" NO ", StringComparison.Ordinal)
                    || line.Contains(" BAD ", StringComparison.Ordinal)));

        private static string Tail(string tail, ReadOnlySpan<byte> chunk)
        {
            var text = tail + Encoding.Latin1.GetString(chunk[Math.Max(0, chunk.Length - TailLength)..]);
            return text.Length > TailLength ? text[^TailLength..] : text;
        }

        private static bool IsClosed(Exception ex) =>
            ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException;
    }
}
