namespace SmartMail.Web.Pages;

/// <summary><c>/</c>: per mailbox, health, backlog, lease, volumes, automation, latency, deliveries waiting.</summary>
public sealed class IndexModel(IOversightQueries queries, TimeProvider time) : AppPage(queries)
{
    public IReadOnlyList<MailboxStatus> Statuses { get; private set; } = [];

    public DateTimeOffset Since { get; private set; }

    public void OnGet()
    {
        var now = time.GetUtcNow();
        Since = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(-23);
        Statuses = [.. Mailboxes.Select(m => Queries.GetStatus(m, Since))];
    }
}
