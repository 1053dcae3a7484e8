using SmartMail.Core.Text;

namespace SmartMail.Core.Tests.Text;

public sealed class QuoteTrimmerTests
{
    [Fact]
    public void Trim_QuotedLines_AreRemoved()
    {
        var body = "Ny tekst her.\n> gammel linje 1\n  > gammel linje 2\nMere ny tekst.";

        Assert.Equal("Ny tekst her.\nMere ny tekst.", QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_DanishAttributionWithSenderName_CutsTail()
    {
        var body = "Tak for hjælpen.\n\nDen 3. maj 2026 kl. 10.00 skrev Hans <h@x.dk>:\nUQUOTED_TAIL uden citattegn\n> citeret";

        Assert.Equal("Tak for hjælpen.", QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_DanishAttributionWithNameOnly_CutsTail()
    {
        var body = "Tak for hjælpen.\n\nDen 3. maj 2026 kl. 10.00 skrev Hans Hansen:\nUQUOTED_TAIL";

        Assert.Equal("Tak for hjælpen.", QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_DanishAttributionEndingInSkrevColon_CutsTail()
    {
        var body = "Tak for hjælpen.\n\nDen 3. maj 2026 skrev:\nUQUOTED_TAIL";

        Assert.Equal("Tak for hjælpen.", QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_EnglishAttribution_CutsTail()
    {
        var body = "Sounds good.\n\nOn Mon, 1 Jan 2024, Bob wrote:\nunquoted old text\n> quoted old text";

        Assert.Equal("Sounds good.", QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_AttributionWrappedOverTwoLines_CutsTail()
    {
        var body = "Sounds good.\n\nOn Mon, 1 Jan 2024 at 10:00, Bob Builder\n<bob@example.com> wrote:\nold text";

        Assert.Equal("Sounds good.", QuoteTrimmer.Trim(body));
    }

    [Theory]
    [InlineData("-----Oprindelig meddelelse-----")]
    [InlineData("-----Original Message-----")]
    [InlineData("---------- Forwarded message ---------")]
    public void Trim_OutlookSeparator_CutsTail(string separator)
    {
        var body = "Svar ovenover.\n" + separator + "\nFra: Hans\nEmne: gammel sag\ngammel tekst";

        Assert.Equal("Svar ovenover.", QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_OutlookFraSendtBlock_CutsTail()
    {
        var body = "Jeg vedhæfter papirerne.\n\nFra: Hans Hansen <h@x.dk>\nSendt: 3. maj 2026 10:00\nTil: Kommunen\nEmne: Byggesag\n\nGammel tekst.";

        Assert.Equal("Jeg vedhæfter papirerne.", QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_FromLineWithoutSentLine_IsKept()
    {
        var body = "Fra: min nabo har jeg hørt om sagen.\nDet er alt.";

        Assert.Equal(body, QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_LineStartingWithOnButNoWrote_IsKept()
    {
        var body = "On Monday I will come by.\nDen 4. maj er fin.";

        Assert.Equal(body, QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_BodyThatIsOnlyAQuote_IsReturnedUnchanged()
    {
        var body = "> kun citat\n> intet nyt";

        Assert.Same(body, QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_BodyStartingWithAttribution_IsReturnedUnchanged()
    {
        var body = "On Mon, 1 Jan 2024, Bob wrote:\n> old";

        Assert.Equal(body, QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_NoQuotes_ReturnsSameText()
    {
        var body = "Hej.\n\nJeg har et spørgsmål om affald.";

        Assert.Equal(body, QuoteTrimmer.Trim(body));
    }

    [Fact]
    public void Trim_Null_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => QuoteTrimmer.Trim(null!));
    }
}
