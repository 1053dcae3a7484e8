using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Reliability;

/// <summary>
/// The final-state checker of issue 7, for any scenario on one Dovecot mailbox. Tell it what was appended (fingerprints as
/// the server stores them) and, while the scenario runs, how long each recovery took (kill → routing again); then
/// <see cref="CheckAsync"/> reads every folder and the ledger and reports: every appended mail is in exactly one destination
/// (a department folder, manual triage or quarantine), none is duplicated or lost and nothing else appeared; each decision id
/// was decided once and delivered once (one copy, carrying one SmartMail marker); and the ledger agrees with the server
/// (every row finished, the mail in the folder its row names, carrying the marker its row records). A shared ledger (PostgreSQL)
/// is checked one mailbox at a time: that mailbox's rows against its Dovecot account.
/// </summary>
public sealed class MailboxChecker
{
    private static readonly string[] Decisions = ["routed", "manual", "quarantined"];
    private const string CrashGuard = "times without finishing";
    private readonly List<string> _appended = [];
    private readonly List<TimeSpan> _recoveries = [];
    private readonly HashSet<string> _unfetched = new(StringComparer.Ordinal);

    /// <summary>Destination names as the worker's options have them (the defaults unless changed).</summary>
    public string QuarantineDestination { get; init; } = "_quarantine";

    /// <inheritdoc cref="QuarantineDestination"/>
    public string ManualTriageDestination { get; init; } = "_manual-triage";

    /// <summary>The server's hierarchy separator, which destination folder names cannot hold ('/' on Exchange Online).</summary>
    public char Separator { get; init; } = '.';

    /// <summary>How many mails were appended so far.</summary>
    public int Appended => _appended.Count;

    /// <summary>Records mails the scenario appended.</summary>
    public void Append(IEnumerable<string> fingerprints) => _appended.AddRange(fingerprints);

    /// <summary>
    /// Records a mail over <c>MaxMessageMegabytes</c>: it is quarantined without its body being fetched, so its ledger row
    /// carries a fingerprint of its place and size, not of its content. It must be in quarantine, and is not looked up in the ledger.
    /// </summary>
    public void ExpectUnfetched(string fingerprint) => _unfetched.Add(fingerprint);

    /// <summary>Records one recovery: the time from a kill (or fault) until the worker routed mail again.</summary>
    public void Recovered(TimeSpan sinceFault) => _recoveries.Add(sinceFault);

    /// <summary>Reads the server and the ledger at <paramref name="ledger"/> and reports.</summary>
    public async Task<CheckReport> CheckAsync(Dovecot dovecot, string ledger)
    {
        await using var connection = new SqliteConnection($"Data Source={ledger};Mode=ReadOnly;Pooling=False");
        return await CheckAsync(dovecot, connection, account: 0, mailbox: null);
    }

