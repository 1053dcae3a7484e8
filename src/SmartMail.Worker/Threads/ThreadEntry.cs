namespace SmartMail.Worker.Threads;

/// <summary>
/// One Message-ID to remember for its thread: a mail SmartMail routed (with its decision id) or a message seen in a
/// department folder. Holds the Message-ID only as a keyed hash.
/// </summary>
/// <param name="MessageHash">HMAC-SHA256 of the Message-ID under the store's thread key (see <see cref="ThreadMemory.Hash"/>).</param>
/// <param name="Mailbox">The mailbox.</param>
/// <param name="Label">The label its thread went to.</param>
/// <param name="Destination">Where SmartMail delivered it (routed mail).</param>
/// <param name="DecisionId">Its decision id (routed mail); <see langword="null"/> for a folder sighting.</param>
/// <param name="Fingerprint">Its fingerprint (routed mail).</param>
/// <param name="Folder">The folder it was seen in (folder sighting).</param>
/// <param name="Time">When.</param>
public sealed record ThreadEntry(string MessageHash, string Mailbox, string Label, string? Destination, string? DecisionId,
    string? Fingerprint, string? Folder, DateTimeOffset Time);
