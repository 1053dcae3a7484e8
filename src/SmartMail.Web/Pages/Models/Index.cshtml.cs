namespace SmartMail.Web.Pages.Models;

/// <summary><c>/models</c> (administrators): versions, reports, promote and rollback.</summary>
public sealed class ModelsIndexModel(IOversightQueries queries) : AppPage(queries)
{
    public IReadOnlyList<ModelVersionInfo> Versions { get; private set; } = [];

    public IReadOnlyList<CurvePoint> Curve { get; private set; } = [];

    public void OnGet()
    {
        Versions = Queries.Models();
        Curve = Queries.CurrentModelCurve();
    }
}