    /// <summary>Reads account <paramref name="account"/> of the server and the rows of <paramref name="mailbox"/> (all rows when
    /// <see langword="null"/>) in the ledger on <paramref name="ledger"/> (SQLite or PostgreSQL, opened here if closed), and reports.</summary>
    public async Task<CheckReport> CheckAsync(Dovecot dovecot, DbConnection ledger, int account, string? mailbox)
    {
        ArgumentNullException.ThrowIfNull(dovecot);
        ArgumentNullException.ThrowIfNull(ledger);
        var problems = new List<string>();
        var inventory = await dovecot.InventoryAsync(account);
        var expected = _appended.ToHashSet(StringComparer.Ordinal);
        if (expected.Count != _appended.Count)
        {
            problems.Add($"the scenario appended the same bytes twice ({_appended.Count - expected.Count} times): fingerprints cannot tell them apart");
        }
        var copies = inventory.ToLookup(m => m.Fingerprint, StringComparer.Ordinal);
        foreach (var stranger in inventory.Where(m => !expected.Contains(m.Fingerprint)))
        {
            problems.Add($"{Short(stranger.Fingerprint)} in {stranger.Folder} was never appended");
        }
        var lost = expected.Count(fp => !copies[fp].Any(m => m.Folder != "INBOX"));
        foreach (var waiting in inventory.Where(m => m.Folder == "INBOX"))
        {
            problems.Add($"{Short(waiting.Fingerprint)} is still in INBOX");
        }
        var duplicated = expected.Count(fp => copies[fp].Count() > 1);
        foreach (var fp in expected.Where(fp => copies[fp].Count() > 1))
        {
            problems.Add($"{Short(fp)} has {copies[fp].Count()} copies: {string.Join(", ", copies[fp].Select(m => m.Folder))}");
        }
        foreach (var message in inventory.Where(m => m.Folder != "INBOX" && m.Keywords.Count(IsMarker) != 1))
        {
            problems.Add($"{Short(message.Fingerprint)} in {message.Folder} carries {message.Keywords.Count(IsMarker)} SmartMail markers, not one");
        }

        var rows = ReadLedger(ledger, mailbox, out var decisionsPerId);
        foreach (var row in rows.Where(r => r.State != 3))
        {
            problems.Add($"{Short(row.Fingerprint)}: ledger row unfinished (state {row.State})");
        }
        foreach (var group in rows.GroupBy(r => r.Fingerprint).Where(g => g.Count() > 1))
        {
            problems.Add($"{Short(group.Key)}: {group.Count()} ledger rows");
        }
        var rowOf = rows.GroupBy(r => r.Fingerprint).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var fp in expected)
        {
            if (_unfetched.Contains(fp))
            {
                if (!copies[fp].Any(m => m.Folder == FolderOf(QuarantineDestination)))
                {
                    problems.Add($"{Short(fp)}: too large to fetch, but not in {FolderOf(QuarantineDestination)}");
                }
                continue;
            }
            if (!rowOf.TryGetValue(fp, out var row))
            {
                problems.Add($"{Short(fp)}: no ledger row");
                continue;
            }
            if (decisionsPerId.GetValueOrDefault(row.DecisionId) != 1)
            {
                problems.Add($"{Short(fp)}: decision {row.DecisionId} recorded {decisionsPerId.GetValueOrDefault(row.DecisionId)} times, not once");
            }
            if (copies[fp].FirstOrDefault(m => m.Folder != "INBOX") is not { Folder: not null } copy)
            {
                continue; // lost: counted above
            }
            if (copy.Folder != FolderOf(row.Destination))
            {
                problems.Add($"{Short(fp)}: in {copy.Folder}, but the ledger says {row.Destination}");
            }
            if (row.Marker is not null && !copy.Keywords.Contains(row.Marker))
            {
                problems.Add($"{Short(fp)}: the ledger records marker {row.Marker}, the message carries {string.Join(" ", copy.Keywords)}");
            }
        }

