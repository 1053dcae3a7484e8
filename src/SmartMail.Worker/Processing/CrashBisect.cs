using System.Numerics;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Processing;

/// <summary>
/// The crash guard's bisection. A crash (the process killed, the machine lost) leaves every mail that was in flight with one
/// unfinished start in the ledger (<see cref="MailRecord.Attempts"/>), the innocent with the guilty. Such a mail is retried
/// in a group half the size of the one it crashed in, before any other mail: a mail with <c>n</c> unfinished starts goes in
/// groups of <c>batchSize / 2ⁿ</c>, so a mail that really crashes the worker is alone after <see cref="Steps"/> crashes, and
/// only a mail that crashed <see cref="SmartMail.Worker.Options.SmartMailOptions.MaxAttempts"/> times while alone goes to
/// quarantine. A kill from outside hits a lone mail only by chance: it sends nothing to quarantine.
/// </summary>
public static class CrashBisect
{
    /// <summary>Crashes it takes to get a mail alone: ⌊log₂ <paramref name="batchSize"/>⌋ (0 when mail is handled one at a time).</summary>
    /// <param name="batchSize">Mails per batch.</param>
    /// <returns>The number of halvings.</returns>
    public static int Steps(int batchSize) => batchSize <= 1 ? 0 : BitOperations.Log2((uint)batchSize);

    /// <summary>The size of the groups a mail with <paramref name="unfinished"/> unfinished starts is retried in.</summary>
    /// <param name="batchSize">Mails per batch.</param>
    /// <param name="unfinished">Starts that did not finish (0: a fresh mail, a full batch).</param>
    /// <returns>At least 1.</returns>
    public static int GroupSize(int batchSize, int unfinished) => Math.Max(1, Math.Max(1, batchSize) >> Math.Min(Math.Max(0, unfinished), 30));

    /// <summary>
    /// Whether a mail on its start number <paramref name="attempts"/> (counted with this one) crashed the worker
    /// <paramref name="maxAttempts"/> times while alone in its group: poison.
    /// </summary>
    /// <param name="attempts">Starts so far, this one included.</param>
    /// <param name="maxAttempts">Crashes alone before quarantine.</param>
    /// <param name="batchSize">Mails per batch.</param>
    /// <returns><see langword="true"/> when the mail goes to quarantine.</returns>
    public static bool IsPoison(int attempts, int maxAttempts, int batchSize) => attempts - 1 - Steps(batchSize) >= maxAttempts;

    /// <summary>Crashes a mail on start <paramref name="attempts"/> survived while alone (for the quarantine reason).</summary>
    /// <param name="attempts">Starts so far, this one included.</param>
    /// <param name="batchSize">Mails per batch.</param>
    /// <returns>At least 0.</returns>
    public static int CrashesAlone(int attempts, int batchSize) => Math.Max(0, attempts - 1 - Steps(batchSize));

    /// <summary>
    /// Splits the due mails into the batches to handle, in order: first the mails a crash left unfinished, most crashes first, in
    /// groups of <see cref="GroupSize"/> (mails with the same count together); then the rest in listed order, in full batches.
    /// </summary>
    /// <param name="due">The due mails, in listed order.</param>
    /// <param name="unfinished">Unfinished starts of a mail (0 when none, or when it is not in the ledger).</param>
    /// <param name="batchSize">Mails per batch.</param>
    /// <returns>The batches.</returns>
    public static IReadOnlyList<PendingMail[]> Batches(IReadOnlyList<PendingMail> due, Func<PendingMail, int> unfinished, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(due);
        ArgumentNullException.ThrowIfNull(unfinished);
        var counted = due.Select(p => (Mail: p, Unfinished: unfinished(p))).ToList();
        var batches = new List<PendingMail[]>();
        foreach (var suspects in counted.Where(c => c.Unfinished > 0).GroupBy(c => c.Unfinished).OrderByDescending(g => g.Key))
        {
            batches.AddRange(suspects.Select(c => c.Mail).Chunk(GroupSize(batchSize, suspects.Key)));
        }
        batches.AddRange(counted.Where(c => c.Unfinished == 0).Select(c => c.Mail).Chunk(Math.Max(1, batchSize)));
        return batches;
    }

    /// <summary>
    /// Splits each batch further so that none holds more than <paramref name="maxBytes"/> by the listed sizes; a mail larger
    /// than that makes a batch of its own. Order is kept.
    /// </summary>
    /// <param name="batches">The batches.</param>
    /// <param name="maxBytes">The most bytes one batch may fetch.</param>
    /// <returns>The batches, none over the budget unless it holds one mail.</returns>
    public static IReadOnlyList<PendingMail[]> ByBytes(IEnumerable<PendingMail[]> batches, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var result = new List<PendingMail[]>();
        foreach (var batch in batches)
        {
            var current = new List<PendingMail>();
            long bytes = 0;
            foreach (var mail in batch)
            {
                if (current.Count > 0 && bytes + mail.Size > maxBytes)
                {
                    result.Add([.. current]);
                    (current, bytes) = ([], 0);
                }
                current.Add(mail);
                bytes += mail.Size;
            }
            if (current.Count > 0)
            {
                result.Add([.. current]);
            }
        }
        return result;
    }

    /// <summary>Unfinished starts of a mail by its ledger record: starts of a mail still seen or decided (a delivered one finished).</summary>
    /// <param name="record">The record, or <see langword="null"/> when the mail is not in the ledger.</param>
    /// <returns>0 for a fresh or finished mail.</returns>
    public static int Unfinished(MailRecord? record) =>
        record is { State: MailState.Seen or MailState.Decided, Attempts: > 0 } ? record.Attempts : 0;
}
