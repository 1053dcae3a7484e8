using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartMail.Worker;
using SmartMail.Worker.Options;

namespace SmartMail.Cli;

/// <summary>The worker's configuration for commands that act on an installation (run, correct, retrain, models, train --imap).</summary>
internal static class WorkerConfig
{
    /// <summary>Splits configuration settings (<c>--Section:Key=value</c>) from the command's own arguments.</summary>
    public static (string[] Settings, string[] Others) Split(string[] argv)
    {
        // A configuration key has a section: --SmartMail:DataDirectory=..., --Logging:LogLevel:Default=Debug.
        static bool IsSetting(string a) => a.StartsWith("--", StringComparison.Ordinal) && a.IndexOf('=', StringComparison.Ordinal) is var eq and > 0
            && a.IndexOf(':', StringComparison.Ordinal) is > 2 and var colon && colon < eq;
        return ([.. argv.Where(IsSetting)], [.. argv.Where(a => !IsSetting(a))]);
    }

    /// <summary>Adds the shipped model as <c>ModelPath</c> when the settings name none.</summary>
    public static string[] WithDefaultModel(string[] settings)
    {
        var configured = settings.Any(a => a.Contains("ModelPath", StringComparison.OrdinalIgnoreCase))
            || Environment.GetEnvironmentVariable($"SMARTMAIL_{SmartMailOptions.SectionName}__ModelPath") is not null;
        return !configured && DefaultPaths.Find(DefaultPaths.ModelFile) is { } model
            ? [.. settings, $"--{SmartMailOptions.SectionName}:ModelPath={model}"]
            : settings;
    }

    /// <summary>Builds the host (no hosted services) and validates the options; configuration errors are printed, naming the setting.</summary>
    /// <returns>The host, or <see langword="null"/> after printing the configuration errors.</returns>
    public static IHost? Build(string[] settings, bool watch = false)
    {
        var builder = WorkerHost.CreateBuilder(WithDefaultModel(settings), watch);
        builder.Logging.SetMinimumLevel(watch ? LogLevel.Information : LogLevel.Warning);
        var host = builder.Build();
        try
        {
            _ = host.Services.GetRequiredService<IOptions<SmartMailOptions>>().Value;
            return host;
        }
        catch (OptionsValidationException ex)
        {
            foreach (var failure in ex.Failures)
            {
                Console.Error.WriteLine($"smartmail: configuration error: {failure}");
            }
            host.Dispose();
            return null;
        }
    }

    /// <summary>The options of a built host.</summary>
    public static SmartMailOptions Options(this IHost host) => host.Services.GetRequiredService<SmartMailOptions>();
}
