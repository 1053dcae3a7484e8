using System.Security.Cryptography;
using System.Text;

namespace SmartMail.Core.Privacy;

/// <summary>
/// Keyed hashes (HMAC-SHA256 with a per-installation key) of the identifiers a person can be found by: CPR numbers
/// (every spelling <see cref="Cpr"/> knows gives the same hash), e-mail addresses, Message-IDs and mail fingerprints.
/// Stores keep these instead of the identifiers; without the key a hash cannot be tested against a guessed CPR number
/// (there are only a few million). Thread-safe.
/// </summary>
public sealed class KeyedHash
{
    /// <summary>The length of the key, in bytes.</summary>
    public const int KeyLength = 32;

    private readonly byte[] _key;

    /// <summary>Creates the hasher.</summary>
    /// <param name="key">The installation's key, <see cref="KeyLength"/> bytes.</param>
    /// <exception cref="ArgumentException">The key is not <see cref="KeyLength"/> bytes.</exception>
    public KeyedHash(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"A privacy key is {KeyLength} bytes, not {key.Length}.", nameof(key));
        }
        _key = [.. key];
    }

    /// <summary>The hash of a CPR number, the same for every spelling of it.</summary>
    /// <param name="cpr">A CPR number in any spelling <see cref="Cpr"/> recognises.</param>
    /// <returns>The hash (lower-case hex), or <see langword="null"/> when <paramref name="cpr"/> is not one CPR number.</returns>
    public string? OfCpr(string cpr) => Cpr.TenDigits(cpr) is { } digits ? Of("cpr", digits) : null;

    /// <summary>The hash of an e-mail address (case and surrounding spaces ignored).</summary>
    /// <param name="address">The address.</param>
    /// <returns>The hash (lower-case hex).</returns>
    public string OfAddress(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return Of("address", address.Trim().Trim('<', '>').ToLowerInvariant());
    }

    /// <summary>The hash of a Message-ID (angle brackets and surrounding spaces ignored).</summary>
    /// <param name="messageId">The Message-ID.</param>
    /// <returns>The hash (lower-case hex).</returns>
    public string OfMessageId(string messageId)
    {
        ArgumentNullException.ThrowIfNull(messageId);
        return Of("message-id", messageId.Trim().Trim('<', '>'));
    }

    /// <summary>The hash of a mail's fingerprint (what a model version records of each example it learned from).</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="fingerprint">The fingerprint.</param>
    /// <returns>The hash (lower-case hex).</returns>
    public string OfExample(string mailbox, string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        ArgumentNullException.ThrowIfNull(fingerprint);
        return Of("example", mailbox + "\n" + fingerprint.ToLowerInvariant());
    }

    /// <summary>The hashes of every CPR number in <paramref name="text"/>, each once.</summary>
    /// <param name="text">Any text.</param>
    /// <returns>The hashes.</returns>
    public IEnumerable<string> OfCprNumbersIn(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Cpr.FindAll(text).Select(m => OfCpr(text.Substring(m.Index, m.Length))).OfType<string>().Distinct(StringComparer.Ordinal);
    }

    // The kind is part of what is hashed, so a CPR number and an address (or two kinds of id) never share a hash.
    private string Of(string kind, string value) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(kind + ":" + value)));
}
