using System.Security.Cryptography;
using System.Text;
using SmartMail.Core.Mime;

namespace SmartMail.Core.Tests.Mime;

public sealed class MailExtractorTests
{
    private const string Danish = "æøå ÆØÅ";

    private static MailDocument Extract(byte[] raw, ExtractionOptions? options = null) =>
        new MailExtractor(options).Extract(raw);

    private static MailDocument ExtractFixture(string name, ExtractionOptions? options = null) =>
        Extract(Eml.Load(name), options);

    [Fact]
    public void Extract_HtmlOnly_DropsScriptAndStyleAndDecodesEntities()
    {
        var doc = ExtractFixture("html-only.eml");

        Assert.True(doc.IsHtmlOnly);
        Assert.False(doc.IsMultipart);
        Assert.DoesNotContain("SCRIPT_MARKER", doc.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("SCRIPT2_MARKER", doc.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("STYLE_MARKER", doc.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("color: red", doc.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("TitleMustNotAppear", doc.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("<", doc.Body.Replace("<kommune>", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("Hej & goddag <kommune>", doc.Body, StringComparison.Ordinal);
        Assert.Contains("Blåbærgrød æøå \"citat\"", doc.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("&amp;", doc.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_MultipartAlternative_PrefersPlainText()
    {
        var doc = ExtractFixture("alternative.eml");

        Assert.True(doc.IsMultipart);
        Assert.False(doc.IsHtmlOnly);
        Assert.Equal("PLAIN_VERSION_TEXT", doc.Body);
        Assert.DoesNotContain("HTML_VERSION_TEXT", doc.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("charset-declared-latin1-utf8-bytes.eml")]
    [InlineData("charset-declared-utf8-latin1-bytes.eml")]
    [InlineData("charset-unknown-utf8-bytes.eml")]
    [InlineData("charset-unknown-latin1-bytes.eml")]
    public void Extract_LyingOrUnknownCharset_KeepsDanishLettersAndRecordsProblem(string fixture)
    {
        var doc = ExtractFixture(fixture);

        Assert.Equal("Danske bogstaver: " + Danish + " slut", doc.Body);
        Assert.NotEmpty(doc.Problems);
        Assert.DoesNotContain('\uFFFD', doc.Body);
    }

    [Fact]
    public void Extract_UnknownCharset_ProblemNamesTheCharset()
    {
        var doc = ExtractFixture("charset-unknown-utf8-bytes.eml");

        Assert.Contains(doc.Problems, p => p.Contains("x-unknown", StringComparison.Ordinal));
    }

    [Fact]
    public void Extract_Raw8BitLatin1Subject_DecodesDanishLetters()
    {
        var doc = ExtractFixture("raw-latin1-subject.eml");

        Assert.Equal("Spørgsmål om " + Danish, doc.Subject);
    }

    [Fact]
    public void Extract_OneExtractorManyMessages_SameAsAFreshExtractorEachTime()
    {
        // The extractor reuses a MIME parser and a decode buffer per thread: nothing may carry over between messages.
        var raws = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "eml")).Order(StringComparer.Ordinal)
            .Select(File.ReadAllBytes).Append(Eml.NestedMultipart(60, "DEEP")).Append([]).ToArray();
        var options = new ExtractionOptions { MaxMimeDepth = 10 };
        var shared = new MailExtractor(options);

        var twice = raws.Concat(raws).Select(r => Summary(shared.Extract(r))).ToArray();

        Assert.Equal(raws.Concat(raws).Select(r => Summary(new MailExtractor(options).Extract(r))), twice);
    }

    private static string Summary(MailDocument d) =>
        string.Join("|", d.Id, d.Subject, d.Body, d.Language, d.LimitsHit, d.IsUnparseable, string.Join(",", d.Problems), d.AttachmentCount);

    [Theory]
    [InlineData("encoded-subject-b.eml")]
    [InlineData("encoded-subject-q.eml")]
    public void Extract_EncodedWordSubject_DecodesDanishLetters(string fixture)
    {
        var doc = ExtractFixture(fixture);

        Assert.Equal("Hej " + Danish, doc.Subject);
    }

    [Fact]
    public void Extract_MissingMessageId_SynthesisesStableId()
    {
        var raw = Eml.Load("no-message-id.eml");
        var first = Extract(raw);
        var second = Extract([.. raw]);

        Assert.True(first.HasSyntheticId);
        Assert.EndsWith("@smartmail.invalid", first.Id, StringComparison.Ordinal);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(MailExtractor.SyntheticId(first.Fingerprint), first.Id);
    }

    [Fact]
    public void Extract_MissingMessageIdDifferentBytes_GivesDifferentIds()
    {
        var raw = Eml.Load("no-message-id.eml");
        var changed = raw.Concat("One more line.\n"u8.ToArray()).ToArray();

        var a = Extract(raw);
        var b = Extract(changed);

        Assert.True(b.HasSyntheticId);
        Assert.NotEqual(a.Id, b.Id);
        Assert.NotEqual(a.Fingerprint, b.Fingerprint);
    }

    [Fact]
    public void Extract_WithMessageId_UsesItAndIsNotSynthetic()
    {
        var doc = ExtractFixture("alternative.eml");

        Assert.False(doc.HasSyntheticId);
        Assert.Equal("alt-1@example.com", doc.Id);
    }

    [Fact]
    public void Extract_NestingDeeperThanMaxMimeDepth_SetsMimeDepthFlagWithoutThrowing()
    {
        var raw = Eml.NestedMultipart(60, "DEEP_INNER_TEXT");
        var options = new ExtractionOptions { MaxMimeDepth = 10 };

        var doc = Extract(raw, options);

        Assert.True(doc.LimitsHit.HasFlag(ExtractionLimits.MimeDepth), $"LimitsHit was {doc.LimitsHit}");
        Assert.True(doc.IsMultipart);
    }

    [Fact]
    public void Extract_NestingWithinMaxMimeDepth_ReadsInnerTextWithoutFlag()
    {
        var raw = Eml.NestedMultipart(5, "SHALLOW_INNER_TEXT");

        var doc = Extract(raw, new ExtractionOptions { MaxMimeDepth = 10 });

        Assert.Equal("SHALLOW_INNER_TEXT", doc.Body);
        Assert.False(doc.LimitsHit.HasFlag(ExtractionLimits.MimeDepth));
    }

    [Fact]
    public void Extract_MoreEntitiesThanMaxParts_SetsPartsFlag()
    {
        var doc = Extract(Eml.WithTextParts(20), new ExtractionOptions { MaxParts = 5 });

        Assert.True(doc.LimitsHit.HasFlag(ExtractionLimits.Parts));
        Assert.Contains("PART_0_TEXT", doc.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("PART_19_TEXT", doc.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_FewerEntitiesThanMaxParts_NoPartsFlag()
    {
        var doc = Extract(Eml.WithTextParts(3), new ExtractionOptions { MaxParts = 5 });

        Assert.Equal(ExtractionLimits.None, doc.LimitsHit);
        Assert.Contains("PART_2_TEXT", doc.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_BodyLongerThanMaxTextLength_TruncatesExactly()
    {
        var body = string.Concat(Enumerable.Repeat("ordet ", 200));
        var options = new ExtractionOptions { MaxTextLength = 256 };

        var doc = Extract(Eml.PlainText(body), options);

        Assert.Equal(256, doc.Body.Length);
        Assert.True(doc.LimitsHit.HasFlag(ExtractionLimits.TextLength));
        Assert.StartsWith("ordet ordet", doc.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_BodyShorterThanMaxTextLength_NoTextLengthFlag()
    {
        var doc = Extract(Eml.PlainText("short body"), new ExtractionOptions { MaxTextLength = 256 });

        Assert.Equal("short body", doc.Body);
        Assert.False(doc.LimitsHit.HasFlag(ExtractionLimits.TextLength));
    }

    [Fact]
    public void Extract_HtmlLargerThanMaxHtmlBytes_SetsHtmlSizeFlagAndKeepsStart()
    {
        var html = "<html><body><p>HTML_START</p>" + string.Concat(Enumerable.Repeat("<p>fyld</p>", 1000)) + "<p>HTML_END</p></body></html>";
        var raw = Encoding.UTF8.GetBytes("From: h@example.com\nSubject: big\nMessage-ID: <big@example.com>\nMIME-Version: 1.0\n"
                                         + "Content-Type: text/html; charset=utf-8\n\n" + html + "\n");

        var doc = Extract(raw, new ExtractionOptions { MaxHtmlBytes = 1024 });

        Assert.True(doc.LimitsHit.HasFlag(ExtractionLimits.HtmlSize));
        Assert.StartsWith("HTML_START", doc.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("HTML_END", doc.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_Attachments_AreDescribedNotLoaded()
    {
        var doc = ExtractFixture("attachments.eml");

        Assert.Equal(2, doc.AttachmentCount);
        Assert.Equal(2, doc.Attachments.Count);
        var pdf = doc.Attachments[0];
        Assert.Equal("ansoegning.pdf", pdf.FileName);
        Assert.Equal("application/pdf", pdf.MediaType);
        Assert.InRange(pdf.Size, 2800, 3200); // 3,000 decoded bytes, estimated from the base64 length
        var png = doc.Attachments[1];
        Assert.Equal("billede.png", png.FileName);
        Assert.Equal("image/png", png.MediaType); // declared "image/PNG": lower-cased
        Assert.InRange(png.Size, 950, 1100); // 1,024 decoded bytes

        // The body proper, then the attachments' names (the "PDF" here is no PDF, so it is skipped, not read).
        Assert.Equal("See the attached files.\n\n[bilag: ansoegning.pdf]\n\n[bilag: billede.png]", doc.Body);
        Assert.Equal("See the attached files.".Length, doc.AttachmentTextStart);
        Assert.Equal("not a PDF (no %PDF header)", Assert.Single(doc.AttachmentTexts).Skipped);
        Assert.DoesNotContain("ATTACHMENT_PAYLOAD_MARKER", doc.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("QVRUQUNITUVOVF9QQVlMT0FE", doc.Body, StringComparison.Ordinal); // base64 of the marker
        Assert.False(doc.IsHtmlOnly);
        Assert.True(doc.IsMultipart);
    }

    [Fact]
    public void Extract_MoreThanMaxAttachments_ListsMaxAndCountsAll()
    {
        var doc = Extract(Eml.WithAttachments(5), new ExtractionOptions { MaxAttachments = 2 });

        Assert.True(doc.LimitsHit.HasFlag(ExtractionLimits.Attachments));
        Assert.Equal(5, doc.AttachmentCount);
        Assert.Equal(2, doc.Attachments.Count);
        Assert.Equal("file0.bin", doc.Attachments[0].FileName);
        Assert.Equal("file1.bin", doc.Attachments[1].FileName);
    }

    [Fact]
    public void Extract_AttachmentsWithinMax_NoAttachmentsFlag()
    {
        var doc = Extract(Eml.WithAttachments(2), new ExtractionOptions { MaxAttachments = 2 });

        Assert.False(doc.LimitsHit.HasFlag(ExtractionLimits.Attachments));
        Assert.Equal(2, doc.Attachments.Count);
    }

    [Fact]
    public void Extract_ForwardedMessage_IncludesInnerBody()
    {
        var doc = ExtractFixture("forwarded.eml");

        Assert.Contains("OUTER_TEXT", doc.Body, StringComparison.Ordinal);
        Assert.Contains("INNER_FORWARDED_TEXT", doc.Body, StringComparison.Ordinal);
        Assert.Contains(doc.Attachments, a => a.MediaType == "message/rfc822");
        Assert.Equal("fwd-1@example.com", doc.Id);
    }

    [Fact]
    public void Extract_EmptyInput_DoesNotThrowAndFingerprintsEmptyBytes()
    {
        var doc = Extract([]);

        Assert.Equal(64, doc.Fingerprint.Length);
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", doc.Fingerprint);
        Assert.True(doc.HasSyntheticId);
        Assert.Equal(0, doc.Size);
        Assert.Equal(string.Empty, doc.Body);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Extract_GarbageBytes_DoesNotThrowAndHasFingerprint(int seed)
    {
        var raw = new byte[4096];
        new Random(seed).NextBytes(raw);
        raw[0] = 0;
        raw[100] = 0;
        raw[2000] = 0;

        var doc = Extract(raw);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(raw)), doc.Fingerprint);
        Assert.Equal(4096, doc.Size);
        Assert.DoesNotContain('\0', doc.Body);
        Assert.DoesNotContain('\0', doc.Subject);
    }

    [Fact]
    public void Extract_GarbageThatLooksLikeHeaders_DoesNotThrow()
    {
        var raw = "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--\0\0\0\nContent-Type: message/rfc822\n\n\u00ff\u00fe"u8.ToArray();

        var doc = Extract(raw);

        Assert.Equal(64, doc.Fingerprint.Length);
    }

    [Fact]
    public void Extract_MboxFromLine_StillParsesHeaders()
    {
        var doc = ExtractFixture("mbox-from-line.eml");

        Assert.False(doc.IsUnparseable);
        Assert.Equal("Mbox style", doc.Subject);
        Assert.Equal("mbox-1@example.com", doc.Id);
        Assert.Equal(["karen@example.com"], doc.From);
        Assert.Equal("Body after mbox From line.", doc.Body);
        Assert.NotNull(doc.Date);
    }

    [Fact]
    public void Extract_TrimQuotesDanishReply_RemovesAttributionAndQuote()
    {
        var doc = ExtractFixture("reply-danish.eml", new ExtractionOptions { TrimQuotes = true });

        Assert.Equal("Tak for svaret, jeg kommer på mandag.", doc.Body);
    }

    [Fact]
    public void Extract_TrimQuotesDanishReply_RemovesQuotedLines()
    {
        var doc = ExtractFixture("reply-danish.eml", new ExtractionOptions { TrimQuotes = true });

        Assert.StartsWith("Tak for svaret, jeg kommer på mandag.", doc.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("QUOTED_DANISH_MARKER", doc.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_TrimQuotesEnglishReply_RemovesQuotedLinesAndTail()
    {
        var doc = ExtractFixture("reply-english.eml", new ExtractionOptions { TrimQuotes = true });

        Assert.Equal("Thanks, that answers my question.\nKind regards, Mary", doc.Body);
    }

    [Fact]
    public void Extract_TrimQuotesOff_KeepsQuotes()
    {
        var doc = ExtractFixture("reply-english.eml");

        Assert.Contains("INLINE_QUOTE_MARKER", doc.Body, StringComparison.Ordinal);
        Assert.Contains("TAIL_ENGLISH_MARKER", doc.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("html-only.eml")]
    [InlineData("attachments.eml")]
    [InlineData("mbox-from-line.eml")]
    public void Extract_AnyMessage_FingerprintIsLowercaseHexSha256OfRawBytes(string fixture)
    {
        var raw = Eml.Load(fixture);

        var doc = Extract(raw);

        var expected = Convert.ToHexString(SHA256.HashData(raw)).ToLowerInvariant();
        Assert.Equal(expected, doc.Fingerprint);
        Assert.Equal(raw.Length, doc.Size);
    }

    [Fact]
    public async Task ExtractAsync_Stream_MatchesExtractOfBytes()
    {
        var raw = Eml.Load("forwarded.eml");
        using var stream = new MemoryStream(raw);

        var fromStream = await new MailExtractor().ExtractAsync(stream, TestContext.Current.CancellationToken);
        var fromBytes = Extract(raw);

        Assert.Equal(fromBytes.Fingerprint, fromStream.Fingerprint);
        Assert.Equal(fromBytes.Body, fromStream.Body);
    }

    [Fact]
    public void Extract_Addresses_AreLowerCasedAndSplit()
    {
        var raw = Encoding.UTF8.GetBytes(
            "From: \"A\" <Alice@Example.COM>\nTo: b@example.com, C <C@Example.com>\nCc: d@example.com\nSubject: x\nMessage-ID: <a@b>\n\nhi\n");

        var doc = Extract(raw);

        Assert.Equal(["alice@example.com"], doc.From);
        Assert.Equal(["b@example.com", "c@example.com", "d@example.com"], doc.Recipients);
    }

    [Fact]
    public void Constructor_OptionOutOfRange_Throws()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new MailExtractor(new ExtractionOptions { MaxMimeDepth = 0 }));

        Assert.Contains("MaxMimeDepth", ex.Message, StringComparison.Ordinal);
    }
}
