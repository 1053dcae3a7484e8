namespace SmartMail.Web.Pages;

/// <summary><c>/labels</c>: realised precision per label against the target, threshold changes, the current model's curve.</summary>
public sealed class LabelsModel(IOversightQueries queries) : AppPage(queries)
{
    public IReadOnlyList<LabelPrecision> Labels { get; private set; } = [];

    public IReadOnlyList<ThresholdChange> Changes { get; private set; } = [];

    public IReadOnlyList<CurvePoint> Curve { get; private set; } = [];

    public void OnGet()
    {
        Labels = Queries.LabelPrecisions();
        Changes = Queries.ThresholdChanges(50);
        Curve = Queries.CurrentModelCurve();
    }
}
