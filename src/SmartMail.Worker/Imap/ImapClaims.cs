using MailKit;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Imap;

/// <summary>
/// The claims of one instance on the mail of a watched folder. A claim is a marker keyword naming this instance and the
/// decision (<c>$SmartMail_INSTANCE_DECISIONID</c>), recorded in the ledger (<see cref="MailLedger.Claim"/>) before it is set.
/// With CONDSTORE the marker is stored only where the mail is unchanged since its MODSEQ was read (<c>UNCHANGEDSINCE</c>),
/// so of two instances watching one mailbox only one can claim a mail; mail carrying another instance's marker is not listed
/// and not claimed (unless <see cref="AdoptForeign"/>).
/// </summary>
internal sealed class ImapClaims(ImapSession session, string instanceId)
{
    /// <summary>The prefix of every SmartMail marker keyword.</summary>
    public const string MarkerPrefix = "$SmartMail_";

    // From the last listing (CONDSTORE only): each mail's MODSEQ and the markers of this instance it carries.
    private readonly Dictionary<uint, (ulong ModSeq, string? OwnMarker)> _listed = [];
    // Mails this session holds a claim on, with the marker that is the claim.
    private readonly Dictionary<uint, string> _claimed = [];

    /// <summary>Whether mail another instance claimed (and left in the folder) is taken over (set by the lease holder).</summary>
    public bool AdoptForeign { get; set; }

    /// <summary>Forgets the claims and listing of the last connection.</summary>
    public void Reset()
    {
        _listed.Clear();
        _claimed.Clear();
    }

    /// <summary>Forgets the last listing (a new one follows).</summary>
    public void ClearListing() => _listed.Clear();

    /// <summary>Takes in a listed mail's FLAGS and MODSEQ (one FETCH response: one moment).</summary>
    /// <returns><see langword="false"/> when another instance claimed it (and it is not adopted): it is not this instance's to list.</returns>
    public bool Observe(IMessageSummary summary)
    {
        if (!AdoptForeign && summary.Keywords.Any(IsForeignMarker))
        {
            return false;
        }
        _listed[summary.UniqueId.Id] = (summary.ModSeq ?? 0, summary.Keywords.FirstOrDefault(IsOwnMarker));
        return true;
    }

    /// <summary>The marker this session claimed the mail with, if it did.</summary>
    public string? ClaimOf(uint uid) => _claimed.GetValueOrDefault(uid);

    /// <summary>The marker this instance sets for a decision.</summary>
    public string Marker(string decisionId) => $"{MarkerPrefix}{instanceId}_{decisionId}";

    /// <summary>Whether <paramref name="keyword"/> is another instance's marker (markers from before instance ids count as this instance's).</summary>
    public bool IsForeignMarker(string keyword) =>
        keyword is not null && keyword.StartsWith(MarkerPrefix, StringComparison.Ordinal) && !IsOwnMarker(keyword);

    private bool IsOwnMarker(string keyword) =>
        keyword.StartsWith(MarkerPrefix, StringComparison.Ordinal)
        && (keyword.AsSpan(MarkerPrefix.Length).StartsWith("sm-", StringComparison.Ordinal)
            || (keyword.AsSpan(MarkerPrefix.Length).StartsWith(instanceId, StringComparison.Ordinal)
                && keyword.Length > MarkerPrefix.Length + instanceId.Length && keyword[MarkerPrefix.Length + instanceId.Length] == '_'));

