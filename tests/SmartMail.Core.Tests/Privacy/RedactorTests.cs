using SmartMail.Core.Privacy;

namespace SmartMail.Core.Tests.Privacy;

public sealed class RedactorTests
{
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
