using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Telemetry;

namespace SmartMail.Worker.Tests.Telemetry;

/// <summary>The span API the processor calls, exported through the OpenTelemetry SDK to the in-memory exporter.</summary>
public sealed class SmartMailTelemetryTests : IDisposable
{
    private readonly List<Activity> _exported = [];
    private readonly TracerProvider _tracer;

    public SmartMailTelemetryTests() =>
        _tracer = Sdk.CreateTracerProviderBuilder().AddSource(SmartMailTelemetry.ActivitySourceName).AddInMemoryExporter(_exported).Build();

    public void Dispose() => _tracer.Dispose();

    // Spans of one trace only: other tests in this process may start SmartMail spans at the same time.
    private List<Activity> TraceOf(Activity root)
    {
        _tracer.ForceFlush();
        lock (_exported)
        {
            return [.. _exported.Where(a => a.TraceId == root.TraceId)];
        }
    }

    [Fact]
    public void StartMail_WithEveryStep_ExportsOneTraceWithTheMailSpanAsParent()
    {
        Activity root;
        using (var mail = SmartMailTelemetry.StartMail("post"))
        {
            root = mail!;
            foreach (var step in Enum.GetValues<MailStep>())
            {
                using var span = SmartMailTelemetry.StartStep(step, mail);
            }
            SmartMailTelemetry.SetOutcome(mail, ProcessOutcome.Routed);
        }

        var spans = TraceOf(root);

        Assert.Equal(6, spans.Count);
        var exportedMail = Assert.Single(spans, s => s.DisplayName == "smartmail.mail");
        Assert.Equal(ActivityKind.Consumer, exportedMail.Kind);
        Assert.Equal("post", exportedMail.GetTagItem("smartmail.mailbox"));
        Assert.Equal("routed", exportedMail.GetTagItem("smartmail.outcome"));
        Assert.Equal(ActivityStatusCode.Ok, exportedMail.Status);
        Assert.Equal(
            ["smartmail.acknowledge", "smartmail.decide", "smartmail.deliver", "smartmail.extract", "smartmail.fetch"],
            spans.Where(s => s != exportedMail).Select(s => s.DisplayName).Order(StringComparer.Ordinal));
        Assert.All(spans.Where(s => s != exportedMail), s => Assert.Equal(exportedMail.SpanId, s.ParentSpanId));
    }

    [Fact]
    public void StartStep_OnOtherThreads_WithTheMailSpan_IsItsChild()
    {
        using var mail = SmartMailTelemetry.StartMail("post");
        Activity.Current = null; // as in a Parallel.For worker, which does not see the caller's current span

        Parallel.For(0, 4, _ =>
        {
            using var span = SmartMailTelemetry.StartStep(MailStep.Extract, mail);
        });
        mail!.Stop();

        var steps = TraceOf(mail).Where(s => s.DisplayName == "smartmail.extract").ToList();
        Assert.Equal(4, steps.Count);
        Assert.All(steps, s => Assert.Equal(mail.SpanId, s.ParentSpanId));
    }

    [Fact]
    public void SetMailDecisionAndError_KeepIdsAndTypes_NeverNamesMessagesOrWholeFingerprints()
    {
        var fingerprint = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        Activity root;
        using (var mail = SmartMailTelemetry.StartMail("post"))
        {
            root = mail!;
            SmartMailTelemetry.SetMail(mail, "sm-0123456789abcdef01234567", fingerprint);
            SmartMailTelemetry.SetDecision(mail, "model", "Byggesag", "20261125-160324-e56deb06", 0.87654f);
            using var deliver = SmartMailTelemetry.StartStep(MailStep.Deliver, mail);
            SmartMailTelemetry.SetError(deliver, new IOException("550 mailbox borger@example.dk (CPR 010190-1234) refused, file borger 010190-1234.eml"));
            SmartMailTelemetry.SetOutcome(mail, ProcessOutcome.Quarantined);
        }

        var spans = TraceOf(root);
        var mailSpan = Assert.Single(spans, s => s.DisplayName == "smartmail.mail");
        var deliverSpan = Assert.Single(spans, s => s.DisplayName == "smartmail.deliver");

        Assert.Equal("sm-0123456789abcdef01234567", mailSpan.GetTagItem("smartmail.decision.id"));
        Assert.Equal("0123456789ab", mailSpan.GetTagItem("smartmail.fingerprint.prefix"));
        Assert.Equal("model", mailSpan.GetTagItem("smartmail.decision.source"));
        Assert.Equal("Byggesag", mailSpan.GetTagItem("smartmail.destination"));
        Assert.Equal("20261125-160324-e56deb06", mailSpan.GetTagItem("smartmail.model.version"));
        Assert.Equal(ActivityStatusCode.Error, mailSpan.Status);
        Assert.Equal("System.IO.IOException", deliverSpan.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, deliverSpan.Status);
        Assert.Equal("IOException", deliverSpan.StatusDescription);
        var everything = spans.SelectMany(s => s.TagObjects.Select(t => $"{t.Key}={t.Value}").Append(s.StatusDescription ?? "")
            .Concat(s.Events.Select(e => e.Name))).ToList();
        Assert.DoesNotContain(everything, t => t.Contains(fingerprint, StringComparison.Ordinal));
        Assert.DoesNotContain(everything, TelemetryRun.HasPersonalData);
        Assert.Empty(spans.SelectMany(s => s.Events)); // no exception event: its message and stack are not recorded
    }

