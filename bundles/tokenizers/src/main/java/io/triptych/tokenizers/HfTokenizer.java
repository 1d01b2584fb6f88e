package io.triptych.tokenizers;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.triptych.api.ModelLoadException;
import io.triptych.tokenizers.internal.ClipTokenizerJson;
import io.triptych.tokenizers.internal.DjlNatives;

/**
 * A Hugging Face tokenizer read from a {@code tokenizer.json}, or built from CLIP's slow-tokenizer
 * files ({@code vocab.json} + {@code merges.txt}) as transformers' {@code CLIPTokenizerFast} would
 * build it. Thread-safe; close it to free the native tokenizer.
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
    /** CLIP's end-of-word mark, which decoding turns into a space; {@code null} for other tokenizers. */
    private final String endOfWord;
    /** The token of each special-token role the tokenizer's folder names (see {@link #specialToken}). */
    private final Map<String, String> roleTokens;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, Map<String, Integer> ids, Set<Integer> specialIds, String endOfWord,
                        Map<String, String> roleTokens) {
        this.tokenizer = tokenizer;
        this.ids = Map.copyOf(ids);
        this.specialIds = Set.copyOf(specialIds);
        this.vocabSize = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        this.endOfWord = endOfWord;
        this.roleTokens = Map.copyOf(roleTokens);
    }

    /**
     * Reads a {@code tokenizer.json}.
     *
     * @throws ModelLoadException if the file is missing, unreadable or not a tokenizer
     */
    public static HfTokenizer load(Path tokenizerJson) {
        return load(tokenizerJson, Map.of());
    }

    private static HfTokenizer load(Path tokenizerJson, Map<String, String> roleTokens) {
        byte[] json;
        try {
            json = Files.readAllBytes(tokenizerJson);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read tokenizer " + tokenizerJson + ": " + e, e);
        }
        return create(parse(json, "tokenizer " + tokenizerJson), json, tokenizerJson.toString(), roleTokens);
    }

    /**
     * Reads a tokenizer folder as transformers saves one: its {@code tokenizer.json} when there is
     * one, else CLIP's {@code vocab.json} + {@code merges.txt} (see {@link #loadClip}) with the
     * added tokens of {@code tokenizer_config.json}'s {@code added_tokens_decoder}. Either way the
     * special tokens are those {@code tokenizer_config.json} names, overridden by
     * {@code special_tokens_map.json} (see {@link #specialToken}).
     *
     * @throws ModelLoadException if the folder holds neither, a file is missing or malformed, or
     *         {@code tokenizer_config.json} names a {@code tokenizer_class} other than CLIP's
     */
    public static HfTokenizer loadFolder(Path folder) {
        JsonObject config = optionalObject(folder.resolve("tokenizer_config.json"));
        JsonObject map = optionalObject(folder.resolve("special_tokens_map.json"));
        Map<String, ClipTokenizerJson.AddedToken> special = new HashMap<>();
        try {
            for (String role : ClipTokenizerJson.ROLES) {
                ClipTokenizerJson.AddedToken t = ClipTokenizerJson.AddedToken.of(map.has(role) ? map.get(role) : config.get(role), true);
                if (t != null) {
                    special.put(role, t);
                }
            }
        } catch (RuntimeException e) {
            throw new ModelLoadException("malformed special tokens in " + folder + ": " + e.getMessage(), e);
        }
        Path json = folder.resolve("tokenizer.json");
        if (Files.exists(json)) {
            Map<String, String> named = new HashMap<>();
            special.forEach((role, t) -> named.put(role, t.content()));
            return load(json, named);
        }
        Path vocab = folder.resolve("vocab.json");
        if (!Files.exists(vocab)) {
            throw new ModelLoadException("no tokenizer in " + folder + ": it has neither tokenizer.json nor CLIP's vocab.json + merges.txt");
        }
        JsonElement cls = config.get("tokenizer_class");
        if (cls != null && cls.isJsonPrimitive() && !cls.getAsString().startsWith("CLIPTokenizer")) {
            throw new ModelLoadException("no tokenizer.json in " + folder + ", and its vocab.json + merges.txt belong to "
                    + cls.getAsString() + ": only CLIPTokenizer's are converted");
        }
        Map<Integer, ClipTokenizerJson.AddedToken> added = new HashMap<>();
        try {
            JsonElement decoder = config.get("added_tokens_decoder");
            if (decoder != null && decoder.isJsonObject()) {
                for (Map.Entry<String, JsonElement> e : decoder.getAsJsonObject().entrySet()) {
                    added.put(Integer.parseInt(e.getKey()), ClipTokenizerJson.AddedToken.of(e.getValue(), false));
                }
            }
        } catch (RuntimeException e) {
            throw new ModelLoadException("malformed special tokens in " + folder + ": " + e.getMessage(), e);
        }
        return create(ClipTokenizerJson.build(vocab, folder.resolve("merges.txt"), special, added), vocab.toString(),
                ClipTokenizerJson.roleTokens(special));
    }

    /**
     * Builds CLIP's tokenizer from its slow-tokenizer files, as transformers' {@code CLIPTokenizerFast}
     * converts them: text NFC-normalised, whitespace runs collapsed, lowercased; split into
     * contractions, letter runs, single digits and punctuation runs; byte-level BPE whose word-final
     * pieces end in {@code </w>}. Decoding turns {@code </w>} into spaces and trims the text, as
     * {@code CLIPTokenizerFast} does, so {@code decode(encode("A  Photo"))} is {@code "a photo"}.
     * Special tokens the vocabulary lacks get the next ids, as transformers adds them.
     *
     * @param specialTokens the tokens of the roles {@code bos_token}, {@code eos_token}, {@code unk_token}
     *        and {@code pad_token}; a role left out is CLIP's: {@code <|startoftext|>} for bos,
     *        {@code <|endoftext|>} for the others
     * @throws ModelLoadException if a file is missing or malformed, or a merge names a token {@code vocab.json} lacks
     * @throws IllegalArgumentException for another role
     */
    public static HfTokenizer loadClip(Path vocabJson, Path mergesTxt, Map<String, String> specialTokens) {
        Map<String, ClipTokenizerJson.AddedToken> special = new HashMap<>();
        specialTokens.forEach((role, token) -> {
            if (!ClipTokenizerJson.ROLES.contains(role)) {
                throw new IllegalArgumentException("unknown special-token role '" + role + "' (known: " + ClipTokenizerJson.ROLES + ")");
            }
            special.put(role, ClipTokenizerJson.AddedToken.special(token));
        });
        return create(ClipTokenizerJson.build(vocabJson, mergesTxt, special, Map.of()), vocabJson.toString(),
                ClipTokenizerJson.roleTokens(special));
    }

    /** A native tokenizer of a {@code tokenizer.json} document built in memory; {@code source} names it in errors. */
    private static HfTokenizer create(JsonObject root, String source, Map<String, String> roleTokens) {
        return create(root, root.toString().getBytes(StandardCharsets.UTF_8), source, roleTokens);
    }

    /** A native tokenizer of a {@code tokenizer.json} document, parsed ({@code root}) and as bytes ({@code json}). */
    private static HfTokenizer create(JsonObject root, byte[] json, String source, Map<String, String> roleTokens) {
        Map<String, Integer> ids = new HashMap<>();
        Set<Integer> special = new HashSet<>();
        readVocabulary(root, source, ids, special);
        try (InputStream in = new ByteArrayInputStream(json)) {
            HuggingFaceTokenizer t = DjlNatives.call(() -> HuggingFaceTokenizer.newInstance(in, OPTIONS));
            return new HfTokenizer(t, ids, special, endOfWordMark(root), roleTokens);
        } catch (Exception e) {
            throw new ModelLoadException("cannot load tokenizer " + source + ": " + e.getMessage(), e);
        }
    }

    /**
     * The end-of-word suffix of a tokenizer shaped as CLIPTokenizerFast's (a BPE model with one and a
     * byte-level decoder, which leaves it in the text), else {@code null}.
     */
    private static String endOfWordMark(JsonObject root) {
        JsonElement model = root.get("model");
        JsonElement decoder = root.get("decoder");
        if (model == null || !model.isJsonObject() || decoder == null || !decoder.isJsonObject()) {
            return null;
        }
        JsonElement suffix = model.getAsJsonObject().get("end_of_word_suffix");
        JsonElement type = decoder.getAsJsonObject().get("type");
        boolean byteLevel = type != null && type.isJsonPrimitive() && "ByteLevel".equals(type.getAsString());
        return byteLevel && suffix != null && suffix.isJsonPrimitive() && !suffix.getAsString().isEmpty() ? suffix.getAsString() : null;
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
        String text = tokenizer.decode(l, skipSpecial);
        // CLIPTokenizerFast's own step after the byte-level decoder: word ends become spaces
        return endOfWord == null ? text : text.replace(endOfWord, " ").strip();
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

    /**
     * The token of a special-token role ({@code bos_token}, {@code eos_token}, {@code unk_token},
     * {@code pad_token}) as the tokenizer's folder names it ({@link #loadFolder}); CLIP's defaults
     * for a role its slow-tokenizer files leave out; empty for a bare {@link #load}.
     */
    public Optional<String> specialToken(String role) {
        return Optional.ofNullable(roleTokens.get(role));
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

    /** A JSON object; {@code what} names the file in errors (e.g. "tokenizer /m/tokenizer.json"). */
    private static JsonObject parse(byte[] json, String what) {
        try {
            JsonElement e = JsonParser.parseString(new String(json, StandardCharsets.UTF_8));
            if (!e.isJsonObject()) {
                throw new ModelLoadException("malformed " + what + ": not a JSON object");
            }
            return e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new ModelLoadException("malformed " + what + ": " + (e.getCause() != null ? e.getCause() : e).getMessage(), e);
        }
    }

    /** A JSON object file that may be absent (then empty). */
    private static JsonObject optionalObject(Path file) {
        if (!Files.exists(file)) {
            return new JsonObject();
        }
        try {
            return parse(Files.readAllBytes(file), file.toString());
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e, e);
        }
    }

    /** The vocabulary and added tokens; the native tokenizer does not expose them. */
    private static void readVocabulary(JsonObject root, String file, Map<String, Integer> ids, Set<Integer> special) {
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
