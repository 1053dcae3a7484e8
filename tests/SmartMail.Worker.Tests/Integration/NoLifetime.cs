using Microsoft.Extensions.Hosting;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>A host lifetime for workers started outside a host: stopping the application is a no-op.</summary>
internal sealed class NoLifetime : IHostApplicationLifetime
{
    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => CancellationToken.None;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public void StopApplication()
    {
    }
}
