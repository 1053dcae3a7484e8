using System.Text;

namespace SmartMail.Core.Text;

/// <summary>
/// Turns bytes into text when the declared charset is missing, unknown or wrong, without ever throwing.
/// Order: valid UTF-8 with non-ASCII bytes wins over a declared single-byte charset (the commonest lie);
/// otherwise the declared charset when .NET knows it; otherwise strict UTF-8; otherwise Windows-1252.
/// </summary>
internal static class CharsetDecoder
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    static CharsetDecoder()
    {
        // The provider must be registered before code page 1252 can be looked up.
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        Windows1252 = Encoding.GetEncoding(1252);
    }

    /// <summary>Windows-1252, the fallback for 8-bit text that is not UTF-8.</summary>
    public static Encoding Windows1252 { get; }

    /// <summary>Decodes <paramref name="bytes"/>; <paramref name="problem"/> says what was repaired, if anything.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string? declaredCharset, out string? problem)
    {
        problem = null;
        var declared = Resolve(declaredCharset);
        if (declaredCharset is not null && declared is null)
        {
            problem = $"unknown charset '{Sanitize(declaredCharset)}'";
        }

        var isAscii = System.Text.Ascii.IsValid(bytes);
        if (isAscii)
        {
            return Encoding.ASCII.GetString(bytes);
        }

        var isUtf8 = System.Text.Unicode.Utf8.IsValid(bytes);
        if (declared is null || declared.CodePage is 65001 or 20127 || (declared.IsSingleByte && isUtf8))
        {
            if (isUtf8)
            {
                if (declared is not null && declared.CodePage is not (65001 or 20127))
                {
                    problem = $"charset '{Sanitize(declaredCharset!)}' declared, content is UTF-8";
                }
                return StrictUtf8.GetString(bytes);
            }
            problem ??= declared is null ? "no charset; content is not UTF-8, decoded as windows-1252" : null;
            if (declared is { CodePage: 65001 or 20127 })
            {
                problem = $"charset '{Sanitize(declaredCharset!)}' declared, content is not; decoded as windows-1252";
            }
            return Windows1252.GetString(bytes);
        }

        // A multi-byte or other declared charset .NET knows: trust it, replacing what it cannot map.
        return declared.GetString(bytes);
    }

    /// <summary>Resolves a charset name to an <see cref="Encoding"/>, or <see langword="null"/> when unknown.</summary>
    public static Encoding? Resolve(string? charset)
    {
        if (string.IsNullOrWhiteSpace(charset))
        {
            return null;
        }
        var name = charset.Trim().Trim('"', '\'');
        if (name.Equals("utf-7", StringComparison.OrdinalIgnoreCase) || name.Equals("utf7", StringComparison.OrdinalIgnoreCase))
        {
            return null; // obsolete and unsafe in .NET; treat as unknown
        }
        try
        {
            // Latin-1 labels are decoded as Windows-1252, as browsers and the WHATWG encoding standard do.
            var encoding = Encoding.GetEncoding(name);
            return encoding.CodePage == 28591 ? Windows1252 : encoding;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    // Charset names come from the message: keep them short and printable before they reach a problem note.
    private static string Sanitize(string value)
    {
        var sb = new StringBuilder(Math.Min(value.Length, 40));
        foreach (var c in value.AsSpan(0, Math.Min(value.Length, 40)))
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '?');
        }
        return sb.ToString();
    }
}
