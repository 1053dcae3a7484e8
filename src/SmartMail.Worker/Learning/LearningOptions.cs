using System.ComponentModel.DataAnnotations;

namespace SmartMail.Worker.Learning;

/// <summary>The learning loop's settings (section <c>SmartMail:Learning</c>).</summary>
public sealed class LearningOptions
{
    /// <summary>
    /// Whether the text of routed and manually triaged mail is kept (CPR numbers and addresses redacted) so that
    /// corrections and confirmed routes can train the next model. Off: corrections are still recorded, but only
    /// those found in IMAP folders carry text.
    /// </summary>
    public bool StoreExamples { get; set; } = true;

    /// <summary>How long stored example text is kept.</summary>
    /// <value>The default is 365 days.</value>
    [Range(1, 3650)]
    public int RetentionDays { get; set; } = 365;

    /// <summary>How long an automatic route must stand uncorrected before it counts as confirmed for training.</summary>
    /// <value>The default is 2 days.</value>
    [Range(typeof(TimeSpan), "00:00:00", "90.00:00:00")]
    public TimeSpan ConfirmAfter { get; set; } = TimeSpan.FromDays(2);

    /// <summary>Whether department folders of IMAP mailboxes are watched for caseworkers' corrections.</summary>
    public bool WatchCorrections { get; set; } = true;

    /// <summary>
    /// The folders watched for corrections (folder name = label). Empty: every top-level folder except the watched
    /// inbox, the processed folder, manual triage, quarantine and the special-use folders (Trash, Sent, Drafts, Junk...);
    /// on a server that marks none (Exchange Online) the standard folders by name, in English and Danish (Deleted Items,
    /// Junk Email, Sent Items, Drafts, Outbox, Archive, Slettet post, Uønsket mail, Sendt post, Kladder, Udbakke, Arkiv...).
    /// A department folder with such a name is watched only when listed here.
    /// </summary>
    public List<string> CorrectionFolders { get; set; } = [];

    /// <summary>How often the department folders are looked at for corrections.</summary>
    /// <value>The default is 1 minute.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan CorrectionScanInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The precision the automatic routes must reach; thresholds and the promotion metric use it.</summary>
    /// <value>The default is 0.95.</value>
    [Range(0.5, 0.999)]
    public double TargetPrecision { get; set; } = 0.95;

    /// <summary>The fewest new labeled mails a candidate and the current model are compared on before a promotion.</summary>
    /// <value>The default is 20.</value>
    [Range(1, 1_000_000)]
    public int MinComparisonExamples { get; set; } = 20;

    /// <summary>How often the worker retrains and promotes by itself; off when not set.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan? RetrainEvery { get; set; }

    /// <summary>The history a scheduled retrain adds to the stored examples: a folder with one sub-folder per label.</summary>
    public string? BaseTrainingData { get; set; }

    /// <summary>
    /// Whether thresholds are raised in service (without a retrain) when a label's automatic routes are corrected more
    /// often than <see cref="TargetPrecision"/> allows, and made manual-only when no threshold up to
    /// <see cref="ManualOnlyAbove"/> keeps it (<see cref="ThresholdTracker"/>). Off: realised precision is still counted, and
    /// the model's own thresholds apply.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool AdjustThresholds { get; set; } = true;

    /// <summary>
    /// γ of the threshold rule, in log-odds of the confidence: a corrected automatic route raises its label's tracked
    /// threshold by γ·TargetPrecision, an uncorrected one lowers it by γ·(1 − TargetPrecision), never below the model's own;
    /// the threshold in force follows in steps of γ. Larger reacts faster, smaller routes more.
    /// </summary>
    /// <value>The default is 0.5 (chosen on the 20 Newsgroups drift replay; docs/model.md).</value>
    [Range(0.05, 5.0)]
    public double ThresholdStep { get; set; } = 0.5;

    /// <summary>A label whose tracked threshold passes this confidence becomes manual-only for the model version.</summary>
    /// <value>The default is 0.999.</value>
    [Range(0.9, 0.99999)]
    public double ManualOnlyAbove { get; set; } = 0.999;
}
