using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace SmartMail.Core.Text;

/// <summary>
/// Splits text into lower-case word tokens: runs of letters, digits and underscores (Unicode-aware, so
/// æ, ø and å stay inside words). Runs longer than <see cref="MaxTokenLength"/> (base64 debris, hashes) are skipped.
/// Allocation-free: the tokens are spans over a buffer inside the enumerator.
/// </summary>
public static class Tokenizer
{
    /// <summary>Longest token kept.</summary>
    public const int MaxTokenLength = 40;

    /// <summary>Enumerates the word tokens of <paramref name="text"/>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>An enumerator whose <c>Current</c> is valid until the next <c>MoveNext</c>.</returns>
    public static WordEnumerator Words(ReadOnlySpan<char> text) => new(text);

    /// <summary>Enumerator over word tokens; use with <c>foreach</c>.</summary>
    public ref struct WordEnumerator
    {
        private readonly ReadOnlySpan<char> _text;
        private TokenBuffer _buffer;
        private int _position;
        private int _length;

        internal WordEnumerator(ReadOnlySpan<char> text)
        {
            _text = text;
            _position = 0;
            _length = 0;
        }

        /// <summary>The current token, lower case.</summary>
        [UnscopedRef]
        public readonly ReadOnlySpan<char> Current => ((ReadOnlySpan<char>)_buffer)[.._length];

        /// <summary>Returns this enumerator.</summary>
        /// <returns>This instance.</returns>
        public readonly WordEnumerator GetEnumerator() => this;

        /// <summary>Advances to the next token.</summary>
        /// <returns><see langword="false"/> at the end.</returns>
        public bool MoveNext()
        {
            var text = _text;
            var i = _position;
            while (i < text.Length)
            {
                while (i < text.Length && !IsWordChar(text[i]))
                {
                    i++;
                }
                var start = i;
                while (i < text.Length && IsWordChar(text[i]))
                {
                    i++;
                }
                var length = i - start;
                if (length is > 0 and <= MaxTokenLength)
                {
                    _length = text.Slice(start, length).ToLowerInvariant(_buffer);
                    _position = i;
                    return true;
                }
            }
            _position = i;
            _length = 0;
            return false;
        }

        private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
    }

    [InlineArray(MaxTokenLength)]
    private struct TokenBuffer
    {
        private char _first;
    }
}
