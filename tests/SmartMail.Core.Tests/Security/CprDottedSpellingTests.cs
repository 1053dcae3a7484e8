using SmartMail.Core.Privacy;

namespace SmartMail.Core.Tests.Security;

/// <summary>
/// Issue 24, finding 7: the spelling <c>31.12.754321</c> (the date with dots, the serial straight after the year) was not
/// detected, so it reached the example store and the decision record's <c>messageId</c> in clear.
/// </summary>
public sealed class CprDottedSpellingTests
{
    [Theory]
    [InlineData("31.12.754321")]
    [InlineData("01-06-094123")]
    [InlineData("11/04/990123")]
    [InlineData("29.02.964321")] // 1996 is a leap year
    [InlineData("31\uFF0E12\uFF0E754321")] // full-width dots
    public void IsCpr_DottedDateWithSerialStraightAfter_IsACprNumber(string spelling)
    {
        Assert.True(Cpr.IsCpr(spelling), spelling);
    }

    [Fact]
    public void Redact_DottedSpellingInAMessageIdAndASubject_IsMasked()
    {
        Assert.Equal("<[CPR]@borger.example>", Cpr.Redact("<31.12.754321@borger.example>"));
        Assert.Equal("Ansøgning fra [CPR] om hjælp", Redactor.Redact("Ansøgning fra 31.12.754321 om hjælp"));
        Assert.Equal("attest_[CPR].pdf", Redactor.Redact("attest_31.12.754321.pdf"));
    }

    [Theory]
    [InlineData("Født 31.12.1975")]
    [InlineData("d. 31.12.2024 14.30")]
    [InlineData("31.12.75432")] // five digits after the year
    [InlineData("31.12.7543210")] // seven
    [InlineData("30.02.754321")] // no 30 February
    [InlineData("31.12-754321")] // the date's separators differ
    [InlineData("IP 10.11.12.134")]
    public void FindAll_NearMisses_AreNotCprNumbers(string text)
    {
        Assert.Empty(Cpr.FindAll(text));
    }

    [Fact]
    public void FindAll_FourDigitYearWithDash_StillReadsTheFourDigitYear()
    {
        var found = Assert.Single(Cpr.FindAll("x 05.10.1955-1789 y"));

        Assert.Equal(new CprMatch(2, "05.10.1955-1789".Length), found);
    }
}
