using Microsoft.Extensions.Hosting;
using SmartMail.Worker;

await WorkerHost.CreateBuilder(args).Build().RunAsync();
