using Microsoft.Extensions.Logging;
using SmartMail.Core;

namespace SmartMail.Web;

/// <summary>The web app's log lines (event ids 27xx); none carries personal data.</summary>
internal static partial class WebLog
{
    [LoggerMessage(EventId = SmartMailEventId.WebSignInFailed, Level = LogLevel.Warning, Message = "An OpenID Connect sign-in failed ({Failure})")]
    public static partial void SignInFailed(ILogger logger, string failure);

    [LoggerMessage(EventId = SmartMailEventId.WebActionDone, Level = LogLevel.Information, Message = "Web action {Action} done: {Ok}")]
    public static partial void ActionDone(ILogger logger, string action, bool ok);
}
