namespace SmartMail.Worker.Auth;

/// <summary>
/// Sorts an OAuth2 sign-in failure for whoever reconnects: a transient one (the token authority down, the mail server's
/// token check down) gets one line naming the party at fault, with no stack trace; everything else is left to the caller.
/// </summary>
public static class SignInFailure
{
    /// <summary>The one-line description of a transient sign-in failure in <paramref name="error"/> or its inner exceptions.</summary>
    /// <param name="error">The failure.</param>
    /// <returns>The line, or <see langword="null"/> when it is not a transient sign-in failure.</returns>
    public static string? Transient(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is TokenAuthorityUnavailableException or TokenCheckUnavailableException)
            {
                return e.Message.ReplaceLineEndings(" ");
            }
        }
        return null;
    }
}
