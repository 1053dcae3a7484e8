using System.IO.Compression;
using System.Text;
using MimeKit;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace SmartMail.Core.Tests.Attachments;

/// <summary>The committed attachment fixtures (see TestData/attachments/README.md), files made at test time, and mails around them.</summary>
internal static class AttachmentFiles
{
    public const string DocxType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    public const string DocmType = "application/vnd.ms-word.document.macroEnabled.12";
    public const string OdtType = "application/vnd.oasis.opendocument.text";

    public static byte[] Load(string name) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "attachments", name));

    /// <summary>A mail with a one-line body and the given attachments, as raw bytes, built with MimeKit.</summary>
    public static byte[] Mail(string subject, string body, params (string Name, string MediaType, byte[] Content)[] files)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Borger", "borger@example.dk"));
        message.To.Add(new MailboxAddress("Kommunen", "post@kommune.example.dk"));
        message.Subject = subject;
        message.MessageId = "attach-" + Guid.NewGuid().ToString("N") + "@example.dk";
        var builder = new BodyBuilder { TextBody = body };
        foreach (var (name, mediaType, content) in files)
        {
            builder.Attachments.Add(name, content, ContentType.Parse(mediaType));
        }
        message.Body = builder.ToMessageBody();
        using var stream = new MemoryStream();
        message.WriteTo(stream);
        return stream.ToArray();
    }

    /// <summary>A PDF of <paramref name="pages"/> pages, each with <paramref name="linesPerPage"/> lines of text, made by PdfPig's builder.</summary>
    public static byte[] Pdf(int pages, int linesPerPage, Func<int, int, string> line)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        for (var p = 0; p < pages; p++)
        {
            var page = builder.AddPage(595, 842);
            for (var l = 0; l < linesPerPage; l++)
            {
                page.AddText(line(p, l), 9, new UglyToad.PdfPig.Core.PdfPoint(40, 800 - (l * 11)), font);
            }
        }
        return builder.Build();
    }

    /// <summary>A copy of a zip package with entries replaced or added.</summary>
    public static byte[] Rezip(byte[] package, IReadOnlyDictionary<string, byte[]> replace, CompressionLevel level = CompressionLevel.Optimal)
    {
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(package), ZipArchiveMode.Read))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in source.Entries)
            {
                if (replace.ContainsKey(entry.FullName))
                {
                    continue;
                }
                using var from = entry.Open();
                using var to = target.CreateEntry(entry.FullName, level).Open();
                from.CopyTo(to);
            }
            foreach (var (name, content) in replace)
            {
                using var to = target.CreateEntry(name, level).Open();
                to.Write(content);
            }
        }
        return output.ToArray();
    }

    /// <summary>Reads one entry of a zip package as UTF-8 text.</summary>
    public static string Entry(byte[] package, string name)
    {
        using var zip = new ZipArchive(new MemoryStream(package), ZipArchiveMode.Read);
        using var reader = new StreamReader(zip.GetEntry(name)!.Open(), Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>A zip bomb in DOCX clothing: a valid package whose word/document.xml inflates to <paramref name="megabytes"/> MiB of spaces.</summary>
    public static byte[] ZipBombDocx(int megabytes)
    {
        var docx = Load("ansoegning-boligstoette.docx");
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(docx), ZipArchiveMode.Read))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in source.Entries.Where(e => e.FullName != "word/document.xml"))
            {
                using var from = entry.Open();
                using var to = target.CreateEntry(entry.FullName).Open();
                from.CopyTo(to);
            }
            using var bomb = target.CreateEntry("word/document.xml", CompressionLevel.SmallestSize).Open();
            bomb.Write("<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>"u8);
            var spaces = new byte[1024 * 1024];
            Array.Fill(spaces, (byte)' ');
            for (var i = 0; i < megabytes; i++)
            {
                bomb.Write(spaces);
            }
            bomb.Write("</w:t></w:r></w:p></w:body></w:document>"u8);
        }
        return output.ToArray();
    }
}
