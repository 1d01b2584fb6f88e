package io.triptych.tokenizers;

import java.util.Arrays;

/**
 * Turns a stream of token ids into text pieces as the tokens arrive. A piece is given out only
 * once its characters are complete: a token that ends inside a multi-byte UTF-8 character (the
 * tokenizer decodes it to U+FFFD) waits for the next. Each new token is decoded together with the
 * few tokens before it, so that word-joining rules (a leading space, a merged sub-word) come out
 * as the whole sequence's decoding has them. {@link #push} pieces followed by {@link #finish()}
 * concatenate to the decoding of all tokens. Not thread-safe: one per stream.
 */
public final class StreamDecoder {
    private static final char REPLACEMENT = '\uFFFD';

    private final HfTokenizer tokenizer;
    private final boolean skipSpecial;
    private int[] ids = new int[16];
    private int size;
    /** Start of the tokens decoded as context for the next piece. */
    private int prefixOffset;
    /** End of the tokens whose text has been given out. */
    private int readOffset;
    private final StringBuilder emitted = new StringBuilder();

    StreamDecoder(HfTokenizer tokenizer, boolean skipSpecial) {
        this.tokenizer = tokenizer;
        this.skipSpecial = skipSpecial;
    }

    /** Adds a token and returns the new complete text it gives (often empty while a character is incomplete). */
    public String push(int tokenId) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = tokenId;
        String prefixText = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, readOffset), skipSpecial);
        String newText = tokenizer.decode(Arrays.copyOfRange(ids, prefixOffset, size), skipSpecial);
        if (newText.length() > prefixText.length() && newText.startsWith(prefixText)
                && newText.charAt(newText.length() - 1) != REPLACEMENT) {
            String piece = newText.substring(prefixText.length());
            prefixOffset = readOffset;
            readOffset = size;
            emitted.append(piece);
            return piece;
        }
        return "";
    }

    /** Ends the stream: the text not yet given out (e.g. a trailing incomplete character as U+FFFD). */
    public String finish() {
        String all = tokenizer.decode(Arrays.copyOf(ids, size), skipSpecial);
        String rest = all.startsWith(emitted.toString()) && all.length() > emitted.length() ? all.substring(emitted.length()) : "";
        emitted.append(rest);
        prefixOffset = size;
        readOffset = size;
        return rest;
    }

    /** All text given out so far. */
    public String text() {
        return emitted.toString();
    }
}
