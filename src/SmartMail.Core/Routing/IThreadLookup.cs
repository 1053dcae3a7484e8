namespace SmartMail.Core.Routing;

/// <summary>
/// Finds what SmartMail knows about the thread a mail belongs to: the mail it replies to was routed by SmartMail, or was
/// seen in a department folder (a caseworker's answer filed there). Implemented by the worker over its state store.
/// </summary>
public interface IThreadLookup
{
    /// <summary>The remembered parent among <paramref name="messageIds"/>, tried in the order given.</summary>
    /// <param name="messageIds">Message-IDs the mail names (In-Reply-To first, then References, newest first).</param>
    /// <returns>The first one remembered, or <see langword="null"/> when the thread is unknown.</returns>
    ThreadParent? Find(IReadOnlyList<string> messageIds);
}

/// <summary>A remembered mail a new mail replies to.</summary>
/// <param name="Label">The label the thread went to.</param>
/// <param name="DecisionId">The parent's decision id when SmartMail routed it; <see langword="null"/> when it was seen in a folder.</param>
/// <param name="Folder">The department folder the parent was seen in, when it was seen in one.</param>
public sealed record ThreadParent(string Label, string? DecisionId, string? Folder);
