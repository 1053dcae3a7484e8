using System.IO.Compression;
using System.Text;
using System.Xml;
using DocumentFormat.OpenXml;
using DocumentFormat.OpenXml.Packaging;
using MimeKit;
using SmartMail.Core.Mime;
using SmartMail.Core.Text;
using UglyToad.PdfPig;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;
using UglyToad.PdfPig.Exceptions;
using W = DocumentFormat.OpenXml.Wordprocessing;

namespace SmartMail.Core.Attachments;

/// <summary>
/// Reads the text of PDF, DOCX/DOCM and ODT attachments within the bounds of <see cref="ExtractionOptions"/>: bytes per
/// attachment and per mail, pages, characters, time, and zip entries (count, size, ratio). Nothing is executed: PDF
/// scripts and Word macros are never looked at, XML is read with DTDs prohibited and no resolver. A file that is broken,
/// encrypted or over a bound is skipped with a reason that names no content. Never throws for bad input. One per mail.
/// </summary>
internal sealed class AttachmentReader(ExtractionOptions options, TimeProvider time)
{
    private const string OdfTextNs = "urn:oasis:names:tc:opendocument:xmlns:text:1.0";
    private const string OdfOfficeNs = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";
    private const int RatioCheckBytes = 1024 * 1024;

    private long _mailBytesLeft = options.MaxAttachmentBytesPerMail;
    private int _readsLeft = options.MaxAttachmentsRead;

    /// <summary>The format to read a part as, from its media type or else its file name; <see langword="null"/> for others.</summary>
    public static AttachmentKind? KindOf(string mediaType, string? fileName)
    {
        switch (mediaType)
        {
            case "application/pdf" or "application/x-pdf":
                return AttachmentKind.Pdf;
            case "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                or "application/vnd.ms-word.document.macroenabled.12":
                return AttachmentKind.Docx;
            case "application/vnd.oasis.opendocument.text":
                return AttachmentKind.Odt;
            case "application/octet-stream" or "application/x-download" or "application/download" or "binary/octet-stream":
                break;
            default:
                return null;
        }
        var extension = Path.GetExtension(fileName ?? string.Empty).ToLowerInvariant();
        return extension switch
        {
            ".pdf" => AttachmentKind.Pdf,
            ".docx" or ".docm" => AttachmentKind.Docx,
            ".odt" => AttachmentKind.Odt,
            _ => null,
        };
    }

    /// <summary>Decodes and reads one attachment.</summary>
    public AttachmentText Read(MimePart part, AttachmentKind kind, string? fileName)
    {
        var start = time.GetTimestamp();
        var result = new AttachmentText { FileName = fileName, MediaType = part.ContentType.MimeType.ToLowerInvariant(), Kind = kind };
        if (_readsLeft <= 0)
        {
            return result with { Skipped = "too many attachments in the mail" };
        }
        _readsLeft--;
        if (_mailBytesLeft <= 0)
        {
            return result with { Skipped = "attachment bytes for the mail spent" };
        }

        var cap = (int)Math.Min(options.MaxAttachmentBytes, _mailBytesLeft);
        using var buffer = new CappedStream(cap);
        try
        {
            part.Content?.DecodeTo(buffer);
        }
        catch (CapExceededException)
        {
            _mailBytesLeft -= buffer.Length;
            var why = cap < options.MaxAttachmentBytes
                ? "attachment bytes for the mail spent"
                : $"too large (over {options.MaxAttachmentBytes} bytes)";
            return result with { Skipped = why, Bytes = buffer.Length, Elapsed = time.GetElapsedTime(start) };
        }
        catch (Exception ex) when (ex is FormatException or IOException or InvalidOperationException or ArgumentException)
        {
            return result with { Skipped = $"cannot be decoded ({ex.GetType().Name})", Elapsed = time.GetElapsedTime(start) };
        }
        _mailBytesLeft -= buffer.Length;
        result = result with { Bytes = buffer.Length };

        var budget = new Budget(time, start, TimeSpan.FromMilliseconds(options.AttachmentTimeBudgetMs));
        var text = new BoundedText(options.MaxAttachmentTextLength);
        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        try
        {
            result = kind switch
            {
                AttachmentKind.Pdf => ReadPdf(bytes, text, budget, result),
                AttachmentKind.Docx => ReadDocx(buffer, text, budget, result),
                _ => ReadOdt(buffer, text, budget, result),
            };
        }
        catch (SkipException ex)
        {
            return result with { Skipped = ex.Message, Elapsed = time.GetElapsedTime(start) };
        }
        catch (PdfDocumentEncryptedException)
        {
            return result with { Skipped = "encrypted", Elapsed = time.GetElapsedTime(start) };
        }
        catch (XmlException)
        {
            return result with { Skipped = $"broken {kind.ToString().ToUpperInvariant()}: invalid XML (DTDs and entities are refused)", Elapsed = time.GetElapsedTime(start) };
        }
        catch (Exception ex) when (IsParserFailure(ex))
        {
            // PdfPig and the Open XML SDK throw many types on hostile files; each means "cannot read this file".
            return result with { Skipped = $"broken {kind.ToString().ToUpperInvariant()} ({ex.GetType().Name})", Elapsed = time.GetElapsedTime(start) };
        }
        var tidy = TextNormalizer.TidyLines(text.ToString());
        return result with
        {
            Text = tidy,
            Truncated = result.Truncated ?? (text.IsTruncated ? "characters" : null),
            Elapsed = time.GetElapsedTime(start),
        };
    }

