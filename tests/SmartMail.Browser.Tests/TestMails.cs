namespace SmartMail.Browser.Tests;

/// <summary>Mails for the browser tests, each with a subject of its own so a test finds its mail among the others.</summary>
internal static class TestMails
{
    /// <summary>A Danish citizen's question the shipped (English newsgroups) model is unsure of: it waits in manual triage.</summary>
    /// <param name="tag">Makes the subject and the body unique.</param>
    /// <returns>The mail with its subject.</returns>
    public static (string Mail, string Subject) ForTriage(string tag)
    {
        var subject = $"Spørgsmål om min sag {tag}";
        var mail = $"""
            From: borger-{tag}@example.dk
            To: post@kommune.test
            Subject: {subject}
            Message-ID: <{tag}@example.dk>
            Date: Tue, 01 Dec 2026 09:30:00 +0100
            Content-Type: text/plain; charset=utf-8

            Hej, jeg vil gerne høre hvornår jeg får svar på min ansøgning om tilskud. Mit CPR-nummer er 010190-1234.
            Venlig hilsen en borger ({tag})
            """.Replace("\n", "\r\n", StringComparison.Ordinal);
        return (mail, subject);
    }

    /// <summary>A unique tag for a test's mail.</summary>
    /// <returns>The tag.</returns>
    public static string Tag() => Guid.NewGuid().ToString("N")[..10];
}
