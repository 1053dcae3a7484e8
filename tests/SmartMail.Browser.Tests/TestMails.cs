namespace SmartMail.Browser.Tests;

/// <summary>Mails for the browser tests, each with a subject of its own so a test finds its mail among the others.</summary>
internal static class TestMails
{
    /// <summary>A Danish citizen's question the Danish demo model (KLE main groups) is unsure of: it waits in manual triage.</summary>
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

    /// <summary>
    /// One of the quick start's Danish sample mails (<c>samples/inbox/NAME.eml</c>, UTF-8 ones only) with a Message-ID of its
    /// own, so that it is a new mail each time.
    /// </summary>
    /// <param name="name">The file name without <c>.eml</c>.</param>
    /// <param name="tag">Makes the Message-ID unique.</param>
    /// <returns>The mail (CRLF line ends).</returns>
    public static string Sample(string name, string tag)
    {
        var text = File.ReadAllText(Path.Combine(SmartMailProcess.RepositoryRoot, "samples", "inbox", name + ".eml"));
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var id = Array.FindIndex(lines, l => l.StartsWith("Message-ID:", StringComparison.OrdinalIgnoreCase));
        Assert.True(id >= 0, $"{name}.eml has no Message-ID");
        lines[id] = $"Message-ID: <{tag}-{name}@example.dk>";
        return string.Join("\r\n", lines);
    }

    /// <summary>A unique tag for a test's mail.</summary>
    /// <returns>The tag.</returns>
    public static string Tag() => Guid.NewGuid().ToString("N")[..10];
}
