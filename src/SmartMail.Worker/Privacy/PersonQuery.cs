using SmartMail.Core.Privacy;

namespace SmartMail.Worker.Privacy;

/// <summary>Who a request is about: one of a CPR number, an e-mail address or a name.</summary>
public sealed record PersonQuery
{
    private PersonQuery(string kind, string value)
    {
        Kind = kind;
        Value = value;
    }

    /// <summary><c>cpr</c>, <c>address</c> or <c>name</c>.</summary>
    public string Kind { get; }

    /// <summary>What was asked for (personal data: never logged or printed; see <see cref="Describe"/>).</summary>
    public string Value { get; }

    /// <summary>A request by CPR number.</summary>
    /// <param name="cpr">The number, in any spelling the detector knows.</param>
    /// <returns>The query.</returns>
    /// <exception cref="ArgumentException">Not a CPR number (the message does not repeat it).</exception>
    public static PersonQuery ByCpr(string cpr)
    {
        ArgumentNullException.ThrowIfNull(cpr);
        return Cpr.TenDigits(cpr.Trim()) is { } digits
            ? new PersonQuery("cpr", digits)
            : throw new ArgumentException("--cpr: not a CPR number (DDMMYY-SSSS with a valid date, in any usual spelling).", nameof(cpr));
    }

    /// <summary>A request by e-mail address.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The query.</returns>
    /// <exception cref="ArgumentException">Not an address.</exception>
    public static PersonQuery ByAddress(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var trimmed = address.Trim().Trim('<', '>').ToLowerInvariant();
        return trimmed.IndexOf('@', StringComparison.Ordinal) is > 0 and var at && at < trimmed.Length - 1 && !trimmed.Contains(' ', StringComparison.Ordinal)
            ? new PersonQuery("address", trimmed)
            : throw new ArgumentException("--address: not an e-mail address (name@domain).", nameof(address));
    }

    /// <summary>A request by name: searched in the mail text kept and the journal (slower: no keyed hash).</summary>
    /// <param name="name">The name.</param>
    /// <returns>The query.</returns>
    /// <exception cref="ArgumentException">Shorter than three characters.</exception>
    public static PersonQuery ByName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var trimmed = string.Join(' ', name.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return trimmed.Length >= 3
            ? new PersonQuery("name", trimmed)
            : throw new ArgumentException("--name: give at least three characters.", nameof(name));
    }

    /// <summary>The keyed hash searched for (none for a name).</summary>
    /// <param name="hash">The installation's hasher.</param>
    /// <returns>The hash, or <see langword="null"/>.</returns>
    public string? Hash(KeyedHash hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        return Kind switch
        {
            "cpr" => hash.OfCpr(Value),
            "address" => hash.OfAddress(Value),
            _ => null,
        };
    }

    /// <summary>The request in words without the personal data: safe for the screen, logs and the audit trail.</summary>
    /// <param name="hash">The installation's hasher.</param>
    /// <returns>For example <c>CPR [CPR] (keyed hash 3fa2c1d0)</c>.</returns>
    public string Describe(KeyedHash hash) => Kind switch
    {
        "cpr" => $"CPR {Cpr.Placeholder} (keyed hash {Hash(hash)![..8]})",
        "address" => $"address {Redactor.MaskAddress(Value)} (keyed hash {Hash(hash)![..8]})",
        _ => $"name {Value[..1]}… ({Value.Length} characters)",
    };

    /// <inheritdoc />
    public override string ToString() => $"{Kind} query";
}
