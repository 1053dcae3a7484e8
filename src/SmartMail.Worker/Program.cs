using Microsoft.Extensions.Hosting;
using SmartMail.Worker;
using SmartMail.Worker.State;

try
{
    await WorkerHost.CreateBuilder(args).Build().RunAsync();
    return Environment.ExitCode;
}
catch (DataDirectoryInUseException ex)
{
    Console.Error.WriteLine($"smartmail: {ex.Message}");
    return 1;
}
