using System.IO.Compression;
using System.Text;

namespace SmartMail.Worker.Tests.Hostile;

/// <summary>
/// Generates the hostile-mail catalogue of shared/RELIABILITY.md section 3: mail built to break parsers, exhaust
/// memory or stack, smuggle content, or abuse encodings. Synthetic: no real personal data.
/// </summary>
internal static class HostileMail
{
    public static IEnumerable<(string Name, byte[] Raw)> All()
    {
        yield return ("nesting-2000", Ascii(Nested(2000)));
        yield return ("parts-10000", Ascii(ManyParts(10_000)));
        yield return ("header-line-1mb", Ascii($"From: a@example.org\r\nSubject: {new string('x', 1_000_000)}\r\n\r\nbody\r\n"));
        yield return ("headers-100k", Ascii(string.Concat(Enumerable.Range(0, 100_000).Select(i => $"X-H{i}: v\r\n")) + "Subject: many\r\n\r\nbody\r\n"));
        yield return ("attachment-60mb", Ascii(Attachment("application/octet-stream", "big.bin", new string('A', 60 * 1024 * 1024))));
        yield return ("zip-bomb-flat", Ascii(Attachment("application/zip", "bomb.zip", Convert.ToBase64String(ZipOfZeros(50 * 1024 * 1024)))));
        yield return ("base64-broken", Ascii("Subject: b64\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!not*base64@@@@\r\nSGVsbG8=====\r\n"));
        yield return ("charset-unknown", Ascii("Subject: cs\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla' batlh\r\n"));
        yield return ("charset-utf7", Ascii("Subject: cs7\r\nContent-Type: text/plain; charset=utf-7\r\n\r\nHi Mom -+Jjo--!\r\n"));
        yield return ("nul-bytes", [.. Encoding.ASCII.GetBytes("Subject: nul\0here\r\nFrom: a\0@example.org\r\n\r\nbody\0with\0nuls\r\n")]);
        yield return ("encoded-words-10k", Ascii("Subject: " + string.Concat(Enumerable.Range(0, 10_000).Select(i => i % 3 == 0 ? "=?utf-8?B?!!bad!!?= " : "=?utf-8?Q?=C3=A6?= ")) + "\r\n\r\nbody\r\n"));
        yield return ("encoded-word-crlf-injection", Ascii("Subject: =?utf-8?Q?hi=0D=0ABcc:_victim@example.org?=\r\n\r\nbody\r\n"));
        yield return ("message-id-missing", Ascii("From: a@example.org\r\nSubject: no id\r\n\r\nbody\r\n"));
        yield return ("message-id-duplicate-a", Ascii("Message-ID: <same@example.org>\r\nSubject: first\r\n\r\nthe first body\r\n"));
        yield return ("message-id-duplicate-b", Ascii("Message-ID: <same@example.org>\r\nSubject: second\r\n\r\na different body\r\n"));
        yield return ("message-id-invalid", Ascii("Message-ID: <id@@domain>\r\nIn-Reply-To: ACME20191226@423549219_ACME20191226@\r\nSubject: ids\r\n\r\nbody\r\n"));
        yield return ("html-scripts", Ascii("Subject: html\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script><iframe src=\"javascript:alert(2)\"></iframe><p style=\"x:expression(alert(3))\" onclick=\"evil()\">text</p>"));
        yield return ("html-5mb-one-line", Ascii("Subject: big html\r\nContent-Type: text/html\r\n\r\n<p>" + string.Concat(Enumerable.Repeat("word ", 1_000_000)) + "</p>"));
        yield return ("headers-8bit", [.. Encoding.ASCII.GetBytes("Subject: "), .. Encoding.Latin1.GetBytes("Spørgsmål om ål"), .. Encoding.ASCII.GetBytes("\r\nFrom: "), .. Encoding.UTF8.GetBytes("Søren <s@example.dk>"), .. Encoding.ASCII.GetBytes("\r\n\r\nbody\r\n")]);
        yield return ("multipart-no-boundary", Ascii("Subject: mp\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nlost\r\n--x--\r\n"));
        yield return ("multipart-never-closed", Ascii("Subject: mp\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nopen forever\r\n--b\r\nContent-Type: text/plain\r\n\r\nand ever"));
        yield return ("empty", []);
        yield return ("headers-only", Ascii("From: a@example.org\r\nSubject: only headers\r\n"));
        yield return ("rfc822-chain-500", Ascii(Rfc822Chain(500)));
        yield return ("bare-cr-and-lf", Ascii("Subject: endings\rFrom: a@example.org\n\nline one\rline two\nline three\r\n"));
        yield return ("reply-to-truncated", Ascii("Reply-To: \"Name\" <\r\nSubject: trunc\r\n\r\nbody\r\n"));
        yield return ("display-name-spoof", Ascii("From: \"Borgerservice\" <evil@attacker.example>\r\nSubject: Din sag\r\n\r\nKlik her\r\n"));
    }

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    private static string Nested(int depth)
    {
        var sb = new StringBuilder("Subject: deep\r\n");
        for (var i = 0; i < depth; i++)
        {
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n");
        }
        sb.Append("Content-Type: text/plain\r\n\r\nthe bottom\r\n");
        for (var i = depth - 1; i >= 0; i--)
        {
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"--b{i}--\r\n");
        }
        return sb.ToString();
    }

    private static string ManyParts(int parts)
    {
        var sb = new StringBuilder("Subject: parts\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n");
        for (var i = 0; i < parts; i++)
        {
            sb.Append("--p\r\nContent-Type: text/plain\r\n\r\nx\r\n");
        }
        return sb.Append("--p--\r\n").ToString();
    }

    private static string Attachment(string type, string name, string base64) =>
        $"Subject: attachment\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
        $"--a\r\nContent-Type: {type}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        base64 + "\r\n--a--\r\n";

    private static string Rfc822Chain(int depth)
    {
        var inner = "Subject: innermost\r\n\r\nthe original\r\n";
        for (var i = 0; i < depth; i++)
        {
            inner = $"Subject: fwd {i}\r\nContent-Type: message/rfc822\r\n\r\n{inner}";
        }
        return inner;
    }

    // 50 MB of zeros compresses to ~50 KB: a decompression bomb for anything that unpacks attachments (SmartMail does not).
    private static byte[] ZipOfZeros(int size)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        using (var entry = zip.CreateEntry("zeros.bin", CompressionLevel.SmallestSize).Open())
        {
            var chunk = new byte[1024 * 1024];
            for (var written = 0; written < size; written += chunk.Length)
            {
                entry.Write(chunk);
            }
        }
        return buffer.ToArray();
    }
}
