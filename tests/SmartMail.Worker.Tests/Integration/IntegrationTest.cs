namespace SmartMail.Worker.Tests.Integration;

/// <summary>An integration test with the shipped model and a data directory of its own, deleted afterwards.</summary>
public abstract class IntegrationTest : IClassFixture<DefaultModelFixture>, IDisposable
{
    protected IntegrationTest(DefaultModelFixture model)
    {
        Model = model;
        Data = Directory.CreateTempSubdirectory("smartmail-it-");
    }

    protected DefaultModelFixture Model { get; }

    protected DirectoryInfo Data { get; }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Data.Delete(recursive: true);
        }
    }
}