    private static bool IsParserFailure(Exception ex) =>
        ex is not (OutOfMemoryException or StackOverflowException or AccessViolationException or OperationCanceledException);

    private AttachmentText ReadPdf(ReadOnlyMemory<byte> bytes, BoundedText text, Budget budget, AttachmentText result)
    {
        if (bytes.Span[..Math.Min(bytes.Length, 1024)].IndexOf("%PDF-"u8) < 0)
        {
            throw new SkipException("not a PDF (no %PDF header)");
        }
        // MaxAttachmentBytes bounds the encoded file; its streams are bounded as they inflate, and the time budget is checked
        // while they do, inside a page.
        var streams = new PdfStreamBudget(options.MaxPdfStreamBytes, budget.Check);
        try
        {
            using var pdf = PdfDocument.Open(bytes, new ParsingOptions { UseLenientParsing = true, SkipMissingFonts = true, FilterProvider = streams.Filters() });
            var total = pdf.NumberOfPages;
            var pages = Math.Min(total, options.MaxAttachmentPages);
            var read = 0;
            for (var number = 1; number <= pages && !text.IsTruncated; number++)
            {
                budget.Check();
                var page = pdf.GetPage(number);
                text.Append(ContentOrderTextExtractor.GetText(page));
                text.Append("\n\n");
                read++;
                ThrowIfSpent(streams);
            }
            budget.Check();
            ThrowIfSpent(streams);
            return result with { Pages = read, TotalPages = total, Truncated = total > pages && !text.IsTruncated ? "pages" : null };
        }
        catch (Exception ex) when (streams.Exceeded is { } reason && ex is not SkipException)
        {
            // PdfPig wrapped or replaced our exception: the budget's reason is the one to report.
            throw new SkipException(reason);
        }
    }

    private static void ThrowIfSpent(PdfStreamBudget streams)
    {
        if (streams.Exceeded is { } reason)
        {
            throw new SkipException(reason);
        }
    }

    private AttachmentText ReadDocx(MemoryStream buffer, BoundedText text, Budget budget, AttachmentText result)
    {
        GuardZip(buffer, "word/document.xml");
        buffer.Position = 0;
        var settings = new OpenSettings { AutoSave = false, MaxCharactersInPart = options.MaxZipEntryBytes };
        using var document = WordprocessingDocument.Open(buffer, isEditable: false, settings);
        var main = document.MainDocumentPart ?? throw new SkipException("broken DOCX: no main document");
        using var reader = OpenXmlReader.Create(main);
        var nodes = 0;
        while (reader.Read() && !text.IsTruncated)
        {
            if ((++nodes & 255) == 0)
            {
                budget.Check();
            }
            var type = reader.ElementType;
            if (reader.IsStartElement)
            {
                if (type == typeof(W.Text))
                {
                    text.Append(reader.GetText());
                }
                else if (type == typeof(W.TabChar))
                {
                    text.Append(" ");
                }
                else if (type == typeof(W.Break) || type == typeof(W.CarriageReturn))
                {
                    text.Append("\n");
                }
            }
            else if (reader.IsEndElement && (type == typeof(W.Paragraph) || type == typeof(W.TableCell)))
            {
                text.Append("\n");
            }
        }
        budget.Check();
        return result;
    }

