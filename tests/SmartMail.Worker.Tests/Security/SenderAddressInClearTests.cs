using Microsoft.Data.Sqlite;
using SmartMail.Worker.Tests.Oversight;

namespace SmartMail.Worker.Tests.Security;

/// <summary>
/// Issue 24, finding 7: the web app's mail rows stored the sender's address in clear, full-text indexed. They keep a masked
/// address (first letter and domain) now; the address itself stays in the mail and, as a keyed hash, in the privacy index.
/// </summary>
public sealed class SenderAddressInClearTests : IDisposable
{
    private readonly OversightWorld _world = new();

    [Fact]
    public async Task Decide_MailFromAnAddress_TheWebRowAndItsFullTextIndexHoldNoAddress()
    {
        _world.Drop("a.eml", OversightWorld.Mail(7, from: "karen.jensen"));

        await _world.DrainAsync();

        using var connection = new SqliteConnection($"Data Source={_world.StatePath};Pooling=false");
        connection.Open();
        using var rows = connection.CreateCommand();
        rows.CommandText = "SELECT sender FROM mail_summary";
        var sender = Assert.IsType<string>(rows.ExecuteScalar());
        using var index = connection.CreateCommand();
        index.CommandText = "SELECT COUNT(*) FROM summary_text WHERE summary_text MATCH '\"karen.jensen7\"'";
        Assert.DoesNotContain("karen.jensen7", sender, StringComparison.Ordinal);
        Assert.Equal("k\u2026@example.dk", sender);
        Assert.Equal(0L, index.ExecuteScalar());
        Assert.Equal("k\u2026@example.dk", Assert.Single(_world.Queries.FindMail(new Web.MailQuery(["drop"], Sender: "example.dk"), 0, 10).Items).Sender);
    }

    public void Dispose() => _world.Dispose();
}
