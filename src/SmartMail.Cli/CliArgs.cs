using System.Globalization;

namespace SmartMail.Cli;

/// <summary>A small, strict argument parser: <c>--name value</c>, <c>--flag</c> and positional arguments.</summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    private CliArgs(List<string> positional) => Positional = positional;

    public IReadOnlyList<string> Positional { get; }

    /// <summary>Parses <paramref name="args"/>; <paramref name="flags"/> are the options that take no value.</summary>
    public static CliArgs Parse(IEnumerable<string> args, params string[] flags)
    {
        var positional = new List<string>();
        var result = new CliArgs(positional);
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var a = e.Current;
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
            {
                var name = a[2..];
                string? value = null;
                var eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    value = name[(eq + 1)..];
                    name = name[..eq];
                }
                else if (!flags.Contains(name))
                {
                    value = e.MoveNext() ? e.Current : throw new UsageException($"option --{name} needs a value");
                }
                result._options[name] = value;
            }
            else
            {
                positional.Add(a);
            }
        }
        return result;
    }

    public bool Flag(string name)
    {
        _used.Add(name);
        return _options.ContainsKey(name);
    }

    public string? Get(string name)
    {
        _used.Add(name);
        return _options.GetValueOrDefault(name);
    }

    public string Required(string name) => Get(name) ?? throw new UsageException($"option --{name} is required");

    public double Double(string name, double fallback, double min, double max) => Number(name, fallback, min, max, "a number");

    public int Int(string name, int fallback, int min, int max) => Number(name, fallback, min, max, "a whole number");

    private T Number<T>(string name, T fallback, T min, T max, string kind)
        where T : struct, System.Numerics.INumber<T>
    {
        var raw = Get(name);
        if (raw is null)
        {
            return fallback;
        }
        if (!T.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"--{name} must be {kind} from {min} to {max}, not '{raw}'"));
        }
        return v;
    }

    /// <summary>Fails on options the command did not ask for (typos must not pass silently).</summary>
    public void EnsureAllUsed()
    {
        var unknown = _options.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException($"unknown option --{unknown[0]}");
        }
    }
}

/// <summary>Wrong command-line usage: exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
