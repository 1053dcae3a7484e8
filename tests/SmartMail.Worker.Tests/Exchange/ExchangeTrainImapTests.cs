using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.Learning;

namespace SmartMail.Worker.Tests.Exchange;

/// <summary>
/// <c>train --imap</c>'s reader on Exchange Online (OAuth2): the department folders are the labels, with Exchange-style names
/// (spaces; a dot, which "/" as separator leaves in the name). The inbox, manual triage and Exchange's standard folders (Deleted
/// Items, Junk Email, Sent Items...), which Exchange does not mark as special-use, are not labels even when they hold mail.
/// </summary>
public sealed class ExchangeTrainImapTests(DefaultModelFixture model) : IntegrationTest(model)
{
    [Fact]
    public async Task ReadHistory_OnExchange_DepartmentFoldersAreLabels_StandardFoldersAreNot()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var exchange = await ExchangeOnline.StartAsync(ExchangeCredential.Secret);
        using (var client = await exchange.Dovecot.ClientAsync())
        {
            var root = client.GetFolder(client.PersonalNamespaces[0]);
            foreach (var name in new[] { "Byg og Teknik", "Skat.Ejendom", "_manual-triage" })
            {
                await root.CreateAsync(name, true, ct);
            }
            await client.DisconnectAsync(true, ct);
        }
        await exchange.Dovecot.AppendAsync([.. Enumerable.Range(0, 12).Select(i => Topics.Bytes(Topics.Cars, i))], "Byg og Teknik");
        await exchange.Dovecot.AppendAsync([.. Enumerable.Range(0, 15).Select(i => Topics.Bytes(Topics.Space, i))], "Skat.Ejendom");
        await exchange.Dovecot.AppendAsync([.. Enumerable.Range(0, 6).Select(i => Topics.Bytes(Topics.Parking, i))], "Deleted Items");
        await exchange.Dovecot.AppendAsync([.. Enumerable.Range(6, 6).Select(i => Topics.Bytes(Topics.Parking, i))], "Junk Email");
        await exchange.Dovecot.AppendAsync([.. Enumerable.Range(12, 6).Select(i => Topics.Bytes(Topics.Parking, i))], "Sent Items");
        await exchange.Dovecot.AppendAsync([Topics.Bytes(Topics.Parking, 20)], "_manual-triage");
        await exchange.Dovecot.AppendAsync([Topics.Bytes(Topics.Parking, 21)], "INBOX");
        var options = new SmartMailOptions { DataDirectory = Data.FullName, ModelPath = Model.ModelPath };
        var tokensBefore = exchange.Authority.TokenRequests;

        var set = await ImapHistory.ReadAsync(exchange.Options(), options, [], [], 10, null, ct);

        Assert.Equal("imap", set.SourceKind);
        Assert.Equal(new Dictionary<string, int> { ["Byg og Teknik"] = 10, ["Skat.Ejendom"] = 10 }, set.LabelCounts);
        Assert.True(exchange.Authority.TokenRequests > tokensBefore, "the reader signed in with a token");
        var one = await ImapHistory.ReadAsync(exchange.Options(), options, ["Skat.Ejendom"], [], 100, null, ct);
        Assert.Equal(new Dictionary<string, int> { ["Skat.Ejendom"] = 15 }, one.LabelCounts);
        var missing = await Assert.ThrowsAsync<TrainingDataException>(() => ImapHistory.ReadAsync(exchange.Options(), options, ["Deleted Items"], [], 10, null, ct));
        Assert.Contains("no department folder 'Deleted Items'", missing.Message, StringComparison.Ordinal);
    }
}
