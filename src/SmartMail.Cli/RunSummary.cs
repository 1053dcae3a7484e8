using System.Globalization;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;
using Spectre.Console;

namespace SmartMail.Cli;

/// <summary>What <c>smartmail run</c> says it watches and what it did, true for each configured source and sink.</summary>
internal static class RunSummary
{
    private static readonly HashSet<string> Decided = new(StringComparer.Ordinal) { "routed", "manual", "quarantined" };

    /// <summary>The sources: the IMAP mailboxes, or the drop-folder inbox when none is configured.</summary>
    public static IReadOnlyList<string> Sources(SmartMailOptions options) => options.Mailboxes.Count == 0
        ? [$"the drop folder {options.InboxPath}"]
        : [.. options.Mailboxes.Select(m => $"IMAP mailbox {m.Name} ({m.Username}@{m.Host}:{m.Port}, folder {m.Folder})")];

    /// <summary>The line printed when <c>--watch</c> starts.</summary>
    public static string WatchLine(SmartMailOptions options) =>
        $"Watching {string.Join("; ", Sources(options))}. {SinksLine(options)}";

    /// <summary>Where mail goes, as configured.</summary>
    public static string SinksLine(SmartMailOptions options)
    {
        var sinks = new List<string>();
        if (options.Mailboxes.Count == 0)
        {
            sinks.Add($"journal in {options.JournalPath}");
        }
        else
        {
            sinks.Add("folders of the mailbox the mail came from");
            if (options.Routes.Values.Any(r => r.Kind == RouteKind.Folder))
            {
                sinks.Add($"journal in {options.JournalPath} (Folder routes)");
            }
        }
        if (options.Routes.Values.Any(r => r.Kind == RouteKind.Smtp))
        {
            sinks.Add($"SMTP via {options.Smtp?.Host}");
        }
        if (options.Routes.Values.Any(r => r.Kind == RouteKind.Webhook))
        {
            sinks.Add("webhooks");
        }
        return $"Mail goes to: {string.Join(", ", sinks)}.";
    }

    /// <summary>How a destination is delivered: a folder of the IMAP mailbox, the journal, SMTP or a webhook.</summary>
    public static string DeliveredTo(SmartMailOptions options, string mailbox, string destination)
    {
        var route = options.Routes.FirstOrDefault(r => (r.Value.Destination ?? r.Key) == destination).Value;
        var imap = options.Mailboxes.Any(m => m.Name == mailbox);
        var folder = FolderJournalSink.SafeName(destination); // as the journal and the IMAP folders name it
        return route?.Kind switch
        {
            RouteKind.Smtp => $"SMTP to {route.Address}",
            RouteKind.Webhook => $"POST {route.Url}",
            RouteKind.Folder => $"journal {Path.Combine(options.JournalPath, folder)}",
            _ when imap => $"IMAP folder {folder} of {mailbox}",
            _ => $"journal {Path.Combine(options.JournalPath, folder)}",
        };
    }

    /// <summary>One row per (source, destination) decided in this run, from its audit rows.</summary>
    public static IReadOnlyList<(string Source, string Destination, string DeliveredTo, int Mails)> Destinations(SmartMailOptions options,
        IEnumerable<AuditEntry> auditThisRun) =>
        [.. auditThisRun.Where(a => Decided.Contains(a.Outcome))
            .GroupBy(a => (a.Mailbox, a.Destination))
            .OrderBy(g => g.Key.Mailbox, StringComparer.Ordinal).ThenBy(g => g.Key.Destination, StringComparer.Ordinal)
            .Select(g => (g.Key.Mailbox, g.Key.Destination, DeliveredTo(options, g.Key.Mailbox, g.Key.Destination),
                g.Select(a => a.DecisionId).Distinct(StringComparer.Ordinal).Count()))];

    /// <summary>Prints the table of this run's destinations, the counts and where the records are.</summary>
    public static void Print(SmartMailOptions options, IReadOnlyList<ProcessOutcome> outcomes, IEnumerable<AuditEntry> auditThisRun)
    {
        var table = new Table().AddColumns("source", "destination", "delivered to", "mails");
        foreach (var row in Destinations(options, auditThisRun))
        {
            table.AddRow(Markup.Escape(row.Source), Markup.Escape(row.Destination), Markup.Escape(row.DeliveredTo), row.Mails.ToString(CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);
        var counts = outcomes.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"This run: {outcomes.Count} mails — {counts.GetValueOrDefault(ProcessOutcome.Routed)} routed, {counts.GetValueOrDefault(ProcessOutcome.Manual)} to manual triage, {counts.GetValueOrDefault(ProcessOutcome.Quarantined)} quarantined, {counts.GetValueOrDefault(ProcessOutcome.Duplicate)} duplicates, {counts.GetValueOrDefault(ProcessOutcome.Deferred)} deferred.");
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Sources: {string.Join("; ", Sources(options))}. {SinksLine(options)}");
        var audit = options.AuditJsonLines
            ? $"{StateStores.SqlitePath(options.DataDirectory)} and {Path.Combine(options.DataDirectory, "audit.jsonl")}"
            : StateStores.SqlitePath(options.DataDirectory);
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"Audit trail: {audit}.");
    }
}
