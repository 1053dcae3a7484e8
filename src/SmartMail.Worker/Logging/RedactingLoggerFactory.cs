using Microsoft.Extensions.Logging;

namespace SmartMail.Worker.Logging;

/// <summary>The host's logger factory, with every logger it hands out wrapped in a <see cref="RedactingLogger"/>.</summary>
/// <param name="inner">The real factory (providers, filters, scopes).</param>
internal sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();
}
