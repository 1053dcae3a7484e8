using System.Collections;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Tests;

/// <summary>
/// docs/samples/appsettings.full.json shows every setting: it binds with the real configuration binder (no key the code
/// does not know), passes the real validator, names every settable option (secrets excepted) and shows each tunable at
/// its default. A new or renamed option fails here until the sample shows it.
/// </summary>
public sealed class FullSampleConfigTests : IDisposable
{
    // Secrets never go into appsettings.json: they come from PasswordFile (systemd credentials) or the environment.
    private static readonly HashSet<string> Secrets = ["ImapMailboxOptions.Password", "SmtpForwardOptions.Password", "WebhookOptions.Secret", "OAuth2Options.ClientSecret", "WebOidcOptions.ClientSecret", "StateOptions.ConnectionString"];

    // Values a municipality must choose (where, who, which server): the sample shows a realistic value, not the default.
    private static readonly HashSet<string> SiteSpecific =
    [
        "SmartMailOptions.DataDirectory", "SmartMailOptions.ModelPath", "SmartMailOptions.Inbox", "SmartMailOptions.Journal",
        "SmartMailOptions.HealthUrl",
        "ImapMailboxOptions.Name", "ImapMailboxOptions.Host", "ImapMailboxOptions.Username", "ImapMailboxOptions.PasswordFile",
        "ImapMailboxOptions.CaCertificateFile", "ImapMailboxOptions.Authentication", "ImapMailboxOptions.Port", "ImapMailboxOptions.OAuth2",
        "SmtpForwardOptions.Host", "SmtpForwardOptions.Username", "SmtpForwardOptions.From", "SmtpForwardOptions.CaCertificateFile",
        "LearningOptions.CorrectionFolders", "LearningOptions.RetrainEvery", "LearningOptions.BaseTrainingData",
    ];

    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("smartmail-sample-");

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SmartMail.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("SmartMail.sln not found above the test binaries.");
    }

    private static string SamplePath => Path.Combine(RepositoryRoot(), "docs", "samples", "appsettings.full.json");

    private static JsonElement SampleSection()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(SamplePath));
        return document.RootElement.GetProperty(SmartMailOptions.SectionName).Clone();
    }

    /// <summary>The sample bound as the host binds it, with the files it names replaced by ones that exist here.</summary>
    private SmartMailOptions Bind()
    {
        var password = Path.Combine(_temp.FullName, "post-password");
        File.WriteAllText(password, "secret\n");
        var ca = Path.Combine(_temp.FullName, "ca.pem");
        File.WriteAllText(ca, "");
        var model = Path.Combine(_temp.FullName, "model.zip");
        File.WriteAllText(model, "");
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(SamplePath, optional: false, reloadOnChange: false)
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["SmartMail:ModelPath"] = model,
                ["SmartMail:DataDirectory"] = _temp.FullName,
                ["SmartMail:Mailboxes:0:PasswordFile"] = password,
                ["SmartMail:Mailboxes:0:CaCertificateFile"] = ca,
                ["SmartMail:Smtp:CaCertificateFile"] = ca,
                ["SmartMail:Mailboxes:1:OAuth2:CertificateFile"] = password,
                ["SmartMail:Mailboxes:1:OAuth2:CertificatePasswordFile"] = password,
                ["SmartMail:Learning:BaseTrainingData"] = _temp.FullName,
                ["SmartMail:Web:Oidc:ClientSecretFile"] = password,
            })
            .Build();
        var options = new SmartMailOptions();
        configuration.GetSection(SmartMailOptions.SectionName).Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        return options;
    }

    [Fact]
    public void Bind_FullSample_HasNoUnknownKeyAndPassesTheValidator()
    {
        var options = Bind();

        var result = new SmartMailOptionsValidator().Validate(null, options);

        Assert.True(result.Succeeded, string.Join(Environment.NewLine, result.Failures ?? []));
        Assert.Equal(["Password", "OAuth2"], options.Mailboxes.Select(m => m.Authentication));
        Assert.Equal([RouteKind.Default, RouteKind.Folder, RouteKind.Smtp, RouteKind.Webhook], options.Routes.Values.Select(r => r.Kind).Order());
        Assert.NotNull(options.Smtp);
    }

    [Fact]
    public void FullSample_NamesEverySettableOption()
    {
        var missing = new List<string>();

        Walk(typeof(SmartMailOptions), [SampleSection()], SmartMailOptions.SectionName, missing);

        Assert.True(missing.Count == 0, "docs/samples/appsettings.full.json lacks: " + string.Join(", ", missing));
    }

    [Fact]
    public void FullSample_ShowsEachTunableAtItsDefault()
    {
        var options = Bind();
        var differences = new List<string>();

        Compare(new SmartMailOptions(), options, differences);
        foreach (var mailbox in options.Mailboxes)
        {
            Compare(new Imap.ImapMailboxOptions(), mailbox, differences);
        }
        Compare(new SmartMail.Worker.Sinks.SmtpForwardOptions(), options.Smtp!, differences); // bound above: the sample has an Smtp section
        Compare(new SmartMail.Worker.Sinks.WebhookOptions(), options.Webhook, differences);
        Compare(new SmartMail.Worker.Learning.LearningOptions(), options.Learning, differences);
        Compare(new SmartMail.Core.Mime.ExtractionOptions(), options.Extraction, differences);

        Assert.True(differences.Count == 0, "Shown differently from the code's default: " + string.Join(", ", differences));
    }

    public void Dispose() => _temp.Delete(recursive: true);

    private static bool IsScalar(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan) || t == typeof(Uri);
    }

    private static IEnumerable<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic);

    // Each settable property of type must appear in at least one of the JSON objects (one object for a section, each
    // element of an array or each value of a map for a list or dictionary of options).
    private static void Walk(Type type, IReadOnlyList<JsonElement> objects, string path, List<string> missing)
    {
        foreach (var property in Settable(type))
        {
            if (Secrets.Contains($"{type.Name}.{property.Name}"))
            {
                continue;
            }
            var present = objects.Where(o => o.ValueKind == JsonValueKind.Object && o.TryGetProperty(property.Name, out _))
                .Select(o => o.GetProperty(property.Name)).ToList();
            if (present.Count == 0)
            {
                missing.Add($"{path}:{property.Name}");
                continue;
            }
            var propertyType = property.PropertyType;
            if (IsScalar(propertyType))
            {
                continue;
            }
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            {
                var valueType = propertyType.GetGenericArguments()[1];
                if (!IsScalar(valueType))
                {
                    Walk(valueType, [.. present.SelectMany(p => p.EnumerateObject().Select(e => e.Value))], $"{path}:{property.Name}:*", missing);
                }
            }
            else if (propertyType.IsGenericType && typeof(IEnumerable).IsAssignableFrom(propertyType))
            {
                var elementType = propertyType.GetGenericArguments()[0];
                var elements = present.Where(p => p.ValueKind == JsonValueKind.Array).SelectMany(p => p.EnumerateArray()).ToList();
                if (elements.Count == 0)
                {
                    missing.Add($"{path}:{property.Name} (an example entry)");
                }
                else if (!IsScalar(elementType))
                {
                    Walk(elementType, elements, $"{path}:{property.Name}:*", missing);
                }
            }
            else
            {
                Walk(propertyType, present, $"{path}:{property.Name}", missing);
            }
        }
    }

    private static void Compare(object defaults, object bound, List<string> differences)
    {
        var type = defaults.GetType();
        foreach (var property in Settable(type).Where(p => IsScalar(p.PropertyType)))
        {
            var name = $"{type.Name}.{property.Name}";
            if (Secrets.Contains(name) || SiteSpecific.Contains(name))
            {
                continue;
            }
            if (!Equals(property.GetValue(defaults), property.GetValue(bound)))
            {
                differences.Add($"{name} (default {property.GetValue(defaults)}, sample {property.GetValue(bound)})");
            }
        }
    }
}
