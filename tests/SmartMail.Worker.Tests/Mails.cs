namespace SmartMail.Worker.Tests;

/// <summary>Small synthetic mails.</summary>
internal static class Mails
{
    public static string Space(int n) => $"""
        From: ann{n}@example.org
        Subject: Shuttle launch question {n}
        Message-ID: <space-{n}@example.org>
        Content-Type: text/plain; charset=utf-8

        When is the next NASA shuttle launch to the space station? The orbiter is on the pad and the
        satellite payload is ready. How long is the countdown before launch? ({n})
        """.Replace("\n", "\r\n", StringComparison.Ordinal);

    public static string Car(int n) => $"""
        From: driver{n}@example.net
        Subject: Engine noise after oil change {n}
        Message-ID: <car-{n}@example.net>
        Content-Type: text/plain; charset=utf-8

        My car makes a ticking noise from the engine since the dealer changed the oil. The mechanic says the
        valves are fine. Could the wrong oil cause this? It is a sedan with a V6, the brakes and tires are new. ({n})
        """.Replace("\n", "\r\n", StringComparison.Ordinal);

    public static string Danish(int n) => $"""
        From: borger{n}@example.dk
        Subject: Min sag {n}
        Content-Type: text/plain; charset=utf-8

        Hej, jeg vil gerne høre hvornår jeg får svar på min ansøgning. Venlig hilsen ({n})
        """.Replace("\n", "\r\n", StringComparison.Ordinal);

    /// <summary>Space, car and Danish mails in turn.</summary>
    public static string Mixed(int n) => (n % 3) switch
    {
        0 => Space(n),
        1 => Car(n),
        _ => Danish(n),
    };

    public const string NotMime = "this first line is no header at all\r\nand neither is this one\r\n\r\nbody\r\n";

    public const string CprHeavy = """
        From: "Borger 010190-1234" <borger@example.dk>
        Subject: =?utf-8?Q?CPR_0101901234_og_311299-4321?=
        Message-ID: <cpr@example.dk>
        Content-Type: multipart/mixed; boundary="b"

        --b
        Content-Type: text/plain; charset=utf-8

        Mit CPR-nummer er 010190-1234, min søns er 0101151235 og min datters 290200 4234.
        --b
        Content-Type: application/pdf; name="skema 010190-1234.pdf"
        Content-Disposition: attachment; filename="skema 010190-1234.pdf"
        Content-Transfer-Encoding: base64

        JVBERi0xLjQK
        --b--
        """;
}
