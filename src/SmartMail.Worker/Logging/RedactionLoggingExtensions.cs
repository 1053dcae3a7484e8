using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmartMail.Worker.Logging;

/// <summary>Puts <see cref="Core.Privacy.Redactor"/> in front of every logging provider.</summary>
public static class RedactionLoggingExtensions
{
    /// <summary>
    /// Makes the host's <see cref="ILoggerFactory"/> redact everything a log line receives before any provider sees it:
    /// the message, every structured value (the template too), every scope, and the exception with its inner exceptions
    /// and stack text. Providers added before or after this call are all covered, and their filter rules still apply.
    /// </summary>
    /// <param name="logging">The host's logging builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="logging"/> is <see langword="null"/>.</exception>
    public static ILoggingBuilder AddSmartMailRedaction(this ILoggingBuilder logging)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.Services.RemoveAll<ILoggerFactory>();
        logging.Services.AddSingleton<ILoggerFactory>(sp => new RedactingLoggerFactory(new LoggerFactory(
            sp.GetServices<ILoggerProvider>(),
            sp.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            sp.GetService<IOptions<LoggerFactoryOptions>>(),
            sp.GetService<IExternalScopeProvider>())));
        return logging;
    }
}
