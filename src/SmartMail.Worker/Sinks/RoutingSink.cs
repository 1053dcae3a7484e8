using SmartMail.Worker.Options;

namespace SmartMail.Worker.Sinks;

/// <summary>
/// Delivers each mail by its destination's route: the default sink (the IMAP mailbox's folders, or the journal for the
/// drop-folder inbox), the journal folder, an SMTP forward or a webhook. Destinations without a route (manual triage,
/// quarantine, labels not in the table) use the default sink.
/// </summary>
public sealed class RoutingSink : IMailSink
{
    private readonly IMailSink _default;
    private readonly IMailSink _folder;
    private readonly Func<IMailSink>? _smtp;
    private readonly Func<IMailSink>? _webhook;
    private readonly Dictionary<string, RouteOptions> _byDestination;
    private IMailSink? _smtpSink;
    private IMailSink? _webhookSink;

    /// <summary>Creates the sink.</summary>
    /// <param name="options">The routing table and settings.</param>
    /// <param name="defaultSink">The sink for <c>Default</c> routes.</param>
    /// <param name="folder">The journal folder sink.</param>
    /// <param name="smtp">Makes the SMTP sink, if SMTP is configured.</param>
    /// <param name="webhook">Makes the webhook sink.</param>
    public RoutingSink(SmartMailOptions options, IMailSink defaultSink, IMailSink folder, Func<IMailSink>? smtp, Func<IMailSink>? webhook)
    {
        ArgumentNullException.ThrowIfNull(options);
        _default = defaultSink;
        _folder = folder;
        _smtp = smtp;
        _webhook = webhook;
        _byDestination = new Dictionary<string, RouteOptions>(StringComparer.Ordinal);
        foreach (var (label, route) in options.Routes)
        {
            _byDestination[route.Destination ?? label] = route;
        }
    }

    /// <inheritdoc />
    /// <remarks>Destinations without a route, and routes of kind <c>Default</c>, where the default sink delivers in batches.</remarks>
    public bool DeliversInBatches(string destination) => KindOf(destination) == RouteKind.Default && _default.DeliversInBatches(destination);

    /// <inheritdoc />
    public Task<IReadOnlyList<Exception?>> DeliverBatchAsync(IReadOnlyList<Delivery> deliveries, SmartMail.Worker.State.IStateStore store,
        CancellationToken cancellationToken) => _default.DeliverBatchAsync(deliveries, store, cancellationToken);

    /// <summary>The department address of an SMTP destination.</summary>
    /// <param name="destination">The destination.</param>
    /// <returns>The address, or <see langword="null"/>.</returns>
    public string? AddressOf(string destination) => _byDestination.GetValueOrDefault(destination)?.Address;

    /// <summary>The URL of a webhook destination.</summary>
    /// <param name="destination">The destination.</param>
    /// <returns>The URL, or <see langword="null"/>.</returns>
    public Uri? UrlOf(string destination) => _byDestination.GetValueOrDefault(destination)?.Url;

    /// <inheritdoc />
    public Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return SinkFor(delivery.Destination).DeliverAsync(delivery, cancellationToken);
    }

    /// <inheritdoc />
    public string PlaceOf(string destination) => KindOf(destination) switch
    {
        RouteKind.Folder => _folder.PlaceOf(destination),
        RouteKind.Smtp or RouteKind.Webhook => destination,
        _ => _default.PlaceOf(destination),
    };

    /// <inheritdoc />
    /// <remarks>
    /// Asked of the sink the destination routes to: the IMAP folder (by marker and fingerprint), the journal (by the decision's
    /// files). SMTP and webhook deliveries cannot be looked up: unknown (their re-delivery is idempotent on the decision id).
    /// No sink is made for the question.
    /// </remarks>
    public Task<bool?> IsDeliveredAsync(DeliveryCheck check, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(check);
        return KindOf(check.Destination) switch
        {
            RouteKind.Folder => _folder.IsDeliveredAsync(check, cancellationToken),
            RouteKind.Smtp or RouteKind.Webhook => Task.FromResult<bool?>(null),
            _ => _default.IsDeliveredAsync(check, cancellationToken),
        };
    }

    private IMailSink SinkFor(string destination) => KindOf(destination) switch
    {
        RouteKind.Folder => _folder,
        RouteKind.Smtp => _smtpSink ??= _smtp?.Invoke() ?? throw new IOException($"Destination '{destination}' forwards by SMTP, but no SMTP relay is configured."),
        RouteKind.Webhook => _webhookSink ??= _webhook?.Invoke() ?? throw new IOException($"Destination '{destination}' posts to a webhook, but none is configured."),
        _ => _default,
    };

    private RouteKind KindOf(string destination) => _byDestination.GetValueOrDefault(destination)?.Kind ?? RouteKind.Default;
}
