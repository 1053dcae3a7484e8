using SmartMail.Core.Privacy;

namespace SmartMail.Core.Tests.Privacy;

/// <summary>
/// The ways people actually write a CPR number (dotted, spaced, Unicode dashes and spaces, full-width digits, invisible
/// characters from copy and paste), and the ordinary numbers that must stay as they are.
/// </summary>
public sealed class CprSpellingTests
{
    /// <summary>Each spelling with the ten digits it stands for.</summary>
    public static TheoryData<string, string> Spellings() => new()
    {
        { "31.12.75-4321", "3112754321" },
        { "30.11.80 - 1234", "3011801234" },
        { "29.10.81 2345", "2910812345" },
        { "28.09.82.3456", "2809823456" },
        { "271083 4567", "2710834567" },
        { "260784\u00A05678", "2607845678" }, // no-break space
        { "250685\u20096789", "2506856789" }, // thin space
        { "240586\u202F7890", "2405867890" }, // narrow no-break space
        { "230487\u20078901", "2304878901" }, // figure space
        { "220388\u30009012", "2203889012" }, // ideographic space
        { "210289\u20110123", "2102890123" }, // non-breaking hyphen
        { "200190\u20101234", "2001901234" }, // hyphen
        { "191291\u20122345", "1912912345" }, // figure dash
        { "181192\u20143456", "1811923456" }, // em dash
        { "171093\u22124567", "1710934567" }, // minus sign
        { "160994\uFE635678", "1609945678" }, // small hyphen-minus
        { "150895\uFF0D6789", "1508956789" }, // full-width hyphen-minus
        { "\uFF11\uFF14\uFF10\uFF17\uFF19\uFF16\uFF0D\uFF17\uFF18\uFF19\uFF10", "1407967890" }, // full-width digits and hyphen
        { "\uFF11\uFF13\uFF10\uFF16\uFF19\uFF17\uFF18\uFF19\uFF10\uFF11", "1306978901" }, // full-width, no separator
        { "12-05-98-9012", "1205989012" },
        { "11/04/99-0123", "1104990123" },
        { "10 03 00 4234", "1003004234" },
        { "09 02 01-4345", "0902014345" },
        { "080102 - 4456", "0801024456" },
        { "071203 -4567", "0712034567" },
        { "061104_4678", "0611044678" }, // file names
        { "05.10.1955-1789", "0510551789" }, // four-digit year
        { "04-09-2006-4890", "0409064890" },
        { "0308\u00AD07-4901", "0308074901" }, // soft hyphen inside
        { "020708\u200B-4012", "0207084012" }, // zero-width space
        { "01.06.09\u2013\u200A4123", "0106094123" }, // en dash, hair space
        { "31\u00A005\u00A010\u00A04234", "3105104234" },
        { "30.04.11\u00A04345", "3004114345" },
        { "\uFF12\uFF19.\uFF10\uFF13.\uFF11\uFF12-\uFF14\uFF14\uFF15\uFF16", "2903124456" }, // full-width digits, ASCII dots
        { "28\uFF0E02\uFF0E13\uFF0D4567", "2802134567" }, // full-width dots and hyphen
        { "270114\t4678", "2701144678" },
        { "260215\u20134789", "2602154789" }, // en dash
        { "2503164890", "2503164890" },
        { "\u0662\u0664\u0660\u0664\u0661\u0667-\u0664\u0669\u0660\u0661", "2404174901" }, // Arabic-Indic digits
        { "230518-5012", "2305185012" },
    };

    /// <summary>Numbers that are not CPR numbers and must survive redaction unchanged.</summary>
    public static TheoryData<string> Ordinary() =>
    [
        "Ring på +45 31 12 75 43 eller 31127543.",
        "Tlf.: +45 3112 7543, mobil 20 12 34 56",
        "Tlf. 70 10 12 34",
        "Beløb: kr. 1.234.567,89 og DKK 3.112.754,21",
        "31.127,54 kr. og 311.275,43 kr.",
        "Mødet er 31.12.75 kl. 10",
        "Født 31.12.1975",
        "Frist 2024-12-31, svar senest 31-12-2024",
        "31/12/2024 kl. 10:30",
        "d. 31.12.2024 14.30",
        "2024-12-31T10:30:00Z",
        "Sag 2024-123456",
        "Sagsnr. 24/123456 og J.nr. 2024-0112-1234",
        "Ordre 1234567890 og 12345678901",
        "EAN 5790001234567",
        "Konto 1234 0012345678",
        "IP 10.11.12.134, version 10.11.12",
        "CVR 31127543",
        "Faktura 3112-7543-21",
        "310275-43210",
    ];

    [Theory]
    [MemberData(nameof(Spellings))]
    public void IsCpr_EverySpelling_ReturnsTrue(string spelling, string digits)
    {
        Assert.True(Cpr.IsCpr(spelling), $"{spelling} ({digits})");
    }

    [Theory]
    [MemberData(nameof(Spellings))]
    public void FindAll_SpellingInText_FindsExactlyTheNumber(string spelling, string digits)
    {
        var text = $"CPR-nr.: {spelling}, tak.";

        var found = Assert.Single(Cpr.FindAll(text));

        Assert.Equal(new CprMatch(9, spelling.Length), found);
        Assert.Equal("CPR-nr.: [CPR], tak.", Cpr.Redact(text));
        Assert.DoesNotContain(digits, Cpr.Redact(text), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Spellings))]
    public void Redact_SpellingInFileNameAndMarkup_IsReplaced(string spelling, string digits)
    {
        _ = digits;
        var text = $"<td>{spelling}</td> attest_{spelling}.pdf \"Borger {spelling}\" <a href=\"?cpr={spelling}\">";

        var redacted = Redactor.Redact(text);

        Assert.Equal("<td>[CPR]</td> attest_[CPR].pdf \"Borger [CPR]\" <a href=\"?cpr=[CPR]\">", redacted);
    }

    [Theory]
    [MemberData(nameof(Ordinary))]
    public void Redact_OrdinaryNumbers_AreLeftAlone(string text)
    {
        Assert.False(Cpr.ContainsAny(text), text);
        Assert.Empty(Cpr.FindAll(text));
        Assert.Same(text, Cpr.Redact(text));
    }

    [Theory]
    [InlineData("31.12-75-4321")] // the date's separators differ
    [InlineData("31.12.75--4321")]
    [InlineData("31.12.1975 4321")] // a four-digit year is followed by a dash: a date and a time otherwise
    [InlineData("31.12.2075-1234")] // 7th digit 1 says 1900-1999, the year says 2075
    [InlineData("3112.75-4321")]
    [InlineData("31.12.75-43 21")]
    public void IsCpr_NearMisses_ReturnFalse(string text)
    {
        Assert.False(Cpr.IsCpr(text), text);
        Assert.False(Cpr.ContainsAny(text), text);
    }

    [Fact]
    public void FindAll_SeveralSpellingsInOneText_FindsEachOnce()
    {
        var text = string.Join(" og ", Spellings().Select(row => row.Data.Item1));

        var found = Cpr.FindAll(text);

        Assert.Equal(Spellings().Count, found.Count);
        Assert.Equal(string.Join(" og ", Enumerable.Repeat(Cpr.Placeholder, found.Count)), Cpr.Redact(text));
    }
}
