using Microsoft.Extensions.Logging;

namespace SmartMail.Web;

/// <summary>The web app's log lines (event ids 27xx); none carries personal data.</summary>
internal static partial class WebLog
{
    [LoggerMessage(EventId = 2711, Level = LogLevel.Warning, Message = "An OpenID Connect sign-in failed ({Failure})")]
    public static partial void SignInFailed(ILogger logger, string failure);

    [LoggerMessage(EventId = 2712, Level = LogLevel.Information, Message = "Web action {Action} done: {Ok}")]
    public static partial void ActionDone(ILogger logger, string action, bool ok);
}
