using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.StateStores;

// The statements SetWrites makes for PostgreSQL (the conformance suite runs them against a real server).
public sealed class SetWritesTests
{
    private static (string, object?)[] Row(string m, object? c) => [("@m", m), ("@c", c)];

    [Fact]
    public void For_Insert_SelectsFromOneArrayPerParameter_InTheRowsOrder()
    {
        var (statement, rows) = Assert.Single(SetWrites.For("INSERT INTO t (m, c, k) VALUES (@m, @c, 'x') ON CONFLICT (m) DO NOTHING",
            [Row("a", 0.5), Row("b", null), Row("c", 1.0)]));

        Assert.Equal(3, rows);
        Assert.Equal("INSERT INTO t (m, c, k) SELECT smartmail_rows.p0, smartmail_rows.p1, 'x' FROM unnest(@p0, @p1) WITH ORDINALITY AS " +
            "smartmail_rows(p0, p1, smartmail_position) ORDER BY smartmail_rows.smartmail_position ON CONFLICT (m) DO NOTHING", statement.Sql);
        Assert.Equal(["a", "b", "c"], Assert.IsType<string?[]>(statement.Parameters[0].Value));
        Assert.Equal([0.5, null, 1.0], Assert.IsType<double?[]>(statement.Parameters[1].Value));
    }

    [Fact]
    public void For_Update_JoinsTheRowsBeforeWhere_AndAColumnNullInEveryRowIsALiteral()
    {
        var (statement, _) = Assert.Single(SetWrites.For("UPDATE t SET c=@c, n=(SELECT 1 WHERE 1=1) WHERE m=@m AND s IN (0, 1)",
            [Row("a", null), Row("b", null)]));

        Assert.Equal("UPDATE t SET c=NULL, n=(SELECT 1 WHERE 1=1) FROM unnest(@p0) WITH ORDINALITY AS smartmail_rows(p0, smartmail_position) " +
            "WHERE m=smartmail_rows.p0 AND s IN (0, 1)", statement.Sql);
        Assert.Single(statement.Parameters);
    }

    [Fact]
    public void For_AKeyNamedTwice_StartsASecondStatement_SoTheRowsApplyInOrder()
    {
        string[] keys = ["a", "b", "a", "c"];
        var statements = SetWrites.For("UPDATE t SET c=@c WHERE m=@m", [.. keys.Select((m, i) => Row(m, i + 1))], i => keys[i]).ToList();

        Assert.Equal([2, 2], statements.Select(s => s.Rows));
        Assert.Equal([3, 4], Assert.IsType<int?[]>(statements[1].Statement.Parameters[1].Value).Select(v => v!.Value));
    }

    [Fact]
    public void For_AnOnConflictNamingAParameter_IsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            SetWrites.For("INSERT INTO t (m) VALUES (@m) ON CONFLICT (m) DO UPDATE SET m = @m", [[("@m", "a")]]).ToList());

        Assert.Contains("excluded.column", error.Message, StringComparison.Ordinal);
    }
}
