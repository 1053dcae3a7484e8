using Microsoft.Extensions.Logging;

namespace SmartMail.Web;

/// <summary>Hands the web app's log lines (after its own filters) to the host's logger factory, which redacts them.</summary>
/// <param name="factory">The host's factory.</param>
internal sealed class ForwardingLoggerProvider(ILoggerFactory factory) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

    public void Dispose()
    {
        // The host owns the factory.
    }
}
