using System.Security.Cryptography;
using System.Text;
using SmartMail.Core.Privacy;
using SmartMail.Core.Routing;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Threads;

/// <summary>
/// What SmartMail remembers of threads, per mailbox: Message-ID → the label (and, for routed mail, the decision) its thread
/// went to. A routed mail is remembered in its decision's transaction and counts once it is delivered there (a mail later
/// quarantined, or not yet delivered, is no parent); a message seen in a department folder (a caseworker's answer filed there,
/// or a mail moved there) is remembered for that folder's label, and a newer sighting wins over an older route.
/// Message-IDs are kept only as HMAC-SHA256 under a random key kept in the store, never in clear; a Message-ID that holds
/// a CPR number is neither remembered nor looked up. Thread-safe.
/// </summary>
public sealed class ThreadMemory
{
    private readonly IThreadRows _store;
    private readonly byte[] _key;

    internal ThreadMemory(IThreadRows store, byte[] key)
    {
        _store = store;
        _key = key;
    }

    /// <summary>The keyed hash a Message-ID is kept as; <see langword="null"/> for an empty one or one that holds a CPR number.</summary>
    /// <param name="messageId">The Message-ID, with or without angle brackets.</param>
    /// <returns>Lower-case hex, or <see langword="null"/>.</returns>
    public string? Hash(string? messageId)
    {
        var id = messageId?.Trim().TrimStart('<').TrimEnd('>').Trim();
        if (string.IsNullOrEmpty(id) || Cpr.ContainsAny(id))
        {
            return null;
        }
        return Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(id)));
    }

    /// <summary>The entry for a mail SmartMail routes, to be recorded with its decision; <see langword="null"/> when it cannot be remembered.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="messageId">Its Message-ID.</param>
    /// <param name="label">The label routed to.</param>
    /// <param name="destination">Its destination.</param>
    /// <param name="decisionId">Its decision id.</param>
    /// <param name="fingerprint">Its fingerprint.</param>
    /// <param name="time">When.</param>
    /// <returns>The entry or <see langword="null"/>.</returns>
    public ThreadEntry? Routed(string mailbox, string messageId, string label, string destination, string decisionId, string fingerprint,
        DateTimeOffset time) =>
        Hash(messageId) is { } hash ? new ThreadEntry(hash, mailbox, label, destination, decisionId, fingerprint, null, time) : null;

    /// <summary>Remembers a message seen in a department folder: a reply to it follows that folder's label.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="messageId">Its Message-ID.</param>
    /// <param name="label">The folder's label.</param>
    /// <param name="folder">The folder.</param>
    /// <param name="time">When.</param>
    /// <returns><see langword="true"/> when remembered.</returns>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    public bool SeenInFolder(string mailbox, string? messageId, string label, string folder, DateTimeOffset time)
    {
        if (Hash(messageId) is not { } hash)
        {
            return false;
        }
        _store.RememberThread(new ThreadEntry(hash, mailbox, label, null, null, null, folder, time));
        return true;
    }

    /// <summary>The thread lookup for one mailbox, as the routing policy asks it.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <returns>The lookup.</returns>
    public IThreadLookup For(string mailbox) => new Lookup(this, mailbox);

    /// <summary>The parent remembered for the first of <paramref name="messageIds"/> that is known in <paramref name="mailbox"/>.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="messageIds">Message-IDs, in the order to try.</param>
    /// <returns>The parent or <see langword="null"/>.</returns>
    /// <exception cref="StateStoreException">The store cannot be read.</exception>
    public ThreadParent? Find(string mailbox, IReadOnlyList<string> messageIds)
    {
        ArgumentNullException.ThrowIfNull(messageIds);
        foreach (var id in messageIds)
        {
            if (Hash(id) is { } hash && _store.FindThread(mailbox, hash) is { } row)
            {
                return new ThreadParent(row.Label, row.DecisionId, row.Folder);
            }
        }
        return null;
    }

    private sealed class Lookup(ThreadMemory memory, string mailbox) : IThreadLookup
    {
        public ThreadParent? Find(IReadOnlyList<string> messageIds) => memory.Find(mailbox, messageIds);
    }
}
