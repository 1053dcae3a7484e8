namespace SmartMail.Core;

/// <summary>
/// Every log event id SmartMail writes, in one place (as Npgsql's <c>NpgsqlEventId</c>), so that no id is used twice: IT
/// alerts on ids (2006 and 2111 are Critical lines), and an id that means two things alerts on the wrong one. Ranges: 20xx
/// mail flow, 21xx IMAP and sinks, 27xx web, 28xx web actions, 30xx learning. A test reflects over this class and over every
/// <c>[LoggerMessage]</c> of the worker and the web app: each id is named here once and used by one log line.
/// </summary>
public static class SmartMailEventId
{
    /// <summary>A mail was routed to a department.</summary>
    public const int Routed = 2001;

    /// <summary>A mail went to quarantine.</summary>
    public const int Quarantined = 2002;

    /// <summary>A mail was a duplicate of one delivered before.</summary>
    public const int Duplicate = 2003;

    /// <summary>A delivery failed and will be retried.</summary>
    public const int DeliveryFailed = 2004;

    /// <summary>A mail left its source before it was handled.</summary>
    public const int Gone = 2005;

    /// <summary>The state store cannot record (Critical: the worker stops taking mail).</summary>
    public const int StateStoreFailed = 2006;

    /// <summary>A model was loaded.</summary>
    public const int ModelLoaded = 2007;

    /// <summary>Polling a mailbox failed.</summary>
    public const int PollFailed = 2008;

    /// <summary>A mail went to manual triage.</summary>
    public const int ToManualTriage = 2009;

    /// <summary>Extraction was warmed up at start.</summary>
    public const int ExtractionWarmed = 2010;

    /// <summary>The extraction warm-up failed.</summary>
    public const int ExtractionWarmUpFailed = 2011;

    /// <summary>A new model bundle was refused; the current model stays (was 2009 too, beside <see cref="ToManualTriage"/>).</summary>
    public const int ModelSwapRefused = 2012;

    /// <summary>A broken invariant of the ledger (an illegal transition): the worker stops instead of reconnecting (Critical).</summary>
    public const int InvariantBroken = 2013;

    /// <summary>After a crash, the mails that were in flight are retried in smaller groups.</summary>
    public const int CrashSuspects = 2014;

    /// <summary>A mail is over <c>MaxMessageMegabytes</c> by its listed size and goes to quarantine unfetched.</summary>
    public const int TooLargeUnfetched = 2015;

    /// <summary>A symbolic link in the drop inbox was ignored.</summary>
    public const int SymlinkIgnored = 2016;

    /// <summary>Where a batch's time went, stage by stage (Debug).</summary>
    public const int BatchTimed = 2017;

    /// <summary>The text of decided mail was not kept for training.</summary>
    public const int ExamplesNotKept = 2030;

    /// <summary>A destination is unavailable; its mail waits in the source.</summary>
    public const int DeliveryDeferred = 2031;

    /// <summary>A mail is claimed by another instance.</summary>
    public const int Claimed = 2032;

    /// <summary>An IMAP mailbox connected.</summary>
    public const int ImapConnected = 2101;

    /// <summary>The IMAP server refused the credentials (Critical).</summary>
    public const int ImapAuthenticationFailed = 2102;

    /// <summary>The IMAP connection was lost; reconnecting.</summary>
    public const int ImapConnectionLost = 2103;

    /// <summary>IDLE on a folder.</summary>
    public const int ImapIdling = 2104;

    /// <summary>The folder's message count changed.</summary>
    public const int ImapCountChanged = 2105;

    /// <summary>A drain handled mails.</summary>
    public const int ImapDrained = 2106;

    /// <summary>The server offers no CONDSTORE.</summary>
    public const int ImapNoCondStore = 2107;

    /// <summary>Another instance holds the lease; standing by.</summary>
    public const int ImapStandingBy = 2108;

    /// <summary>No lease can be kept (Critical).</summary>
    public const int ImapLeaseUnavailable = 2109;

    /// <summary>A mailbox setting is invalid (Critical).</summary>
    public const int ImapConfigurationInvalid = 2110;

    /// <summary>The sign-in was refused (Critical; IT alerts on it).</summary>
    public const int ImapSignInRefused = 2111;

    /// <summary>The lease was lost.</summary>
    public const int LeaseLost = 2112;

    /// <summary>Renewing the lease failed.</summary>
    public const int LeaseRenewFailed = 2113;

    /// <summary>The lease was released.</summary>
    public const int LeaseReleased = 2114;

    /// <summary>This instance holds the lease (was 2111 too, beside <see cref="ImapSignInRefused"/>).</summary>
    public const int LeaseAcquired = 2115;

    /// <summary>The sign-in cannot be made now (the token authority is unreachable); retried.</summary>
    public const int ImapSignInNotNow = 2116;

    /// <summary>The SMTP relay refused the sign-in (Critical).</summary>
    public const int SmtpSignInRefused = 2121;

    /// <summary>The server is throttling.</summary>
    public const int ImapThrottled = 2122;

    /// <summary>Decisions were not counted for realised precision.</summary>
    public const int RoutesNotCounted = 2161;

    /// <summary>Decided mails were not indexed for privacy requests.</summary>
    public const int PrivacyNotIndexed = 2162;

    /// <summary>Mails whose erasure was asked before delivery were erased.</summary>
    public const int PendingErasuresDone = 2163;

    /// <summary>Pending erasures could not be completed.</summary>
    public const int PendingErasuresFailed = 2164;

    /// <summary>A background task (the web actions' recovery, the retention purge) found the state store unavailable; it tries again later, the worker goes on.</summary>
    public const int StateStoreRetrying = 2165;

    /// <summary>The web app listens.</summary>
    public const int WebListening = 2701;

    /// <summary>The web app listens; the sign-in link follows.</summary>
    public const int WebListeningWithLink = 2702;

    /// <summary>The sign-in link was printed.</summary>
    public const int WebListeningLinkPrinted = 2703;

    /// <summary>The web app cannot listen.</summary>
    public const int WebCannotListen = 2704;

    /// <summary>The web app has no backend.</summary>
    public const int WebNoBackend = 2705;

    /// <summary>An OpenID Connect sign-in failed.</summary>
    public const int WebSignInFailed = 2711;

    /// <summary>A web action finished (web app side).</summary>
    public const int WebActionDone = 2712;

    /// <summary>A web action was done.</summary>
    public const int ActionDone = 2801;

    /// <summary>A web action failed.</summary>
    public const int ActionFailed = 2802;

    /// <summary>A web action waits.</summary>
    public const int ActionWaits = 2803;

    /// <summary>The model changed by a web action.</summary>
    public const int ActionModelChanged = 2804;

    /// <summary>A web action was recovered after a crash.</summary>
    public const int ActionRecovered = 2805;

    /// <summary>A correction was seen.</summary>
    public const int CorrectionSeen = 3001;

    /// <summary>A department folder was reset.</summary>
    public const int CorrectionFolderReset = 3002;

    /// <summary>A correction scan failed.</summary>
    public const int CorrectionScanFailed = 3003;

    /// <summary>The model was retrained.</summary>
    public const int Retrained = 3004;

    /// <summary>Retraining failed.</summary>
    public const int RetrainFailed = 3005;
}
