using System.Text;
using SmartMail.Core.Text;

namespace SmartMail.Core.Tests.Text;

public sealed class CharsetDecoderTests
{
    private const string Danish = "æøå ÆØÅ";

    private static readonly byte[] Utf8Danish = Encoding.UTF8.GetBytes(Danish);

    private static readonly byte[] Latin1Danish = Encoding.Latin1.GetBytes(Danish);

    [Fact]
    public void Decode_Ascii_ReturnsTextWithoutProblem()
    {
        var text = CharsetDecoder.Decode("plain ascii"u8, "utf-8", out var problem);

        Assert.Equal("plain ascii", text);
        Assert.Null(problem);
    }

    [Fact]
    public void Decode_Utf8DeclaredAndUtf8Bytes_NoProblem()
    {
        var text = CharsetDecoder.Decode(Utf8Danish, "utf-8", out var problem);

        Assert.Equal(Danish, text);
        Assert.Null(problem);
    }

    [Fact]
    public void Decode_Latin1DeclaredAndLatin1Bytes_NoProblem()
    {
        var text = CharsetDecoder.Decode(Latin1Danish, "iso-8859-1", out var problem);

        Assert.Equal(Danish, text);
        Assert.Null(problem);
    }

    [Fact]
    public void Decode_Latin1DeclaredButUtf8Bytes_DecodesUtf8AndReportsIt()
    {
        var text = CharsetDecoder.Decode(Utf8Danish, "iso-8859-1", out var problem);

        Assert.Equal(Danish, text);
        Assert.Equal("charset 'iso-8859-1' declared, content is UTF-8", problem);
    }

    [Fact]
    public void Decode_Utf8DeclaredButLatin1Bytes_DecodesWindows1252AndReportsIt()
    {
        var text = CharsetDecoder.Decode(Latin1Danish, "utf-8", out var problem);

        Assert.Equal(Danish, text);
        Assert.NotNull(problem);
        Assert.Contains("windows-1252", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_UnknownCharsetUtf8Bytes_DecodesUtf8AndReportsUnknown()
    {
        var text = CharsetDecoder.Decode(Utf8Danish, "x-unknown", out var problem);

        Assert.Equal(Danish, text);
        Assert.Equal("unknown charset 'x-unknown'", problem);
    }

    [Fact]
    public void Decode_UnknownCharsetLatin1Bytes_DecodesWindows1252AndReportsUnknown()
    {
        var text = CharsetDecoder.Decode(Latin1Danish, "x-unknown", out var problem);

        Assert.Equal(Danish, text);
        Assert.Equal("unknown charset 'x-unknown'", problem);
    }

    [Fact]
    public void Decode_NoCharsetLatin1Bytes_DecodesWindows1252AndReportsIt()
    {
        var text = CharsetDecoder.Decode(Latin1Danish, null, out var problem);

        Assert.Equal(Danish, text);
        Assert.NotNull(problem);
    }

    [Fact]
    public void Decode_NoCharsetUtf8Bytes_NoProblem()
    {
        var text = CharsetDecoder.Decode(Utf8Danish, null, out var problem);

        Assert.Equal(Danish, text);
        Assert.Null(problem);
    }

    [Fact]
    public void Decode_Latin1LabelWith0x80_DecodesAsWindows1252Euro()
    {
        var text = CharsetDecoder.Decode([0x80, 0x20, 0xE6], "iso-8859-1", out _);

        Assert.Equal("€ æ", text);
    }

    [Fact]
    public void Decode_KnownMultiByteCharset_IsTrusted()
    {
        // From the code-page provider itself: Encoding.GetEncoding knows shift_jis only once CharsetDecoder has registered it,
        // which depends on which test ran first.
        var bytes = CodePagesEncodingProvider.Instance.GetEncoding("shift_jis")!.GetBytes("日本");

        var text = CharsetDecoder.Decode(bytes, "shift_jis", out var problem);

        Assert.Equal("日本", text);
        Assert.Null(problem);
    }

    [Fact]
    public void Decode_HostileCharsetName_IsSanitisedAndShortened()
    {
        var name = "x<script>" + new string('a', 100);

        CharsetDecoder.Decode(Utf8Danish, name, out var problem);

        Assert.NotNull(problem);
        Assert.DoesNotContain("<", problem, StringComparison.Ordinal);
        Assert.Contains("x?script?", problem, StringComparison.Ordinal);
        Assert.Equal("unknown charset ''".Length + 40, problem.Length);
    }

    [Fact]
    public void Decode_EmptyBytes_ReturnsEmpty()
    {
        Assert.Equal(string.Empty, CharsetDecoder.Decode([], "utf-8", out _));
    }

    [Fact]
    public void Decode_InvalidUtf8AndBinary_NeverThrows()
    {
        byte[] bytes = [0x00, 0xFF, 0xFE, 0xC3, 0x28, 0xE2, 0x82, 0x00];

        var text = CharsetDecoder.Decode(bytes, "utf-8", out var problem);

        Assert.Equal(bytes.Length, text.Length); // windows-1252 maps every byte to one char
        Assert.NotNull(problem);
    }

    [Theory]
    [InlineData("utf-8", 65001)]
    [InlineData("\"UTF-8\"", 65001)]
    [InlineData(" iso-8859-1 ", 1252)]
    [InlineData("latin1", 1252)]
    [InlineData("windows-1252", 1252)]
    [InlineData("iso-8859-15", 28605)]
    public void Resolve_KnownNames_ReturnEncoding(string name, int codePage)
    {
        var encoding = CharsetDecoder.Resolve(name);

        Assert.NotNull(encoding);
        Assert.Equal(codePage, encoding.CodePage);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("x-unknown")]
    [InlineData("utf-7")]
    [InlineData("UTF7")]
    public void Resolve_UnknownOrUnsafeNames_ReturnNull(string? name)
    {
        Assert.Null(CharsetDecoder.Resolve(name));
    }
}
