using MimeKit;
using MimeKit.Utils;

namespace SmartMail.Worker.Threads;

/// <summary>Reads a message's Message-ID from its header block only (the body is not parsed).</summary>
internal static class ThreadHeaders
{
    /// <summary>The Message-ID of <paramref name="raw"/>, without angle brackets; <see langword="null"/> when it has none or its headers are not MIME.</summary>
    public static string? MessageId(byte[] raw)
    {
        try
        {
            using var stream = new MemoryStream(raw, writable: false);
            var headers = HeaderList.Load(ParserOptions.Default, stream);
            return headers[HeaderId.MessageId] is { } value ? MimeUtils.EnumerateReferences(value).FirstOrDefault() : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
