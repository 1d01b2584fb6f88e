package io.triptych.tokenizers;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.triptych.api.ModelLoadException;
import io.triptych.tokenizers.internal.DjlNatives;

/**
 * A Hugging Face tokenizer read from a {@code tokenizer.json}. Thread-safe; close it to free the
 * native tokenizer.
 *
 * <pre>
 * try (HfTokenizer t = HfTokenizer.load(folder.resolve("tokenizer.json"))) {
 *     int[] ids = t.encode("Hello world");        // GPT-2: [15496, 995]
 *     String text = t.decode(ids, true);
 * }
 * </pre>
 */
public final class HfTokenizer implements AutoCloseable {
    /**
     * No special tokens are added, nothing is truncated or padded: the engines decide those, and
     * decoding stays the tokenizer's own, without clean-up, so that streamed pieces concatenate.
     */
    private static final Map<String, String> OPTIONS = Map.of("addSpecialTokens", "false", "truncation", "false",
            "padding", "false");

    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Integer> ids;
    private final Set<Integer> specialIds;
    private final int vocabSize;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, Map<String, Integer> ids, Set<Integer> specialIds) {
        this.tokenizer = tokenizer;
        this.ids = Map.copyOf(ids);
        this.specialIds = Set.copyOf(specialIds);
        this.vocabSize = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    }

    /**
     * Reads a {@code tokenizer.json}.
     *
     * @throws ModelLoadException if the file is missing, unreadable or not a tokenizer
     */
    public static HfTokenizer load(Path tokenizerJson) {
        Map<String, Integer> ids = new HashMap<>();
        Set<Integer> special = new HashSet<>();
        readVocabulary(tokenizerJson, ids, special);
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            HuggingFaceTokenizer t = DjlNatives.call(() -> HuggingFaceTokenizer.newInstance(in, OPTIONS));
            return new HfTokenizer(t, ids, special);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw new ModelLoadException("cannot load tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** The token ids of {@code text}, with no special tokens added. */
    public int[] encode(String text) {
        return toInts(tokenizer.encode(text, false, false).getIds());
    }

    /**
     * The text of token ids.
     *
     * @param skipSpecial whether special tokens (e.g. {@code <|endoftext|>}) are left out
     */
    public String decode(int[] tokenIds, boolean skipSpecial) {
        long[] l = new long[tokenIds.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = tokenIds[i];
        }
        return tokenizer.decode(l, skipSpecial);
    }

    /** The number of token ids, added tokens included (the highest id + 1). */
    public int vocabSize() {
        return vocabSize;
    }

    /** The id of a token as the vocabulary spells it (e.g. {@code <|endoftext|>} or {@code Ġworld}). */
    public OptionalInt tokenId(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Whether an id is a special added token. */
    public boolean isSpecial(int tokenId) {
        return specialIds.contains(tokenId);
    }

    /** A decoder for one stream of tokens; see {@link StreamDecoder}. */
    public StreamDecoder streamDecoder(boolean skipSpecial) {
        return new StreamDecoder(this, skipSpecial);
    }

    /** Frees the native tokenizer; idempotent. */
    @Override
    public void close() {
        tokenizer.close();
    }

    private static int[] toInts(long[] l) {
        int[] a = new int[l.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = Math.toIntExact(l[i]);
        }
        return a;
    }

    /** The vocabulary and added tokens; the native tokenizer does not expose them. */
    private static void readVocabulary(Path file, Map<String, Integer> ids, Set<Integer> special) {
        JsonObject root;
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonElement e = JsonParser.parseReader(r);
            if (!e.isJsonObject()) {
                throw new ModelLoadException("malformed tokenizer " + file + ": not a JSON object");
            }
            root = e.getAsJsonObject();
        } catch (IOException e) {
            throw new ModelLoadException("cannot read tokenizer " + file + ": " + e, e);
        } catch (JsonParseException e) {
            throw new ModelLoadException("malformed tokenizer " + file + ": " + (e.getCause() != null ? e.getCause() : e).getMessage(), e);
        }
        try {
            JsonElement vocab = root.getAsJsonObject("model").get("vocab");
            if (vocab != null && vocab.isJsonObject()) {
                for (Map.Entry<String, JsonElement> v : vocab.getAsJsonObject().entrySet()) {
                    ids.put(v.getKey(), v.getValue().getAsInt());
                }
            } else if (vocab != null && vocab.isJsonArray()) {
                // Unigram: [piece, score] pairs, the id is the index
                JsonArray pieces = vocab.getAsJsonArray();
                for (int i = 0; i < pieces.size(); i++) {
                    ids.put(pieces.get(i).getAsJsonArray().get(0).getAsString(), i);
                }
            } else {
                throw new ModelLoadException("malformed tokenizer " + file + ": no model.vocab");
            }
            JsonElement added = root.get("added_tokens");
            if (added != null && added.isJsonArray()) {
                for (JsonElement a : added.getAsJsonArray()) {
                    JsonObject t = a.getAsJsonObject();
                    int id = t.get("id").getAsInt();
                    ids.put(t.get("content").getAsString(), id);
                    if (t.has("special") && t.get("special").getAsBoolean()) {
                        special.add(id);
                    }
                }
            }
        } catch (RuntimeException e) {
            if (e instanceof ModelLoadException m) {
                throw m;
            }
            throw new ModelLoadException("malformed tokenizer " + file + ": " + e.getMessage(), e);
        }
    }
}