    [Theory]
    [InlineData("borger 010190-1234.eml")]
    [InlineData("jens.hansen@kommune.dk")]
    [InlineData("sm-0123")]
    [InlineData("SM-0123456789ABCDEF01234567")]
    public void SetMail_ValueThatIsNoDecisionId_IsDropped(string value)
    {
        Activity root;
        using (var mail = SmartMailTelemetry.StartMail("post"))
        {
            root = mail!;
            SmartMailTelemetry.SetMail(mail, value, value);
        }

        var span = Assert.Single(TraceOf(root));

        Assert.Null(span.GetTagItem("smartmail.decision.id"));
        Assert.Null(span.GetTagItem("smartmail.fingerprint.prefix"));
    }

    [Fact]
    public void StartMail_MailboxWithPersonalData_IsRedactedInTheTag()
    {
        Activity root;
        using (var mail = SmartMailTelemetry.StartMail("jens.hansen@kommune.dk 010190-1234"))
        {
            root = mail!;
        }

        var tag = (string?)Assert.Single(TraceOf(root)).GetTagItem("smartmail.mailbox");

        Assert.NotNull(tag);
        Assert.False(TelemetryRun.HasPersonalData(tag), tag);
    }

    [Fact]
    public void StartMail_NotCurrent_ForABatch_SpansAreSiblingsEndedByFinish()
    {
        // The caller's span, e.g. a worker's drain, sampled (children of an unsampled parent are not recorded).
        using var drain = new Activity("drain") { ActivityTraceFlags = ActivityTraceFlags.Recorded }.Start();
        var mails = Enumerable.Range(0, 3).Select(_ => SmartMailTelemetry.StartMail("post", makeCurrent: false)).ToList();

        Assert.Same(drain, Activity.Current);
        Parallel.ForEach(mails, mail =>
        {
            using var step = SmartMailTelemetry.StartStep(MailStep.Decide, mail);
        });
        foreach (var mail in mails)
        {
            SmartMailTelemetry.Finish(mail, ProcessOutcome.Manual);
        }

        Assert.All(mails, m => Assert.Equal(drain.SpanId, m!.ParentSpanId));
        Assert.All(mails, m => Assert.True(m!.IsStopped));
        Assert.All(mails, m => Assert.Equal("manual", m!.GetTagItem("smartmail.outcome")));
        Assert.All(mails, m => Assert.Single(TraceOf(m!), s => s.DisplayName == "smartmail.decide" && s.ParentSpanId == m!.SpanId));
    }

    [Fact]
    public void CurrentMail_InsideAStep_IsTheMailSpan()
    {
        using var mail = SmartMailTelemetry.StartMail("post");
        using var step = SmartMailTelemetry.StartStep(MailStep.Fetch);

        Assert.Same(mail, SmartMailTelemetry.CurrentMail);
        Assert.Equal(mail!.SpanId, step!.ParentSpanId);
    }

    [Fact]
    public void StartStep_OutsideAMailSpan_IsNotRecorded()
    {
        Activity.Current = null;

        using var step = SmartMailTelemetry.StartStep(MailStep.Fetch);

        Assert.Null(step);
    }

    [Fact]
    public void Finish_Twice_KeepsTheFirstOutcome()
    {
        var mail = SmartMailTelemetry.StartMail("post", makeCurrent: false);

        SmartMailTelemetry.Finish(mail, ProcessOutcome.Routed);
        SmartMailTelemetry.Finish(mail, ProcessOutcome.Deferred);

        Assert.Equal("routed", Assert.Single(TraceOf(mail!)).GetTagItem("smartmail.outcome"));
    }
}
