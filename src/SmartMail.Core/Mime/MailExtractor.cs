using System.Security.Cryptography;
using System.Text;
using MimeKit;
using SmartMail.Core.Attachments;
using SmartMail.Core.Text;

namespace SmartMail.Core.Mime;

/// <summary>
/// Builds a <see cref="MailDocument"/> from raw message bytes, however broken. Extraction never throws for
/// bad input: limits truncate and are recorded in <see cref="MailDocument.LimitsHit"/>, repairs are noted in
/// <see cref="MailDocument.Problems"/>, and a message MimeKit cannot parse at all is returned with
/// <see cref="MailDocument.IsUnparseable"/> set and its raw text as body. Thread-safe.
/// </summary>
public sealed class MailExtractor
{
    // MimeMessage.Load makes a new parser (and its buffers) per message; one per thread is reset instead
    // (a parser's options are fixed when it is made, so it serves the extractor whose options it has).
    [ThreadStatic]
    private static MimeParser? t_parser;

    [ThreadStatic]
    private static ParserOptions? t_parserOptions;

    private readonly ExtractionOptions _options;
    private readonly ParserOptions _parserOptions;
    private readonly TimeProvider _time;

    /// <summary>Creates an extractor.</summary>
    /// <param name="options">Limits and switches; <see langword="null"/> for the defaults.</param>
    /// <param name="timeProvider">The clock for the per-attachment time budget; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public MailExtractor(ExtractionOptions? options = null, TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _options = options ?? new ExtractionOptions();
        _options.Validate();
        _parserOptions = ParserOptions.Default.Clone();
        _parserOptions.MaxMimeDepth = _options.MaxMimeDepth;
        _parserOptions.CharsetEncoding = CharsetDecoder.Windows1252;
    }

    /// <summary>The options in force.</summary>
    public ExtractionOptions Options => _options;

    /// <summary>
    /// Reads a one-page PDF made in memory through the same path as a mail's attachment, so the PDF reader's code is
    /// compiled before the first real attachment: under load, the first PDF after a start could otherwise spend its
    /// time budget (<see cref="ExtractionOptions.AttachmentTimeBudgetMs"/>) on compilation and be skipped.
    /// </summary>
    /// <returns>Whether the PDF's text was read (<see langword="false"/> also when reading attachments is off).</returns>
    public bool WarmUp()
    {
        var builder = new UglyToad.PdfPig.Writer.PdfDocumentBuilder();
        var font = builder.AddStandard14Font(UglyToad.PdfPig.Fonts.Standard14Fonts.Standard14Font.Helvetica);
        builder.AddPage(595, 842).AddText("SmartMail warm-up", 12, new UglyToad.PdfPig.Core.PdfPoint(40, 800), font);
        var pdf = new MimePart("application", "pdf")
        {
            Content = new MimeContent(new MemoryStream(builder.Build())),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = "warm-up.pdf",
        };
        var message = new MimeMessage { Subject = "warm-up", Body = new Multipart("mixed") { new TextPart("plain") { Text = "warm-up" }, pdf } };
        return Extract(message).AttachmentTexts is [{ IsRead: true }, ..];
    }

    /// <summary>Extracts a document from raw RFC 822 bytes.</summary>
    /// <param name="raw">The message exactly as received.</param>
    /// <returns>The document; never <see langword="null"/>.</returns>
    public MailDocument Extract(ReadOnlyMemory<byte> raw)
    {
        var fingerprint = Fingerprint(raw.Span);
        using var stream = new ReadOnlyMemoryStream(raw);
        try
        {
            MimeMessage message;
            try
            {
                // Persistent: each part's content is a window on the raw bytes (MimeKit's BoundStream), not a copy of them: a mail of
                // N bytes costs N (the caller's array) plus what is decoded, which the limits bound, instead of about 2N.
                if (t_parser is null || t_parserOptions != _parserOptions)
                {
                    t_parser = new MimeParser(_parserOptions, stream, MimeFormat.Entity, persistent: true);
                    t_parserOptions = _parserOptions;
                }
                else
                {
                    t_parser.SetStream(stream, MimeFormat.Entity, persistent: true);
                }
                message = t_parser.ParseMessage();
            }
            catch (Exception ex) when (ex is FormatException or ParseException or ArgumentException or InvalidOperationException
                                       or IndexOutOfRangeException or NotSupportedException or OverflowException)
            {
                // MimeKit's parser history shows index errors on hostile headers; none of them may escape.
                return Unparseable(raw.Span, fingerprint, ex);
            }
            return FromMessage(message, fingerprint, raw.Length);
        }
        finally
        {
            // The thread's parser outlives the call: let go of this mail's bytes, or every thread that ever extracted keeps its last
            // mail alive (measured: a worker under a 384 MB heap limit ran out of memory on 18 MB mails that way).
            t_parser?.SetStream(Stream.Null, MimeFormat.Entity, persistent: false);
        }
    }

    /// <summary>Extracts a document from a parsed message. The fingerprint is computed over its serialised form.</summary>
    /// <param name="message">The message.</param>
    /// <returns>The document.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is <see langword="null"/>.</exception>
    public MailDocument Extract(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        return FromMessage(message, Fingerprint(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)), buffer.Length);
    }

    /// <summary>Reads <paramref name="stream"/> to the end and extracts a document from it.</summary>
    /// <param name="stream">The raw message.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The document.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The stream could not be read.</exception>
    /// <exception cref="OperationCanceledException">The read was cancelled.</exception>
    public async Task<MailDocument> ExtractAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Extract(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    /// <summary>Lower-case hex SHA-256 of <paramref name="raw"/>.</summary>
    /// <param name="raw">The raw bytes.</param>
    /// <returns>64 hex characters.</returns>
    public static string Fingerprint(ReadOnlySpan<byte> raw) => Convert.ToHexStringLower(SHA256.HashData(raw));

    /// <summary>The synthetic id used for a message without a Message-ID.</summary>
    /// <param name="fingerprint">The message fingerprint.</param>
    /// <returns>An id in Message-ID form under the reserved <c>.invalid</c> domain.</returns>
    public static string SyntheticId(string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        return $"sha256-{fingerprint[..Math.Min(32, fingerprint.Length)]}@smartmail.invalid";
    }

    private MailDocument FromMessage(MimeMessage message, string fingerprint, long size)
    {
        var walk = new BodyWalk(_options);
        walk.Visit(message.Body);

        var body = walk.BodyText();
        if (_options.TrimQuotes)
        {
            body = QuoteTrimmer.Trim(body);
        }
        var limits = walk.Limits;
        if (body.Length > _options.MaxTextLength)
        {
            body = body[.._options.MaxTextLength];
            limits |= ExtractionLimits.TextLength;
        }

        var subject = SafeHeader(message, static m => m.Subject) ?? string.Empty;
        subject = TextNormalizer.TidyLines(subject).Replace('\n', ' ');
        var language = LanguageGuesser.Guess(subject, body);
        int? attachmentTextStart = null;
        IReadOnlyList<AttachmentText> attachmentTexts = [];
        if (walk.AttachmentParts.Count > 0)
        {
            var bodyLength = body.Length;
            (body, attachmentTexts) = AppendAttachments(body, walk.AttachmentParts, ref limits);
            attachmentTextStart = body.Length > bodyLength ? bodyLength : null;
        }
        var messageId = SafeHeader(message, static m => m.MessageId);
        var hasId = !string.IsNullOrWhiteSpace(messageId);

        return new MailDocument
        {
            Id = hasId ? messageId! : SyntheticId(fingerprint),
            HasSyntheticId = !hasId,
            Fingerprint = fingerprint,
            InReplyTo = SafeHeader(message, static m => m.InReplyTo),
            References = SafeHeader(message, static m => m.References?.ToArray()) ?? [],
            From = Addresses(message.From),
            Recipients = [.. Addresses(message.To), .. Addresses(message.Cc)],
            Date = message.Headers.Contains(HeaderId.Date) ? message.Date : null,
            Subject = subject,
            Body = body,
            Attachments = walk.Attachments,
            AttachmentCount = walk.AttachmentCount,
            IsHtmlOnly = walk.IsHtmlOnly,
            IsMultipart = message.Body is Multipart,
            AttachmentTexts = attachmentTexts,
            AttachmentTextStart = attachmentTextStart,
            Language = language,
            Size = size,
            LimitsHit = limits,
            Problems = walk.Problems,
        };
    }

    // The body, then per attachment "[bilag: name]" and its text: file names and attachment text reach the model, the
    // rules and the stored examples the same way as body text. A mail without attachments keeps its body unchanged.
    private (string Body, IReadOnlyList<AttachmentText> Texts) AppendAttachments(
        string body, List<(MimePart Part, string? FileName)> parts, ref ExtractionLimits limits)
    {
        var reader = new AttachmentReader(_options, _time);
        var texts = new List<AttachmentText>();
        var sb = new StringBuilder(body);
        // Attachment text shares MaxTextLength with the body (the body first), and has its own per-mail bound.
        var room = Math.Min(_options.MaxAttachmentTextPerMail, _options.MaxTextLength - body.Length);
        foreach (var (part, fileName) in parts)
        {
            var kind = AttachmentReader.KindOf(part.ContentType.MimeType.ToLowerInvariant(), fileName);
            var read = kind is null ? null : reader.Read(part, kind.Value, fileName);
            if (read is not null)
            {
                texts.Add(read);
            }
            var name = string.IsNullOrWhiteSpace(fileName) ? null : TextNormalizer.TidyLines(fileName.Replace('_', ' ')).Replace('\n', ' ');
            if (name is null && string.IsNullOrEmpty(read?.Text))
            {
                continue;
            }
            if (room <= 0)
            {
                limits |= ExtractionLimits.AttachmentText;
                continue;
            }
            var section = new StringBuilder();
            section.Append(sb.Length > 0 ? "\n\n" : string.Empty).Append("[bilag: ").Append(name ?? "uden navn").Append(']');
            if (!string.IsNullOrEmpty(read?.Text))
            {
                section.Append('\n').Append(read.Text);
            }
            if (section.Length > room)
            {
                section.Length = room;
                limits |= ExtractionLimits.AttachmentText;
            }
            room -= section.Length;
            sb.Append(section);
        }
        return (sb.ToString(), texts);
    }

    private static string[] Addresses(InternetAddressList list)
    {
        var result = new List<string>(list.Count);
        foreach (var mailbox in list.Mailboxes)
        {
            if (!string.IsNullOrEmpty(mailbox.Address))
            {
                result.Add(mailbox.Address.ToLowerInvariant());
            }
        }
        return [.. result];
    }

    private static T? SafeHeader<T>(MimeMessage message, Func<MimeMessage, T?> read)
    {
        try
        {
            return read(message);
        }
        catch (Exception ex) when (ex is FormatException or ParseException or ArgumentException or IndexOutOfRangeException)
        {
            return default;
        }
    }

    private MailDocument Unparseable(ReadOnlySpan<byte> raw, string fingerprint, Exception error)
    {
        var length = Math.Min(raw.Length, _options.MaxTextLength * 4);
        var text = TextNormalizer.TidyLines(CharsetDecoder.Decode(raw[..length], null, out _));
        var limits = ExtractionLimits.None;
        if (text.Length > _options.MaxTextLength)
        {
            text = text[.._options.MaxTextLength];
            limits |= ExtractionLimits.TextLength;
        }
        return new MailDocument
        {
            Id = SyntheticId(fingerprint),
            HasSyntheticId = true,
            Fingerprint = fingerprint,
            Body = text,
            Size = raw.Length,
            IsUnparseable = true,
            LimitsHit = limits,
            Problems = [$"not parseable as MIME: {error.GetType().Name}"],
        };
    }

    /// <summary>Walks the MIME tree iteratively, collecting body text and describing attachments.</summary>
    private sealed class BodyWalk(ExtractionOptions options)
    {
        private const int MaxKeptBuffer = 1 << 20;

        // Decoded text parts, reused by the thread's next part.
        [ThreadStatic]
        private static PrefixStream? t_decoded;

        private readonly List<string> _plain = [];
        private readonly List<string> _html = [];
        private readonly List<AttachmentInfo> _attachments = [];
        private readonly List<(MimePart Part, string? FileName)> _attachmentParts = [];
        private readonly List<string> _problems = [];
        private int _parts;

        public ExtractionLimits Limits { get; private set; }

        public IReadOnlyList<AttachmentInfo> Attachments => _attachments;

        // The listed attachment parts whose names (and, for PDF/DOCX/ODT, text) go into the body; empty when not reading.
        public List<(MimePart Part, string? FileName)> AttachmentParts => _attachmentParts;

        public int AttachmentCount { get; private set; }

        public IReadOnlyList<string> Problems => _problems;

        public bool IsHtmlOnly => _plain.Count == 0 && _html.Count > 0;

        public void Visit(MimeEntity? root)
        {
            if (root is null)
            {
                return;
            }
            var stack = new Stack<(MimeEntity Entity, int Depth)>();
            stack.Push((root, 1));
            while (stack.Count > 0)
            {
                var (entity, depth) = stack.Pop();
                if (++_parts > options.MaxParts)
                {
                    Limits |= ExtractionLimits.Parts;
                    return;
                }
                switch (entity)
                {
                    case MultipartAlternative alternative:
                        PushChildren(stack, Preferred(alternative), depth);
                        break;
                    case Multipart multipart:
                        PushChildren(stack, multipart, depth);
                        break;
                    case MessagePart { Message: { } inner } attached:
                        // A forwarded mail: its words usually decide the route, so its body counts as text.
                        AddAttachment(attached.ContentDisposition?.FileName ?? "forwarded.eml", "message/rfc822",
                            attached.ContentDisposition?.Size ?? 0);
                        if (inner.Body is not null)
                        {
                            PushChild(stack, inner.Body, depth);
                        }
                        break;
                    case TextPart text when !text.IsAttachment && (text.IsPlain || text.IsHtml):
                        ReadText(text);
                        break;
                    case MimePart part:
                        if (AddAttachment(part.FileName, part.ContentType.MimeType, EstimatedSize(part)) && options.ReadAttachments)
                        {
                            _attachmentParts.Add((part, SafeFileName(part)));
                        }
                        break;
                    default:
                        break;
                }
            }
        }

        public string BodyText()
        {
            if (_plain.Count > 0)
            {
                return TextNormalizer.TidyLines(string.Join("\n\n", _plain));
            }
            if (_html.Count == 0)
            {
                return string.Empty;
            }
            var sb = new StringBuilder();
            foreach (var html in _html)
            {
                sb.Append(HtmlText.ToText(html)).Append("\n\n");
            }
            return TextNormalizer.TidyLines(sb.ToString());
        }

        private void PushChildren(Stack<(MimeEntity, int)> stack, IList<MimeEntity> children, int depth)
        {
            for (var i = children.Count - 1; i >= 0; i--)
            {
                PushChild(stack, children[i], depth);
            }
        }

        private void PushChild(Stack<(MimeEntity, int)> stack, MimeEntity child, int depth)
        {
            if (depth + 1 > options.MaxMimeDepth)
            {
                Limits |= ExtractionLimits.MimeDepth;
                return;
            }
            stack.Push((child, depth + 1));
        }

        // multipart/alternative: text/plain if there is one, else the richest (last) alternative.
        private static List<MimeEntity> Preferred(MultipartAlternative alternative)
        {
            foreach (var child in alternative)
            {
                if (child is TextPart { IsPlain: true, IsAttachment: false })
                {
                    return [child];
                }
            }
            return alternative.Count == 0 ? [] : [alternative[^1]];
        }

        private void ReadText(TextPart part)
        {
            var limit = part.IsHtml ? options.MaxHtmlBytes : options.MaxTextLength * 4;
            var decoded = t_decoded ??= new PrefixStream();
            try
            {
                decoded.SetLength(0);
                // Only what can be used is kept (one byte more tells that the limit was hit): a text part of N MB costs its
                // limit, not N MB and a buffer grown to twice that.
                decoded.Keep = limit + 1;
                try
                {
                    part.Content?.DecodeTo(decoded);
                }
                catch (Exception ex) when (ex is FormatException or IOException or InvalidOperationException or ArgumentException)
                {
                    _problems.Add($"text part could not be decoded: {ex.GetType().Name}");
                    return;
                }
                var bytes = decoded.GetBuffer().AsSpan(0, (int)decoded.Length);
                if (bytes.Length > limit)
                {
                    Limits |= part.IsHtml ? ExtractionLimits.HtmlSize : ExtractionLimits.TextLength;
                    bytes = bytes[..limit];
                }
                var text = CharsetDecoder.Decode(bytes, part.ContentType.Charset, out var problem);
                if (problem is not null && !_problems.Contains(problem))
                {
                    _problems.Add(problem);
                }
                (part.IsHtml ? _html : _plain).Add(text);
            }
            finally
            {
                if (decoded.Capacity > MaxKeptBuffer)
                {
                    t_decoded = null; // a huge part: do not keep its buffer for the rest of the thread's life
                }
            }
        }

        private bool AddAttachment(string? fileName, string mediaType, long size)
        {
            AttachmentCount++;
            if (_attachments.Count >= options.MaxAttachments)
            {
                Limits |= ExtractionLimits.Attachments;
                return false;
            }
            _attachments.Add(new AttachmentInfo(fileName, mediaType.ToLowerInvariant(), size));
            return true;
        }

        private static string? SafeFileName(MimePart part)
        {
            try
            {
                return part.FileName;
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException)
            {
                return null;
            }
        }

        // Keeps the first Keep bytes written to it and drops the rest, so that decoding a huge part costs no more than its limit.
        private sealed class PrefixStream : MemoryStream
        {
            public int Keep { get; set; }

            // MemoryStream's span overload ends up here too when it is overridden.
            public override void Write(byte[] buffer, int offset, int count) =>
                base.Write(buffer, offset, (int)Math.Clamp(Keep - Length, 0, count));

            public override void WriteByte(byte value)
            {
                if (Length < Keep)
                {
                    base.WriteByte(value);
                }
            }
        }

        private static long EstimatedSize(MimePart part)
        {
            var stream = part.Content?.Stream;
            if (stream is null || !stream.CanSeek)
            {
                return 0;
            }
            var length = stream.Length;
            return part.ContentTransferEncoding == ContentEncoding.Base64 ? length * 3 / 4 : length;
        }
    }
}
