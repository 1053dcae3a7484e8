using SmartMail.Core.Privacy;
using SmartMail.Worker.Sources;

namespace SmartMail.Worker.Tests;

public sealed class DropFolderSourceTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-drop-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task FileNamedWithACprNumber_IsRenamedBeforeItBecomesALedgerKey_ContentKept()
    {
        var ct = TestContext.Current.CancellationToken;
        await File.WriteAllTextAsync(Path.Combine(_dir.FullName, "skema 010190-1234.eml"), Mails.Space(1), ct);
        await File.WriteAllTextAsync(Path.Combine(_dir.FullName, "plain.eml"), Mails.Car(1), ct);
        var source = new DropFolderSource("drop", _dir.FullName);

        var pending = await source.ListAsync(ct);

        Assert.Equal(2, pending.Count);
        Assert.All(pending, p => Assert.False(Cpr.ContainsAny(p.Key.Uid), p.Key.Uid));
        Assert.Contains(pending, p => p.Key.Uid == "plain.eml");
        var renamed = pending.Single(p => p.Key.Uid != "plain.eml");
        Assert.StartsWith("skema CPR-", renamed.Key.Uid, StringComparison.Ordinal);
        Assert.Equal(Mails.Space(1), System.Text.Encoding.UTF8.GetString((await source.FetchAsync(renamed.Key, ct))!));
        Assert.Equal(pending.Select(p => p.Key.Uid), (await source.ListAsync(ct)).Select(p => p.Key.Uid));
    }

    [Fact]
    public async Task FileNamedWithACprNumber_NewNameIsNoFunctionOfTheOldOne_SoItCannotBeReversedToTheNumber()
    {
        var ct = TestContext.Current.CancellationToken;
        var source = new DropFolderSource("drop", _dir.FullName);
        await File.WriteAllTextAsync(Path.Combine(_dir.FullName, "skema 010190-1234.eml"), Mails.Space(1), ct);
        var first = (await source.ListAsync(ct)).Single().Key.Uid;
        await File.WriteAllTextAsync(Path.Combine(_dir.FullName, "skema 010190-1234.eml"), Mails.Space(2), ct); // the same name dropped again

        var names = (await source.ListAsync(ct)).Select(p => p.Key.Uid).ToList();

        Assert.Equal(2, names.Count);
        Assert.Contains(first, names);
        Assert.All(names, n => Assert.False(Cpr.ContainsAny(n), n));
        var suffixOfSecond = Path.GetFileNameWithoutExtension(names.Single(n => n != first)).Split('-')[^1];
        var hashOfName = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("skema 010190-1234.eml")))[..16];
        Assert.NotEqual(hashOfName, suffixOfSecond);
        Assert.NotEqual(Path.GetFileNameWithoutExtension(first).Split('-')[^1], suffixOfSecond);
    }
}
