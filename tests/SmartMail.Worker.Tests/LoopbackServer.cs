using System.Net;
using System.Net.Sockets;

namespace SmartMail.Worker.Tests;

/// <summary>
/// A TCP server of a test's own on 127.0.0.1 (a free port): accepts connections until disposed and serves each on its
/// own task. Subclasses speak the protocol (an SMTP relay, a throttling IMAP server) and call <see cref="StartAccepting"/>
/// at the end of their constructor, once their own fields are set.
/// </summary>
internal abstract class LoopbackServer : IDisposable, IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private Task _accepting = Task.CompletedTask;
    private bool _disposed;

    /// <summary>The port the server listens on.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Cancelled when the server is disposed.</summary>
    protected CancellationToken Stopping => _stop.Token;

    /// <summary>Starts listening and accepting.</summary>
    protected void StartAccepting()
    {
        _listener.Start();
        _accepting = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Called for each accepted connection before it is served.</summary>
    protected virtual void OnAccepted()
    {
    }

    /// <summary>Serves one connection; the client is disposed by the caller after this returns.</summary>
    /// <param name="client">The connection.</param>
    /// <returns>When the session is over.</returns>
    protected abstract Task ServeAsync(TcpClient client);

    /// <summary>Releases what a subclass holds besides the listener.</summary>
    protected virtual void DisposeResources()
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Stop())
        {
            Finish();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!Stop())
        {
            return;
        }
        try
        {
            await _accepting.WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or SocketException or ObjectDisposedException)
        {
        }
        Finish();
    }

    private bool Stop()
    {
        if (_disposed)
        {
            return false;
        }
        _disposed = true;
        _stop.Cancel();
        _listener.Stop();
        return true;
    }

    private void Finish()
    {
        DisposeResources();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            OnAccepted();
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    await ServeAsync(client);
                }
            });
        }
    }
}