    /// <summary>
    /// Claims a batch of mails for this instance before anything is delivered. A mail that carries this instance's marker
    /// already (a claim made before a crash) stays claimed by it; the others get one new marker per destination, recorded
    /// in the ledger (one transaction) before it is set. With CONDSTORE a mail that changed since its MODSEQ was read is read
    /// again: claimed by another instance (left to it), gone, or merely touched by a person (tried again).
    /// </summary>
    /// <returns>
    /// Per delivery, <see langword="null"/> when this instance holds the claim, else a <see cref="MailClaimedException"/>,
    /// a <see cref="MailGoneException"/> or (a mail that kept changing) an <see cref="IOException"/>.
    /// </returns>
    public async Task<IReadOnlyList<Exception?>> ClaimBatchAsync(IReadOnlyList<Delivery> deliveries, IStateStore store,
        CancellationToken cancellationToken)
    {
        var results = new Exception?[deliveries.Count];
        var wanted = new List<(int Index, UniqueId Uid, string Marker)>();
        foreach (var group in deliveries.Select((d, i) => (Delivery: d, Index: i)).GroupBy(x => x.Delivery.Destination, StringComparer.Ordinal))
        {
            var marker = Marker(group.First().Delivery.DecisionId);
            foreach (var (delivery, index) in group)
            {
                if (!session.IsCurrent(delivery.Key))
                {
                    results[index] = new MailGoneException($"Mail {delivery.Key.Uid} belongs to an older UIDVALIDITY.");
                    continue;
                }
                var uid = ImapSession.Uid(delivery.Key);
                if (_claimed.ContainsKey(uid.Id))
                {
                    continue;
                }
                var recorded = delivery.Marker;
                var fleetClaim = store.SharedByInstances && recorded is not null && IsForeignMarker(recorded);
                if (fleetClaim && !AdoptForeign)
                {
                    // Another instance sharing this ledger recorded this claim (and may have set it): it is continued under the
                    // same marker once this instance adopts claims, when any command that instance sent has surely been answered.
                    results[index] = new MailClaimedException($"Mail {uid.Id} is claimed by another instance sharing this ledger ({recorded}).");
                    continue;
                }
                // A resumed mail carries this instance's own earlier claim: keep it (it is recorded in the ledger already).
                // Without CONDSTORE the listing does not show it, but the ledger does (the delivery carries the marker of the
                // record its mail was prepared from): a mail a crash left claimed, retried in another group (the crash guard's
                // bisection), keeps its one marker instead of getting its group's.
                // In a shared ledger, another instance's recorded claim is the fleet's: continued under its marker, never a second one.
                var earlier = _listed.GetValueOrDefault(uid.Id).OwnMarker
                    ?? (recorded is not null && (IsOwnMarker(recorded) || fleetClaim) ? recorded : null);
                wanted.Add((index, uid, earlier ?? marker));
            }
        }
        if (wanted.Count == 0)
        {
            return results;
        }
        // Every marker is durable before any mail is tagged: one transaction for the whole batch.
        store.Ledger.Claim(wanted.Select(w => (deliveries[w.Index].Key, w.Marker)));
        var claimed = await ClaimAsync([.. wanted.Select(w => (w.Uid, w.Marker))], cancellationToken).ConfigureAwait(false);
        foreach (var (index, uid, _) in wanted)
        {
            results[index] = claimed[uid.Id];
        }
        // A mail found carrying another marker of this instance (claimed before a crash) keeps that one: record it.
        store.Ledger.Claim(wanted.Where(w => _claimed.TryGetValue(w.Uid.Id, out var m) && m != w.Marker)
            .Select(w => (deliveries[w.Index].Key, _claimed[w.Uid.Id])));
        return results;
    }

