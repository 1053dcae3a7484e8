using System.Text;

namespace SmartMail.Core.Tests.Mime;

/// <summary>Loads the hand-made .eml fixtures and builds synthetic messages in code.</summary>
internal static class Eml
{
    public static byte[] Load(string name) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "eml", name));

    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text.Replace("\r\n", "\n", StringComparison.Ordinal));

    /// <summary>A message whose body is <paramref name="levels"/> nested multipart/mixed entities around one text part.</summary>
    public static byte[] NestedMultipart(int levels, string innerText)
    {
        var sb = new StringBuilder();
        sb.Append("From: deep@example.com\nTo: kommune@example.dk\nSubject: Deep\nMessage-ID: <deep@example.com>\nMIME-Version: 1.0\n");
        for (var i = 0; i < levels; i++)
        {
            sb.Append("Content-Type: multipart/mixed; boundary=\"b").Append(i).Append("\"\n\n");
            sb.Append("--b").Append(i).Append('\n');
        }
        sb.Append("Content-Type: text/plain; charset=us-ascii\n\n").Append(innerText).Append('\n');
        for (var i = levels - 1; i >= 0; i--)
        {
            sb.Append("--b").Append(i).Append("--\n");
        }
        return Ascii(sb.ToString());
    }

    /// <summary>A multipart/mixed message with one text part followed by <paramref name="attachments"/> small attachments.</summary>
    public static byte[] WithAttachments(int attachments, string text = "Body text.")
    {
        var sb = new StringBuilder();
        sb.Append("From: many@example.com\nTo: kommune@example.dk\nSubject: Many\nMessage-ID: <many@example.com>\nMIME-Version: 1.0\n");
        sb.Append("Content-Type: multipart/mixed; boundary=\"M\"\n\n--M\nContent-Type: text/plain; charset=us-ascii\n\n").Append(text).Append('\n');
        for (var i = 0; i < attachments; i++)
        {
            sb.Append("--M\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"file")
              .Append(i).Append(".bin\"\nContent-Transfer-Encoding: base64\n\nAAECAwQFBgcICQ==\n");
        }
        sb.Append("--M--\n");
        return Ascii(sb.ToString());
    }

    /// <summary>A multipart/mixed message with <paramref name="parts"/> text/plain parts.</summary>
    public static byte[] WithTextParts(int parts)
    {
        var sb = new StringBuilder();
        sb.Append("From: parts@example.com\nTo: kommune@example.dk\nSubject: Parts\nMessage-ID: <parts@example.com>\nMIME-Version: 1.0\n");
        sb.Append("Content-Type: multipart/mixed; boundary=\"P\"\n\n");
        for (var i = 0; i < parts; i++)
        {
            sb.Append("--P\nContent-Type: text/plain; charset=us-ascii\n\nPART_").Append(i).Append("_TEXT\n");
        }
        sb.Append("--P--\n");
        return Ascii(sb.ToString());
    }

    public static byte[] PlainText(string body, string headers = "Message-ID: <plain@example.com>\n") =>
        Encoding.UTF8.GetBytes("From: plain@example.com\nTo: kommune@example.dk\nSubject: Plain\n" + headers +
                               "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + body + "\n");
}
