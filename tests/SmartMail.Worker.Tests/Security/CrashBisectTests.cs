using SmartMail.Worker.Processing;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Security;

/// <summary>The crash guard's bisection: groups halve per crash, and only a mail that crashed alone is poison.</summary>
public sealed class CrashBisectTests
{
    [Theory]
    [InlineData(500, 0, 500)]
    [InlineData(500, 1, 250)]
    [InlineData(500, 8, 1)]
    [InlineData(500, 30, 1)]
    [InlineData(1, 3, 1)]
    public void GroupSize_PerUnfinishedStart_Halves(int batchSize, int unfinished, int expected) =>
        Assert.Equal(expected, CrashBisect.GroupSize(batchSize, unfinished));

    [Theory]
    [InlineData(500, 4, false)] // three crashes, in groups of 500, 250 and 125: innocent until proven alone
    [InlineData(500, 11, false)] // ten crashes: alone for two of them
    [InlineData(500, 12, true)] // alone for three
    [InlineData(1, 3, false)] // one at a time (the drop folder): as before, three tries
    [InlineData(1, 4, true)]
    public void IsPoison_ByStarts_OnlyAfterMaxAttemptsCrashesAlone(int batchSize, int attempts, bool poison) =>
        Assert.Equal(poison, CrashBisect.IsPoison(attempts, maxAttempts: 3, batchSize));

    [Fact]
    public void Batches_AfterACrash_SuspectsFirstInHalvedGroupsThenTheRest()
    {
        var due = Enumerable.Range(1, 10).Select(i => new PendingMail(new MailKey("m", "INBOX", 1, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), 100)).ToList();
        var unfinished = new Dictionary<string, int>(StringComparer.Ordinal) { ["3"] = 1, ["4"] = 1, ["5"] = 1, ["6"] = 2, ["7"] = 2 };

        var batches = CrashBisect.Batches(due, p => unfinished.GetValueOrDefault(p.Key.Uid), batchSize: 4);

        Assert.Equal(["6", "7", "3 4", "5", "1 2 8 9", "10"], batches.Select(b => string.Join(' ', b.Select(p => p.Key.Uid))));
    }

    [Fact]
    public void Unfinished_ByLedgerState_CountsOnlyMailNotYetDelivered()
    {
        var key = new MailKey("m", "INBOX", 1, "1");

        Assert.Equal(0, CrashBisect.Unfinished(null));
        Assert.Equal(2, CrashBisect.Unfinished(new MailRecord(key, "fp", "sm-1", MailState.Seen, null, null, 2)));
        Assert.Equal(1, CrashBisect.Unfinished(new MailRecord(key, "fp", "sm-1", MailState.Decided, "a", "{}", 1)));
        Assert.Equal(0, CrashBisect.Unfinished(new MailRecord(key, "fp", "sm-1", MailState.Delivered, "a", "{}", 3)));
        Assert.Equal(0, CrashBisect.Unfinished(new MailRecord(key, "fp", "sm-1", MailState.Decided, "a", "{}", 0)));
    }
}
