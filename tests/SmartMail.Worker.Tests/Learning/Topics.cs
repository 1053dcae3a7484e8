namespace SmartMail.Worker.Tests.Learning;

/// <summary>Varied synthetic mails on a few topics (seeded: the same topic and number give the same mail).</summary>
internal static class Topics
{
    public const string Space = "space";
    public const string Cars = "cars";
    public const string Parking = "parking";

    private static readonly Dictionary<string, (string[] Subjects, string[] Sentences)> Pools = new(StringComparer.Ordinal)
    {
        [Space] = (
            ["Shuttle launch", "Question about the orbiter", "Satellite payload", "Mars mission", "Space station crew", "Rocket engines", "NASA budget", "Lunar lander"],
            ["When is the next shuttle launch to the space station?", "The orbiter is on the pad and the countdown has started.",
             "The satellite payload was moved to the launch complex.", "How much fuel does the rocket need to reach orbit?",
             "The crew of the station will do a spacewalk next week.", "NASA announced a new probe to Jupiter and its moons.",
             "The lander touched down near the crater on the moon.", "Telemetry from the spacecraft shows the solar panels are deployed.",
             "The astronauts trained for the docking manoeuvre.", "Orbital debris is a growing risk for satellites.",
             "The booster separated two minutes after liftoff.", "Mission control confirmed the burn was nominal."]),
        [Cars] = (
            ["Engine noise", "Oil change question", "Brakes squeal", "Buying a used sedan", "Transmission trouble", "Tire pressure", "V6 or V8", "Dealer service"],
            ["My car makes a ticking noise from the engine since the oil change.", "The mechanic says the valves and the timing belt are fine.",
             "The brakes squeal when I stop at a red light.", "Should I buy a used sedan with high mileage?", "The transmission slips in third gear.",
             "The dealer wants a lot of money for a new clutch.", "The tires wear unevenly on the front axle.", "Is a V8 worth the extra fuel cost?",
             "The check engine light came on after the highway drive.", "The radiator leaks coolant when the engine is hot.",
             "I replaced the spark plugs and the idle is smoother.", "The steering wheel shakes above sixty miles per hour."]),
        [Parking] = (
            ["Parkeringstilladelse", "Beboerlicens til bilen", "Parkeringsafgift", "Klage over parkeringsbøde", "P-skive og zoner", "Parkering ved skolen", "Ny nummerplade på licensen", "Handicapparkering"],
            ["Jeg vil gerne søge om en beboerlicens til parkering i min gade.", "Jeg har fået en parkeringsafgift, som jeg mener er forkert.",
             "Kan jeg få licensen overført til min nye nummerplade?", "Hvor mange timer må man holde i zonen med p-skive?",
             "Parkeringsvagten skrev en afgift selvom billetten lå i forruden.", "Vi mangler handicapparkering foran lægehuset.",
             "Hvad koster en parkeringstilladelse for et halvt år?", "Bilerne holder ulovligt på fortovet ved skolen hver morgen.",
             "Jeg klager hermed over bøden for parkering i området.", "Min licens udløber næste måned, hvordan fornyer jeg den?",
             "Må man parkere med trailer på vejen om natten?", "Kommunen bør lave flere p-pladser ved stationen."]),
    };

    private static readonly string[] Closings = ["Thanks", "Best regards", "Venlig hilsen", "Regards", "Mvh"];

    public static string Mail(string topic, int n)
    {
        var (subjects, sentences) = Pools[topic];
        var random = new Random(topic.Sum(c => c) * 100_003 + n);
        var body = string.Join(" ", Enumerable.Range(0, 3).Select(_ => sentences[random.Next(sentences.Length)]));
        return $"""
            From: person{n}@example.org
            Subject: {subjects[random.Next(subjects.Length)]} {n}
            Message-ID: <{topic}-{n}@example.org>
            Content-Type: text/plain; charset=utf-8

            {body}
            {Closings[random.Next(Closings.Length)]} ({n})
            """.Replace("\n", "\r\n", StringComparison.Ordinal);
    }

    public static byte[] Bytes(string topic, int n) => System.Text.Encoding.UTF8.GetBytes(Mail(topic, n));

    /// <summary>Writes a training folder (one sub-folder per topic) and returns its path.</summary>
    public static string WriteHistory(string directory, int perTopic, params string[] topics)
    {
        foreach (var topic in topics)
        {
            var dir = Directory.CreateDirectory(Path.Combine(directory, topic)).FullName;
            for (var i = 0; i < perTopic; i++)
            {
                File.WriteAllText(Path.Combine(dir, $"{i}.eml"), Mail(topic, 10_000 + i));
            }
        }
        return directory;
    }
}
