using SmartMail.Core.Classification;
using SmartMail.Core.Privacy;
using SmartMail.Worker.Learning;

namespace SmartMail.Worker.Tests.Learning;

public sealed class ExampleStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-examples-");

    public void Dispose() => _dir.Delete(recursive: true);

    private ExampleStore Open() => new(Path.Combine(_dir.FullName, "state.db"));

    private static NewExample Example(string fingerprint, string? label, string body = "text") =>
        new("mb", fingerprint, "sm-" + fingerprint, label, "v1", new TextInput("subject", body), null);

    [Fact]
    public void StoredText_HasNoCprNumbersOrAddresses()
    {
        using var store = Open();
        store.SaveDecided([Example("a", "x", "Mit CPR er 010190-1234 og 0101151235, skriv til borger@example.dk")], T0);

        var text = Assert.Single(store.ReadLabeled(T0)).Document.Text;

        Assert.False(Cpr.ContainsAny(text.Body));
        Assert.DoesNotContain("borger@example.dk", text.Body, StringComparison.Ordinal);
        Assert.Contains(Cpr.Placeholder, text.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Routes_CountOnceConfirmed_ManualTriageNeverUntilCorrected_CorrectionsAtOnce()
    {
        using var store = Open();
        store.SaveDecided([Example("routed", "x"), Example("manual", null)], T0);
        Assert.Empty(store.ReadLabeled(T0.AddSeconds(-1)));
        Assert.Equal(["routed"], store.ReadLabeled(T0).Select(e => e.Document.Fingerprint));

        var hasText = store.Correct(new Correction(T0.AddMinutes(5), "mb", "manual", "sm-manual", null, "_manual-triage", "y", "cli", "me", "cli", "v1"), null);

        Assert.True(hasText);
        var labeled = store.ReadLabeled(T0.AddSeconds(-1));
        var corrected = Assert.Single(labeled);
        Assert.Equal(("manual", "y", ExampleOrigin.Correction), (corrected.Document.Fingerprint, corrected.Document.Label, corrected.Origin));
    }

    [Fact]
    public void Correction_IsNotOverwrittenByALaterDecision_AndIsKeptInTheLog()
    {
        using var store = Open();
        store.SaveDecided([Example("a", "x")], T0);
        store.Correct(new Correction(T0, "mb", "a", "sm-a", "x", "x", "y", "Y", "caseworker", "imap", "v1"), Example("a", "y"));
        store.SaveDecided([Example("a", "x")], T0.AddMinutes(1));

        Assert.Equal("y", store.LabelOf("mb", "a"));
        var correction = Assert.Single(store.ReadCorrections());
        Assert.Equal(("x", "y", "imap"), (correction.FromLabel, correction.ToLabel, correction.Via));
    }

    [Fact]
    public void Correct_BySignedInUser_KeepsWhoDidIt_MasksCprNumbers()
    {
        using var store = Open();

        store.Correct(new Correction(T0, "mb", "a", "sm-a", null, "_manual-triage", "y", "web", "anna@kommune.test", "web", "v1"), null);
        store.Correct(new Correction(T0, "mb", "b", "sm-b", null, "_manual-triage", "y", "web", "borger 010190-1234", "web", "v1"), null);

        Assert.Equal(["anna@kommune.test", "borger [CPR]"], store.ReadCorrections().Select(c => c.By));
    }

    [Fact]
    public void CorrectionWithoutStoredText_IsRecorded_ButSaysItCannotTrain()
    {
        using var store = Open();
        Assert.False(store.Correct(new Correction(T0, "mb", "unknown", null, null, null, "y", "cli", "me", "cli", null), null));
        Assert.Single(store.ReadCorrections());
        Assert.Empty(store.ReadLabeled(T0.AddDays(1)));
    }

    [Fact]
    public void Purge_DeletesTextPastRetention_KeepsCorrections()
    {
        using var store = Open();
        store.SaveDecided([Example("old", "x")], T0);
        store.SaveDecided([Example("new", "x")], T0.AddDays(10));
        store.Correct(new Correction(T0, "mb", "old", null, "x", null, "y", "cli", "me", "cli", null), null);

        Assert.Equal(1, store.Purge(T0.AddDays(5)));

        Assert.Equal(["new"], store.ReadLabeled(T0.AddDays(20)).Select(e => e.Document.Fingerprint));
        Assert.Single(store.ReadCorrections());
    }
}
