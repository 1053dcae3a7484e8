using System.Security.Cryptography;
using SmartMail.Core.Mime;

namespace SmartMail.Fuzz;

/// <summary>
/// What extraction promises for any input whatsoever: it never throws, the fingerprint is the SHA-256 of the exact bytes,
/// the document has an id, and every limit of <see cref="ExtractionOptions"/> holds. The fuzzer and the corpus replay in CI
/// (SmartMail.Core.Tests) run this same check.
/// </summary>
public static class ExtractionInvariants
{
    private static readonly MailExtractor Extractor = new();

    /// <summary>Extracts <paramref name="input"/> and checks every invariant.</summary>
    /// <param name="input">Any bytes.</param>
    /// <exception cref="InvalidOperationException">An invariant does not hold (the fuzzer reports it as a crash).</exception>
    public static void Check(ReadOnlyMemory<byte> input)
    {
        var options = Extractor.Options;
        var document = Extractor.Extract(input); // any exception escaping here is a finding
        Require(document.Fingerprint == Convert.ToHexStringLower(SHA256.HashData(input.Span)), "the fingerprint is not the SHA-256 of the input");
        Require(!string.IsNullOrEmpty(document.Id), "the document has no id");
        Require(document.Body.Length <= options.MaxTextLength, $"the body is {document.Body.Length} characters, more than MaxTextLength {options.MaxTextLength}");
        Require(document.Attachments.Count <= options.MaxAttachments, $"{document.Attachments.Count} attachments listed, more than MaxAttachments {options.MaxAttachments}");
        Require(document.Size == input.Length, $"the size is {document.Size}, not the input's {input.Length} bytes");
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Extraction invariant broken: " + what);
        }
    }
}