    // Sets each mail's marker. With CONDSTORE: only where the mail is unchanged since its MODSEQ was read: one STORE per
    // marker and MODSEQ, UNCHANGEDSINCE that MODSEQ. (Not the highest MODSEQ of the batch: a FETCH of many messages is not
    // one moment, so another session's claim of an early message can carry a lower MODSEQ than a later message read after
    // it — measured: two instances duplicated 13 of 200 mails that way.) The mails
    // the server reports modified are read again and sorted out; after three rounds a mail that keeps changing is left
    // for the next drain. Returns, per UID, null when claimed (and then in _claimed) or the reason it is not.
    public async Task<Dictionary<uint, Exception?>> ClaimAsync(IReadOnlyList<(UniqueId Uid, string Marker)> wanted,
        CancellationToken cancellationToken)
    {
        var inbox = session.Inbox;
        var results = new Dictionary<uint, Exception?>();
        if (!session.SupportsModSequences)
        {
            foreach (var group in wanted.GroupBy(w => w.Marker, StringComparer.Ordinal))
            {
                await inbox.AddFlagsAsync([.. group.Select(w => w.Uid)], MessageFlags.None, new HashSet<string> { group.Key }, true,
                    cancellationToken).ConfigureAwait(false);
                foreach (var (uid, marker) in group)
                {
                    (results[uid.Id], _claimed[uid.Id]) = (null, marker);
                }
            }
            return results;
        }
        var pending = wanted.ToList();
        var markers = wanted.ToDictionary(w => w.Uid.Id, w => w.Marker);
        for (var round = 0; pending.Count > 0; round++)
        {
            if (round == 3)
            {
                foreach (var (uid, _) in pending)
                {
                    results[uid.Id] = new IOException($"Mail {uid.Id} kept changing while it was claimed; left for the next drain.");
                }
                break;
            }
            // The state is read again right before the STORE (one FETCH for the batch): what the listing saw may be minutes old
            // and, with another session changing the folder during a long FETCH, not one consistent moment.
            await ReadClaimStateAsync([.. pending.Where(p => round == 0 || _listed.GetValueOrDefault(p.Uid.Id).ModSeq == 0).Select(p => p.Uid)],
                markers, results, cancellationToken).ConfigureAwait(false);
            var retry = new List<(UniqueId Uid, string Marker)>();
            var unsettled = pending.Where(p => !results.ContainsKey(p.Uid.Id)).ToList();
            foreach (var (uid, _) in unsettled.Where(p => _listed[p.Uid.Id].OwnMarker is not null))
            {
                // Claimed by this instance before (a crash, or the STORE answer was lost): that marker is the claim.
                (results[uid.Id], _claimed[uid.Id]) = (null, _listed[uid.Id].OwnMarker!);
            }
            foreach (var group in unsettled.Where(p => _listed[p.Uid.Id].OwnMarker is null)
                .GroupBy(p => (p.Marker, _listed[p.Uid.Id].ModSeq)))
            {
                var uids = group.Select(p => p.Uid).ToList();
                var request = new StoreFlagsRequest(StoreAction.Add, [group.Key.Marker])
                {
                    Silent = true,
                    UnchangedSince = group.Key.ModSeq,
                };
                var modified = (await inbox.StoreAsync(uids, request, cancellationToken).ConfigureAwait(false)).Select(u => u.Id).ToHashSet();
                foreach (var uid in uids)
                {
                    if (modified.Contains(uid.Id))
                    {
                        _listed.Remove(uid.Id); // read it again
                        retry.Add((uid, group.Key.Marker));
                    }
                    else
                    {
                        // Stored, or expunged meanwhile (a STORE skips those silently): the MOVE tells which.
                        (results[uid.Id], _claimed[uid.Id]) = (null, group.Key.Marker);
                        _listed[uid.Id] = (_listed[uid.Id].ModSeq, group.Key.Marker);
                    }
                }
            }
            pending = retry;
        }
        return results;
    }

    // Reads FLAGS and MODSEQ of mails whose state is not known (or changed): another instance's marker makes the mail
    // claimed, a missing mail is gone; the others get a fresh MODSEQ for the next conditional STORE. The marker a mail is
    // wanted with counts as this instance's (a fleet's claim continued from a shared ledger).
    private async Task ReadClaimStateAsync(IList<UniqueId> uids, Dictionary<uint, string> wanted, Dictionary<uint, Exception?> results,
        CancellationToken cancellationToken)
    {
        if (uids.Count == 0)
        {
            return;
        }
        var found = ImapSession.Requested(await session.Inbox.FetchAsync(uids, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.ModSeq,
            cancellationToken).ConfigureAwait(false), uids).ToDictionary(s => s.UniqueId.Id);
        foreach (var uid in uids)
        {
            if (!found.TryGetValue(uid.Id, out var summary))
            {
                results[uid.Id] = new MailGoneException($"Mail {uid.Id} left {session.Options.Folder} before it was claimed.");
            }
            else if (wanted.GetValueOrDefault(uid.Id) is var mine
                && !AdoptForeign && summary.Keywords.FirstOrDefault(k => IsForeignMarker(k) && k != mine) is { } foreign)
            {
                results[uid.Id] = new MailClaimedException($"Mail {uid.Id} is claimed by another SmartMail instance ({foreign}).");
            }
            else
            {
                _listed[uid.Id] = (summary.ModSeq ?? 0, summary.Keywords.FirstOrDefault(k => IsOwnMarker(k) || k == mine));
            }
        }
    }
}
