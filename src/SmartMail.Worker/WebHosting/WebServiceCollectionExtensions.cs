using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartMail.Web;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.WebHosting;

/// <summary>Registers the web app in the worker's host.</summary>
public static class WebServiceCollectionExtensions
{
    /// <summary>
    /// The one-time sign-in link and, when <paramref name="watch"/> and <c>SmartMail:Web:Enabled</c> (the default), the hosted
    /// service that serves the app.
    /// </summary>
    /// <param name="builder">The worker's host builder.</param>
    /// <param name="watch">Whether the worker watches (a one-shot run serves no app).</param>
    /// <returns>The builder.</returns>
    public static HostApplicationBuilder AddSmartMailWeb(this HostApplicationBuilder builder, bool watch)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<OneTimeSignIn>();
        var enabled = builder.Configuration[$"{SmartMailOptions.SectionName}:{WebOptions.SectionName}:Enabled"];
        if (watch && (enabled is null || !bool.TryParse(enabled, out var on) || on))
        {
            builder.Services.AddSingleton<WebHostService>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<WebHostService>());
        }
        return builder;
    }
}