    private AttachmentText ReadOdt(MemoryStream buffer, BoundedText text, Budget budget, AttachmentText result)
    {
        using var zip = GuardZip(buffer, "content.xml");
        var entry = zip.GetEntry("content.xml") ?? throw new SkipException("broken ODT: no content.xml");
        using var content = new CappedReadStream(entry.Open(), options.MaxZipEntryBytes);
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersFromEntities = 1024,
            MaxCharactersInDocument = options.MaxZipEntryBytes,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
        };
        using var xml = XmlReader.Create(content, settings);
        var inBody = false;
        var nodes = 0;
        while (xml.Read() && !text.IsTruncated)
        {
            if ((++nodes & 255) == 0)
            {
                budget.Check();
            }
            switch (xml.NodeType)
            {
                case XmlNodeType.Element when xml.LocalName == "body" && xml.NamespaceURI == OdfOfficeNs:
                    inBody = !xml.IsEmptyElement;
                    break;
                case XmlNodeType.EndElement when xml.LocalName == "body" && xml.NamespaceURI == OdfOfficeNs:
                    inBody = false;
                    break;
                case XmlNodeType.Element when inBody && xml.NamespaceURI == OdfTextNs:
                    switch (xml.LocalName)
                    {
                        case "s" or "tab":
                            text.Append(" ");
                            break;
                        case "line-break":
                            text.Append("\n");
                            break;
                        case "p" or "h" when xml.IsEmptyElement:
                            text.Append("\n");
                            break;
                    }
                    break;
                case XmlNodeType.EndElement when inBody && xml.NamespaceURI == OdfTextNs && xml.LocalName is "p" or "h":
                    text.Append("\n");
                    break;
                case XmlNodeType.Text or XmlNodeType.SignificantWhitespace or XmlNodeType.CDATA when inBody:
                    text.Append(xml.Value);
                    break;
            }
        }
        budget.Check();
        return result;
    }

    // Refuses a zip bomb before anything is inflated: too many entries, an XML entry (or the text entry) over the size
    // bound, or a large entry compressed past the ratio bound. Declared sizes may lie, so reads are capped as well.
    private ZipArchive GuardZip(MemoryStream buffer, string textEntry)
    {
        buffer.Position = 0;
        if (buffer.Length < 4 || buffer.GetBuffer().AsSpan(0, 4).SequenceEqual("PK\u0003\u0004"u8) is false)
        {
            throw new SkipException("not a zip package");
        }
        var zip = new ZipArchive(buffer, ZipArchiveMode.Read, leaveOpen: true);
        try
        {
            if (zip.Entries.Count > options.MaxZipEntries)
            {
                throw new SkipException($"zip bomb: more than {options.MaxZipEntries} entries");
            }
            var found = false;
            foreach (var entry in zip.Entries)
            {
                var isXml = entry.FullName.EndsWith(".xml", StringComparison.OrdinalIgnoreCase)
                            || entry.FullName.EndsWith(".rels", StringComparison.OrdinalIgnoreCase);
                found |= entry.FullName == textEntry;
                if (isXml && entry.Length > options.MaxZipEntryBytes)
                {
                    throw new SkipException($"zip bomb: an entry inflates past {options.MaxZipEntryBytes} bytes");
                }
                if (entry.Length > RatioCheckBytes && entry.Length > (long)options.MaxZipRatio * Math.Max(1, entry.CompressedLength))
                {
                    throw new SkipException($"zip bomb: compression ratio over {options.MaxZipRatio}");
                }
            }
            if (!found)
            {
                throw new SkipException($"no {textEntry} in the package");
            }
            return zip;
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    private sealed class SkipException(string reason) : IOException(reason);

    private sealed class CapExceededException() : IOException("cap exceeded");

    private readonly struct Budget(TimeProvider time, long start, TimeSpan limit)
    {
        public void Check()
        {
            if (time.GetElapsedTime(start) > limit)
            {
                throw new SkipException($"time budget of {(int)limit.TotalMilliseconds} ms spent");
            }
        }
    }

    // Text with a character bound; appending past it keeps what fits and marks the text truncated.
    private sealed class BoundedText(int max)
    {
        private readonly StringBuilder _sb = new();

        public bool IsTruncated { get; private set; }

        public void Append(string? value)
        {
            if (string.IsNullOrEmpty(value) || IsTruncated)
            {
                return;
            }
            var room = max - _sb.Length;
            if (value.Length > room)
            {
                _sb.Append(value, 0, room);
                IsTruncated = true;
                return;
            }
            _sb.Append(value);
        }

        public override string ToString() => _sb.ToString();
    }

    // A write target that refuses to grow past its cap: decoding stops as soon as the attachment is too large.
    private sealed class CappedStream(int cap) : MemoryStream
    {
        // MemoryStream's span and byte overloads end up here when overridden.
        public override void Write(byte[] buffer, int offset, int count)
        {
            ArgumentNullException.ThrowIfNull(buffer);
            if (Length + count > cap)
            {
                base.Write(buffer, offset, (int)(cap - Length));
                throw new CapExceededException();
            }
            base.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            var copy = buffer.ToArray();
            Write(copy, 0, copy.Length);
        }

        public override void WriteByte(byte value) => Write([value], 0, 1);
    }

    // A read source that fails once more than its cap has been read: an entry whose declared size lies is still bounded.
    private sealed class CappedReadStream(Stream inner, long cap) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            _read += n;
            if (_read > cap)
            {
                throw new SkipException($"zip bomb: an entry inflates past {cap} bytes");
            }
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
