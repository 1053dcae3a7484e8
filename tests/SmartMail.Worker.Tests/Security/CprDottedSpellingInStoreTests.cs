using Microsoft.Data.Sqlite;
using SmartMail.Worker.Tests.Oversight;

namespace SmartMail.Worker.Tests.Security;

/// <summary>
/// Issue 24, finding 7 (black-box): the spelling <c>31.12.754321</c> reached the example store and the decision record's
/// <c>messageId</c> in clear, through the project's own drop-folder run.
/// </summary>
public sealed class CprDottedSpellingInStoreTests : IDisposable
{
    private readonly OversightWorld _world = new();

    [Fact]
    public async Task Decide_DottedCprInSubjectBodyAndMessageId_NeitherTheExampleNorTheDecisionRecordKeepsIt()
    {
        _world.Drop("a.eml", """
            From: borger@example.dk
            Subject: Sag om 31.12.754321
            Message-ID: <31.12.754321@borger.example>
            Content-Type: text/plain; charset=utf-8

            Mit personnummer er 31.12.754321, venlig hilsen.
            """.Replace("\n", "\r\n", StringComparison.Ordinal));

        await _world.DrainAsync();

        var decision = File.ReadAllText(Assert.Single(Directory.GetFiles(_world.Options.JournalPath, "*.json", SearchOption.AllDirectories)));
        using var connection = new SqliteConnection($"Data Source={_world.StatePath};Pooling=false");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT subject || ' ' || body FROM example UNION ALL SELECT decision_json FROM mail UNION ALL SELECT subject FROM mail_summary";
        using var r = cmd.ExecuteReader();
        var stored = new List<string>();
        while (r.Read())
        {
            stored.Add(r.GetString(0));
        }
        Assert.DoesNotContain("754321", decision, StringComparison.Ordinal);
        Assert.Contains("[CPR]@borger.example", decision, StringComparison.Ordinal);
        Assert.Equal(3, stored.Count);
        Assert.All(stored, s => Assert.DoesNotContain("754321", s, StringComparison.Ordinal));
    }

    public void Dispose() => _world.Dispose();
}
