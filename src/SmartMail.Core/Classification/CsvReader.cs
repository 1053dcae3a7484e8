using System.Text;

namespace SmartMail.Core.Classification;

/// <summary>An RFC 4180 record reader: quoted fields may hold separators, doubled quotes and line breaks.</summary>
internal static class CsvReader
{
    /// <summary>Reads one record, or <see langword="null"/> at the end of the input.</summary>
    public static List<string>? ReadRecord(TextReader reader, char separator)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var inQuotes = false;
        var any = false;
        while (true)
        {
            var c = reader.Read();
            if (c < 0)
            {
                if (!any)
                {
                    return null;
                }
                fields.Add(field.ToString());
                return fields;
            }
            any = true;
            var ch = (char)c;
            if (inQuotes)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        inQuotes = false;
                    }
                }
                else
                {
                    field.Append(ch);
                }
            }
            else if (ch == '"' && field.Length == 0)
            {
                inQuotes = true;
            }
            else if (ch == separator)
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (ch == '\r' || ch == '\n')
            {
                if (ch == '\r' && reader.Peek() == '\n')
                {
                    reader.Read();
                }
                fields.Add(field.ToString());
                return fields;
            }
            else
            {
                field.Append(ch);
            }
        }
    }
}
