using System.Text;
using SmartMail.Core.Text;

namespace SmartMail.Core.Tests.Text;

public sealed class HtmlTextTests
{
    [Fact]
    public void ToText_ScriptsAndStyles_AreDropped()
    {
        const string html = "<html><head><style>p{color:red} STYLE_X</style><script>SCRIPT_X()</script></head>"
                          + "<body><p>Synlig</p><script>SCRIPT_Y()</script><noscript>NOSCRIPT_X</noscript><style>STYLE_Y</style></body></html>";

        var text = HtmlText.ToText(html);

        Assert.Equal("Synlig", text);
    }

    [Fact]
    public void ToText_BlockElements_BecomeNewLines()
    {
        var text = HtmlText.ToText("<p>en</p><div>to</div>tre<br>fire<ul><li>fem</li><li>seks</li></ul><h1>syv</h1>");

        Assert.Equal("en\nto\ntre\nfire\nfem\nseks\nsyv", text);
    }

    [Fact]
    public void ToText_InlineElements_StayOnOneLine()
    {
        var text = HtmlText.ToText("<p>Hej <b>med</b> <i>dig</i>, <a href=\"https://example.com\">link</a></p>");

        Assert.Equal("Hej med dig, link", text);
    }

    [Fact]
    public void ToText_TableCells_AreSeparatedBySpaceAndRowsByLines()
    {
        var text = HtmlText.ToText("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>");

        Assert.Equal("a b\nc d", text);
    }

    [Fact]
    public void ToText_Entities_AreDecoded()
    {
        var text = HtmlText.ToText("<p>&aelig;&oslash;&aring; &AElig;&Oslash;&Aring; &amp; &lt;tag&gt; &#8364; &nbsp;x</p>");

        Assert.Equal("æøå ÆØÅ & <tag> € x", text);
    }

    [Fact]
    public void ToText_WhitespaceRuns_AreCollapsed()
    {
        var text = HtmlText.ToText("<p>  mange \n\n\t  mellemrum   her  </p>");

        Assert.Equal("mange mellemrum her", text);
    }

    [Fact]
    public void ToText_DeeplyNestedHtml_DoesNotThrow()
    {
        const int depth = 5000;
        var sb = new StringBuilder();
        sb.Insert(0, "<div>", depth).Append("DYBT_NEDE");
        sb.Insert(sb.Length, "</div>", depth);

        var text = HtmlText.ToText(sb.ToString());

        Assert.Contains("DYBT_NEDE", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ToText_DeeplyNestedInlineHtml_DoesNotThrow()
    {
        const int depth = 5000;
        var html = string.Concat(Enumerable.Repeat("<span><b>", depth)) + "INDERST" + string.Concat(Enumerable.Repeat("</b></span>", depth));

        var text = HtmlText.ToText(html);

        Assert.Contains("INDERST", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ToText_Empty_ReturnsEmpty()
    {
        Assert.Equal(string.Empty, HtmlText.ToText(string.Empty));
    }

    [Fact]
    public void ToText_PlainTextInput_IsReturned()
    {
        Assert.Equal("bare tekst", HtmlText.ToText("bare tekst"));
    }

    [Fact]
    public void ToText_Null_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => HtmlText.ToText(null!));
    }
}
