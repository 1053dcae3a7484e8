using System.Text;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Sinks;

public sealed class FolderJournalSinkTests : IDisposable
{
    private readonly SinkTempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Delivery Delivery(string destination = "space-desk", string decisionId = "sm-0123", byte[]? raw = null) =>
        new(new MailKey("drop", "INBOX", 1, "1"), decisionId, destination, raw ?? Encoding.UTF8.GetBytes(Mails.Space(1)), """{"label":"sci.space"}""");

    [Fact]
    public async Task DeliverAsync_FsyncsEachFileBeforeItsRename_AndTheDirectoryAfter_LeavingCompleteFilesOnly()
    {
        var ct = TestContext.Current.CancellationToken;
        var steps = new List<(string Kind, string Path, bool FinalExists, bool TempExists)>();
        var raw = new byte[3 * 1024 * 1024 + 17];
        Random.Shared.NextBytes(raw);
        var root = Path.Combine(_dir.Path, "journal");
        var sink = new FolderJournalSink(root)
        {
            // A temporary file is the target's name, 16 random hex digits and .tmp.
            Steps = (kind, path) => steps.Add((kind, path, File.Exists(Target(path)),
                path.EndsWith(".tmp", StringComparison.Ordinal) ? File.Exists(path) : Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".*.tmp").Length > 0)),
        };

        await sink.DeliverAsync(Delivery(raw: raw), ct);

        var dir = Path.Combine(root, "space-desk");
        var eml = Path.Combine(dir, "sm-0123.eml");
        var json = Path.Combine(dir, "sm-0123.json");
        Assert.Equal(
        [
            ("fsync-dir", Path.GetFullPath(root)),
            ("fsync", eml), ("rename", eml), ("fsync-dir", dir),
            ("fsync", json), ("rename", json), ("fsync-dir", dir),
        ], steps.Select(s => (s.Kind, Target(s.Path))));
        Assert.All(steps.Where(s => s.Kind == "fsync"), s => Assert.Matches(@"\.[0-9a-f]{16}\.tmp$", s.Path));
        // At each fsync the temporary file exists and the target does not yet; at each rename and directory flush the target exists.
        Assert.All(steps.Where(s => s.Kind == "fsync"), s => Assert.True(s.TempExists && !s.FinalExists));
        Assert.All(steps.Where(s => s.Kind == "rename"), s => Assert.True(s.FinalExists && !s.TempExists));
        Assert.Equal(raw, await File.ReadAllBytesAsync(eml, ct));
        Assert.Equal("""{"label":"sci.space"}""", await File.ReadAllTextAsync(json, ct));
        Assert.Equal(["sm-0123.eml", "sm-0123.json"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    private static string Target(string path) => System.Text.RegularExpressions.Regex.Replace(path, @"\.[0-9a-f]{16}\.tmp$", "");

    [Fact]
    public async Task DeliverAsync_SameDecisionAgain_OverwritesTheSameFiles_AndFlushesNoNewDirectory()
    {
        var ct = TestContext.Current.CancellationToken;
        var steps = new List<string>();
        var sink = new FolderJournalSink(_dir.Path) { Steps = (kind, _) => steps.Add(kind) };
        await sink.DeliverAsync(Delivery(raw: [1, 2, 3]), ct);
        steps.Clear();

        await sink.DeliverAsync(Delivery(raw: [4, 5]), ct);

        Assert.Equal(["fsync", "rename", "fsync-dir", "fsync", "rename", "fsync-dir"], steps);
        Assert.Equal([4, 5], await File.ReadAllBytesAsync(Path.Combine(_dir.Path, "space-desk", "sm-0123.eml"), ct));
    }

    [Fact]
    public void SyncDirectory_ExistingDirectory_Succeeds_MissingOne_ThrowsIOException()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Windows flushes the rename itself (MOVEFILE_WRITE_THROUGH)");

        DurableFile.SyncDirectory(_dir.Path);
        var ex = Assert.Throws<IOException>(() => DurableFile.SyncDirectory(Path.Combine(_dir.Path, "missing")));

        Assert.Contains("missing", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CON", "_CON")]
    [InlineData("con", "_con")]
    [InlineData("NUL.txt", "_NUL.txt")]
    [InlineData("aux", "_aux")]
    [InlineData("PRN", "_PRN")]
    [InlineData("COM1", "_COM1")]
    [InlineData("lpt9", "_lpt9")]
    [InlineData("COM0", "_COM0")]
    [InlineData("COM¹", "COM_")]
    [InlineData("CONSOLE", "CONSOLE")]
    [InlineData("Borgerservice", "Borgerservice")]
    [InlineData("Manuel visitering", "Manuel_visitering")]
    [InlineData("Økonomi og løn", "Økonomi_og_løn")]
    [InlineData("trailing dots...", "trailing_dots")]
    [InlineData("trailing space ", "trailing_space_")]
    [InlineData("a<b>c:d\"e/f\\g|h?i*j", "a_b_c_d_e_f_g_h_i_j")]
    [InlineData("tab\there\u0001", "tab_here_")]
    [InlineData("..", "_")]
    [InlineData("", "_")]
    public void SafeFileName_IsSafeOnWindowsToo(string value, string expected)
    {
        var name = FolderJournalSink.SafeFileName(value);

        Assert.Equal(expected, name);
        AssertWindowsSafe(name);
    }

    [Fact]
    public void SafeFileName_LongNames_AreCutWithAHash_DistinctAndStable()
    {
        var a = new string('æ', 300) + "a";
        var b = new string('æ', 300) + "b";

        var nameA = FolderJournalSink.SafeFileName(a);
        var nameB = FolderJournalSink.SafeFileName(b);

        Assert.NotEqual(nameA, nameB);
        Assert.Equal(nameA, FolderJournalSink.SafeFileName(a));
        Assert.InRange(Encoding.UTF8.GetByteCount(nameA), 1, FolderJournalSink.MaxNameBytes);
        AssertWindowsSafe(nameA);
        Assert.Equal(nameA + ".json.tmp", Path.GetFileName(Path.Combine(_dir.Path, nameA + ".json.tmp")));
        File.WriteAllText(Path.Combine(_dir.Path, nameA + ".json.tmp"), "fits");
    }

    [Fact]
    public async Task DeliverAsync_DeviceNamesAsDestinationAndId_WritesUnderSafeNames()
    {
        var ct = TestContext.Current.CancellationToken;
        var sink = new FolderJournalSink(_dir.Path);

        await sink.DeliverAsync(Delivery(destination: "NUL", decisionId: "CON"), ct);

        Assert.True(File.Exists(Path.Combine(_dir.Path, "_NUL", "_CON.eml")));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "_NUL", "_CON.json")));
    }

    private static void AssertWindowsSafe(string name)
    {
        Assert.NotEmpty(name);
        Assert.DoesNotContain(name, c => c < 32 || "<>:\"/\\|?*".Contains(c, StringComparison.Ordinal));
        Assert.False(name.EndsWith('.') || name.EndsWith(' '), name);
        string[] devices = ["CON", "PRN", "AUX", "NUL", .. Enumerable.Range(0, 10).SelectMany(i => new[] { $"COM{i}", $"LPT{i}" })];
        Assert.DoesNotContain(name.Split('.')[0], devices, StringComparer.OrdinalIgnoreCase);
    }
}
