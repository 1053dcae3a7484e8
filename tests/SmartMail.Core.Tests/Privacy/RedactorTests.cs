using System.Text;
using System.Text.RegularExpressions;
using SmartMail.Core.Privacy;

namespace SmartMail.Core.Tests.Privacy;

public sealed partial class RedactorTests
{
    // The address pattern the redactor implements without a regular expression.
    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex Email();

    [Theory]
    [InlineData("x@y@z.com")]
    [InlineData("a@b.com.x1 and c@d.e")]
    [InlineData("a@.b.com a@b..cd @b.com a@ a@b. a@b.c a@b.cd.e1f")]
    [InlineData("mail:<a.b+c@sub-1.example.co.uk>, a@b.c0m, x@-y.dk.")]
    [InlineData("@@@a@@b.dk@@")]
    [InlineData("a@b.dk@c.dk.se")]
    public void Redact_Addresses_SameAsTheRegularExpression(string text)
    {
        Assert.Equal(Email().Replace(text, Redactor.EmailPlaceholder), Redactor.Redact(text));
    }

    [Fact]
    public void Redact_RandomText_SameAddressesAsTheRegularExpression()
    {
        const string alphabet = "ab.@-_+%1 dk";
        var random = new Random(13);
        for (var i = 0; i < 20_000; i++)
        {
            var text = new StringBuilder();
            for (var n = random.Next(1, 24); n > 0; n--)
            {
                text.Append(alphabet[random.Next(alphabet.Length)]);
            }
            var s = text.ToString();
            Assert.True(Email().Replace(s, Redactor.EmailPlaceholder) == Redactor.Redact(s), s);
        }
    }

    [Fact]
    public void Redact_NothingPersonal_ReturnsSameInstance()
    {
        const string text = "sag 2024-123456 @ genbrugspladsen";

        Assert.Same(text, Redactor.Redact(text));
    }

    [Fact]
    public void Redact_EmailAndCpr_AreBothReplaced()
    {
        var redacted = Redactor.Redact("Fra hans.hansen+sag@kommune.example.dk om 010190-1234");

        Assert.Equal("Fra [EMAIL] om [CPR]", redacted);
    }

    [Fact]
    public void Redact_SeveralAddresses_AllReplaced()
    {
        var redacted = Redactor.Redact("a@example.com, B.C@Example.ORG; <d_e@sub.example.co.uk>");

        Assert.Equal("[EMAIL], [EMAIL]; <[EMAIL]>", redacted);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Redact_NullOrEmpty_ReturnsEmpty(string? text)
    {
        Assert.Equal(string.Empty, Redactor.Redact(text));
    }

    [Fact]
    public void Redact_NoPersonalData_IsUnchanged()
    {
        const string text = "Spørgsmål om affald @ genbrugspladsen, sag 2026-123.";

        Assert.Equal(text, Redactor.Redact(text));
    }
}