        var destinationOf = inventory.Where(m => m.Folder != "INBOX").GroupBy(m => m.Fingerprint).ToDictionary(g => g.Key, g => g.First().Folder);
        return new CheckReport(
            Mails: expected.Count,
            Lost: lost,
            Duplicated: duplicated,
            Quarantined: expected.Count(fp => destinationOf.GetValueOrDefault(fp) == FolderOf(QuarantineDestination)),
            ManualTriage: expected.Count(fp => destinationOf.GetValueOrDefault(fp) == FolderOf(ManualTriageDestination)),
            Recoveries: [.. _recoveries.Order()],
            Problems: problems);
    }

    private static bool IsMarker(string keyword) => keyword.StartsWith(ImapMailbox.MarkerPrefix, StringComparison.Ordinal);

    // The IMAP folder a destination name becomes (ImapMailbox.FolderAsync: safe name, the server's separator replaced).
    private string FolderOf(string? destination) => FolderJournalSink.SafeName(destination ?? string.Empty).Replace(Separator, '_');

    private static string Short(string fingerprint) => fingerprint[..Math.Min(12, fingerprint.Length)];

    private sealed record Row(string Fingerprint, string DecisionId, int State, string? Destination, string? Marker);

    private static List<Row> ReadLedger(DbConnection connection, string? mailbox, out Dictionary<string, int> decisionsPerId)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            connection.Open();
        }
        // Both SQLite and PostgreSQL take @name parameters and CASE sums.
        var where = mailbox is null ? "" : " WHERE mailbox = @mailbox";
        DbCommand Command(string sql)
        {
            var cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            if (mailbox is not null)
            {
                var parameter = cmd.CreateParameter();
                parameter.ParameterName = "@mailbox";
                parameter.Value = mailbox;
                cmd.Parameters.Add(parameter);
            }
            return cmd;
        }
        var rows = new List<Row>();
        using (var cmd = Command("SELECT fingerprint, decision_id, state, destination, marker, decision_json FROM mail" + where))
        {
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                rows.Add(new Row(r.GetString(0), r.GetString(1), r.GetInt32(2), r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4)));
                if (!r.IsDBNull(5))
                {
                    DecisionSchema.AssertValid(r.GetString(5)); // every decision the run wrote follows the published schema
                }
            }
        }
        decisionsPerId = new Dictionary<string, int>(StringComparer.Ordinal);
        using (var cmd = Command(""))
        {
            // The crash guard's quarantine ("… was started N times without finishing") may follow a decision whose delivery
            // died with the process N times in a row — by design, a mail that keeps killing the worker is poison — so it
            // counts as the decision only when there is no other; the mail must then be in quarantine (checked above).
            cmd.CommandText = $"SELECT decision_id, SUM(CASE WHEN outcome IN ({string.Join(", ", Decisions.Select(d => $"'{d}'"))}) AND reason NOT LIKE '%{CrashGuard}%' THEN 1 ELSE 0 END), " +
                $"SUM(CASE WHEN outcome = 'quarantined' AND reason LIKE '%{CrashGuard}%' THEN 1 ELSE 0 END) FROM audit{where} GROUP BY decision_id";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var (decided, guarded) = (Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture), Convert.ToInt32(r.GetValue(2), CultureInfo.InvariantCulture));
                if (decided + guarded > 0)
                {
                    decisionsPerId[r.GetString(0)] = decided > 0 ? decided : guarded;
                }
            }
        }
        return rows;
    }
}

/// <summary>What <see cref="MailboxChecker"/> found.</summary>
/// <param name="Mails">Mails appended.</param>
/// <param name="Lost">Appended mails in no destination folder.</param>
/// <param name="Duplicated">Appended mails with more than one copy on the server.</param>
/// <param name="Quarantined">Mails in the quarantine folder.</param>
/// <param name="ManualTriage">Mails in the manual triage folder.</param>
/// <param name="Recoveries">Recovery times recorded, shortest first.</param>
/// <param name="Problems">Every violation, one line each; empty when the run was clean.</param>
public sealed record CheckReport(int Mails, int Lost, int Duplicated, int Quarantined, int ManualTriage, IReadOnlyList<TimeSpan> Recoveries,
    IReadOnlyList<string> Problems)
{
    /// <summary>The median recovery time, or <see langword="null"/> when none was recorded.</summary>
    public TimeSpan? RecoveryMedian => Recoveries.Count == 0 ? null : Recoveries[Recoveries.Count / 2];

    /// <summary>The 95th-percentile recovery time.</summary>
    public TimeSpan? RecoveryP95 => Recoveries.Count == 0 ? null : Recoveries[Math.Min(Recoveries.Count - 1, (int)(Recoveries.Count * 0.95))];

    /// <summary>The longest recovery time.</summary>
    public TimeSpan? RecoveryMax => Recoveries.Count == 0 ? null : Recoveries[^1];

    /// <summary>Fails the test with every problem listed unless the run was clean.</summary>
    public void AssertClean()
    {
        Assert.True(Problems.Count == 0, $"{Problems.Count} problems:\n{string.Join("\n", Problems.Take(50))}");
        Assert.Equal(0, Lost);
        Assert.Equal(0, Duplicated);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"mails {Mails}, lost {Lost}, duplicated {Duplicated}, quarantined {Quarantined}, manual triage {ManualTriage}, problems {Problems.Count}; " +
        $"recovery (kill -> routing again) n={Recoveries.Count} median {Seconds(RecoveryMedian)} p95 {Seconds(RecoveryP95)} max {Seconds(RecoveryMax)}");

    private static string Seconds(TimeSpan? t) => t is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v.TotalSeconds:F2} s") : "-";
}
