using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace SmartMail.Worker.WebHosting;

/// <summary>A Kestrel app of its own that a hosted service of the worker starts, and stops and disposes with the worker.</summary>
public abstract class HostedWebApp : IHostedService, IAsyncDisposable
{
    /// <summary>The app once started.</summary>
    protected WebApplication? App { get; set; }

    /// <inheritdoc />
    public abstract Task StartAsync(CancellationToken cancellationToken);

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (App is { } app)
        {
            await app.StopAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (App is { } app)
        {
            App = null;
            await app.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }
}
