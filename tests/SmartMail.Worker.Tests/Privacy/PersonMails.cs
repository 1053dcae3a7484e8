using System.IO.Compression;
using System.Text;
using MimeKit;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace SmartMail.Worker.Tests.Privacy;

/// <summary>One citizen's mails (CPR in subject, body, a PDF attachment, a reply thread) and a byte-for-byte trace scan.</summary>
internal static class PersonMails
{
    public const string Cpr = "311275-4321";
    public const string Address = "jens.testesen@borger.example";
    public const string OtherAddress = "jt@privat.example";
    public const string Text = "Kamilla skal starte i vuggestuen Solsikken";
    public const string ReplyText = "Tak for svaret om Solsikken og pladsanvisningen";

    /// <summary>Every spelling of <see cref="Cpr"/> the detector knows (issue 24 finding 7 included).</summary>
    public static readonly string[] CprSpellings =
    [
        "311275-4321", "3112754321", "311275 4321", "311275_4321", "31.12.75-4321", "31.12.75 4321", "31.12.75.4321",
        "31-12-75-4321", "31/12/75 4321", "31 12 75 4321", "31.12.1975-4321", "31.12.754321", "31-12-754321",
    ];

    public static byte[] Mail(int n, string subject, string body, string from = Address, string? inReplyTo = null, byte[]? pdf = null)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Jens Testesen", from));
        message.To.Add(new MailboxAddress("Kommunen", "post@kommune.example"));
        message.Subject = subject;
        message.MessageId = $"person-{n}@borger.example";
        message.Date = new DateTimeOffset(2026, 12, 1, 9, n, 0, TimeSpan.Zero);
        if (inReplyTo is not null)
        {
            message.InReplyTo = inReplyTo;
            message.References.Add(inReplyTo);
        }
        var builder = new BodyBuilder { TextBody = body };
        if (pdf is not null)
        {
            builder.Attachments.Add("bilag.pdf", pdf, new ContentType("application", "pdf"));
        }
        message.Body = builder.ToMessageBody();
        using var stream = new MemoryStream();
        message.WriteTo(stream);
        return stream.ToArray();
    }

    public static byte[] Pdf(string line)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        builder.AddPage(595, 842).AddText(line, 10, new UglyToad.PdfPig.Core.PdfPoint(40, 800), font);
        return builder.Build();
    }

    /// <summary>The five mails: two by IMAP, three by the drop folder.</summary>
    public static (byte[][] Imap, byte[][] Drop) Five() =>
    (
        [
            Mail(1, $"Ansøgning om vuggestueplads, CPR {Cpr}", $"Hej. {Text}. Venlig hilsen Jens"),
            Mail(2, "Opfølgning på min ansøgning", "Jeg glemte at skrive mit cpr-nummer: 31.12.75 4321. Venlig hilsen Jens"),
        ],
        [
            Mail(3, "Dokumentation vedlagt", "Se vedhæftede attest.", pdf: Pdf($"Attest for Jens Testesen, CPR-nr. {Cpr.Replace("-", "", StringComparison.Ordinal)}")),
            Mail(4, "Ny adresse 31.12.754321", "Jeg er flyttet. Venlig hilsen Jens"),
            // A reply from another address, with neither CPR number nor the first address: found through its thread.
            Mail(5, "Re: Ansøgning om vuggestueplads", ReplyText, from: OtherAddress, inReplyTo: "person-1@borger.example"),
        ]
    );

    /// <summary>Files under <paramref name="root"/> (zip entries read too) holding any of <paramref name="needles"/>, as UTF-8 bytes.</summary>
    public static List<string> Traces(string root, IEnumerable<string> needles)
    {
        var patterns = needles.Select(n => Encoding.UTF8.GetBytes(n)).ToList();
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(file);
            }
            catch (IOException)
            {
                continue; // removed while scanning
            }
            foreach (var (name, content) in Contents(file, bytes))
            {
                foreach (var p in patterns.Where(p => content.AsSpan().IndexOf(p) >= 0))
                {
                    found.Add($"{name}: {Encoding.UTF8.GetString(p)}");
                }
            }
        }
        return found;
    }

    private static IEnumerable<(string Name, byte[] Content)> Contents(string file, byte[] bytes)
    {
        yield return (file, bytes);
        if (bytes.Length < 4 || bytes[0] != 'P' || bytes[1] != 'K')
        {
            yield break;
        }
        var entries = new List<(string, byte[])>();
        try
        {
            using var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
            foreach (var entry in zip.Entries)
            {
                using var stream = entry.Open();
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                entries.Add(($"{file}!{entry.FullName}", copy.ToArray()));
            }
        }
        catch (InvalidDataException)
        {
        }
        foreach (var e in entries)
        {
            yield return e;
        }
    }
}
