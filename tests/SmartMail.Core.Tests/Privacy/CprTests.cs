using SmartMail.Core.Mime;
using SmartMail.Core.Privacy;
using SmartMail.Core.Tests.Mime;

namespace SmartMail.Core.Tests.Privacy;

public sealed class CprTests
{
    [Theory]
    [InlineData("010190-1234")]
    [InlineData("0101901234")] // valid date, fails modulus 11: still a CPR number
    [InlineData("010190\u20131234")] // en dash
    [InlineData("010190 1234")]
    [InlineData("290200-4234")] // 7th digit 4, yy 00 -> 2000, a leap year
    [InlineData("290236-9234")] // 7th digit 9, yy <= 36 -> 2036, a leap year
    [InlineData("311299-1234")]
    [InlineData("290296-1234")] // 1996 is a leap year
    [InlineData("290200-5234")] // 7th digit 5, yy 00 -> 2000, a leap year
    public void IsCpr_ValidDate_ReturnsTrue(string value)
    {
        Assert.True(Cpr.IsCpr(value));
    }

    [Theory]
    [InlineData("320190-1234")] // day 32
    [InlineData("311190-1234")] // November has 30 days
    [InlineData("290201-1234")] // 1901 is not a leap year
    [InlineData("290200-1234")] // 7th digit 1 -> 1900, not a leap year
    [InlineData("300290-1234")]
    [InlineData("000190-1234")] // day 0
    [InlineData("011390-1234")] // month 13
    [InlineData("010090-1234")] // month 0
    [InlineData("290258-5234")] // 7th digit 5, yy 58 -> 1858, not a leap year
    [InlineData("290237-4234")] // 7th digit 4, yy 37 -> 1937, not a leap year
    public void IsCpr_InvalidDate_ReturnsFalse(string value)
    {
        Assert.False(Cpr.IsCpr(value));
    }

    [Theory]
    [InlineData("010190-12345")]
    [InlineData("01019012345")]
    [InlineData("1010190-1234")]
    [InlineData("010190--1234")]
    [InlineData("01019-1234")]
    [InlineData("")]
    [InlineData("abcdefghij")]
    public void IsCpr_NotExactlyACprNumber_ReturnsFalse(string value)
    {
        Assert.False(Cpr.IsCpr(value));
    }

    [Fact]
    public void FindAll_DashAndNoDash_FindsBothWithPositions()
    {
        const string text = "Se 010190-1234 og 0202851234.";

        var found = Cpr.FindAll(text);

        Assert.Equal([new CprMatch(3, 11), new CprMatch(18, 10)], found);
    }

    [Fact]
    public void FindAll_InvalidDates_AreNotFound()
    {
        Assert.Empty(Cpr.FindAll("320190-1234 311190-1234 290201-1234"));
    }

    [Theory]
    [InlineData("12010190123456")]
    [InlineData("ordre 0101901234567")]
    [InlineData("9010190-1234")]
    [InlineData("010190-12349")]
    [InlineData("telefon 12345678")]
    public void ContainsAny_DigitsInsideLongerRun_IsFalse(string text)
    {
        Assert.False(Cpr.ContainsAny(text));
        Assert.Empty(Cpr.FindAll(text));
        Assert.Equal(text, Cpr.Redact(text));
    }

    [Theory]
    [InlineData("cpr:010190-1234.")]
    [InlineData("(0101901234)")]
    [InlineData("a010190-1234b")]
    public void ContainsAny_NumberNextToNonDigits_IsTrue(string text)
    {
        Assert.True(Cpr.ContainsAny(text));
    }

    [Fact]
    public void Redact_ReplacesEveryCprNumber()
    {
        var redacted = Cpr.Redact("Subject: 010190-1234, body 0101901234, file attest-290200-4234.pdf, not 320190-1234");

        Assert.Equal("Subject: [CPR], body [CPR], file attest-[CPR].pdf, not 320190-1234", redacted);
        Assert.False(Cpr.ContainsAny(redacted));
    }

    [Fact]
    public void Redact_NothingFound_ReturnsSameInstance()
    {
        const string text = "ingen personnumre her";

        Assert.Same(text, Cpr.Redact(text));
    }

    [Fact]
    public void Methods_Null_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => Cpr.Redact(null!));
        Assert.Throws<ArgumentNullException>(() => Cpr.ContainsAny(null!));
        Assert.Throws<ArgumentNullException>(() => Cpr.FindAll(null!));
        Assert.Throws<ArgumentNullException>(() => Cpr.IsCpr(null!));
    }

    [Fact]
    public void Redact_ExtractedSubjectBodyAndAttachmentName_LeavesNoCpr()
    {
        var doc = new MailExtractor().Extract(Eml.Load("cpr.eml"));
        var fileName = Assert.Single(doc.Attachments).FileName;
        Assert.NotNull(fileName);

        Assert.True(Cpr.ContainsAny(doc.Subject));
        Assert.True(Cpr.ContainsAny(doc.Body));
        Assert.True(Cpr.ContainsAny(fileName));
        Assert.Equal(3, Cpr.FindAll(doc.Body).Count); // two in the text, one in the attachment name appended to it

        Assert.False(Cpr.ContainsAny(Cpr.Redact(doc.Subject)));
        Assert.False(Cpr.ContainsAny(Cpr.Redact(doc.Body)));
        Assert.False(Cpr.ContainsAny(Cpr.Redact(fileName)));
        Assert.Equal("Sag vedr. [CPR]", Cpr.Redact(doc.Subject));
        Assert.Equal("attest-[CPR].pdf", Cpr.Redact(fileName));
        Assert.Equal("Mit CPR-nummer er [CPR] og min datters er [CPR].\n\n[bilag: attest-[CPR].pdf]", Cpr.Redact(doc.Body));
    }
}
