namespace SmartMail.Worker.Telemetry;

/// <summary>The steps of one mail, each a span under the mail's span.</summary>
public enum MailStep
{
    /// <summary>The mail's bytes are read from its source (<c>smartmail.fetch</c>).</summary>
    Fetch,
    /// <summary>Text and headers are extracted (<c>smartmail.extract</c>).</summary>
    Extract,
    /// <summary>Rules and the model decide, and the decision is recorded (<c>smartmail.decide</c>).</summary>
    Decide,
    /// <summary>The mail goes to its destination (<c>smartmail.deliver</c>).</summary>
    Deliver,
    /// <summary>The source lets go of it (<c>smartmail.acknowledge</c>).</summary>
    Acknowledge,
}
