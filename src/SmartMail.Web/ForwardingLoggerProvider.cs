using Microsoft.Extensions.Logging;

namespace SmartMail.Web;

/// <summary>Hands the web app's log lines (after its own filters) to the host's logger factory, which redacts them.</summary>
/// <param name="factory">The host's factory.</param>
public sealed class ForwardingLoggerProvider(ILoggerFactory factory) : ILoggerProvider
{
    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
        // The host owns the factory.
    }
}
