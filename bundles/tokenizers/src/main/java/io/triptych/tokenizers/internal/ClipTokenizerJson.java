package io.triptych.tokenizers.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

import io.triptych.api.ModelLoadException;

/**
 * The {@code tokenizer.json} document that transformers' {@code CLIPTokenizerFast} would make from
 * CLIP's slow-tokenizer files ({@code vocab.json} + {@code merges.txt}), built in memory:
 * <ul>
 * <li>normalizer: NFC, every whitespace run to one space, lowercase;</li>
 * <li>pre-tokenizer: CLIP's word pattern (contractions, letter runs, single digits, punctuation
 *     runs; whitespace dropped), then byte-level mapping (no prefix space, GPT-2 pattern on);</li>
 * <li>model: BPE without sub-word prefix, {@code </w>} on the last piece of a word, the unknown
 *     token unfused;</li>
 * <li>post-processor: bos text eos (RobertaProcessing without prefix space or offset trimming);</li>
 * <li>decoder: byte-level. {@code CLIPTokenizerFast} then turns {@code </w>} into spaces in Python;
 *     {@link io.triptych.tokenizers.HfTokenizer} does that in Java.</li>
 * </ul>
 */
public final class ClipTokenizerJson {
    /** Marks the last piece of a word in CLIP's vocabulary ({@code a</w>}). */
    public static final String END_OF_WORD = "</w>";

    /** The special-token roles, in the order their ids are assigned when the vocabulary lacks them. */
    public static final List<String> ROLES = List.of("bos_token", "eos_token", "unk_token", "pad_token");

    /** CLIPTokenizer's defaults for tokens its files do not name. */
    public static final Map<String, String> DEFAULTS = Map.of("bos_token", "<|startoftext|>", "eos_token", "<|endoftext|>",
            "unk_token", "<|endoftext|>", "pad_token", "<|endoftext|>");

    /**
     * CLIPTokenizer reads no more merges than this (its 49,152-token vocabulary less 2 × 256 byte
     * tokens and the 2 special tokens), whatever the file holds.
     */
    static final int MAX_MERGES = 49152 - 256 - 2;

    private static final String SPLIT_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

    /** A token added beside the BPE vocabulary, with the matching options of {@code tokenizer.json}'s {@code added_tokens}. */
    public record AddedToken(String content, boolean singleWord, boolean lstrip, boolean rstrip, boolean normalized, boolean special) {
        /** A special token as transformers adds one from a plain string: matched on the raw text. */
        public static AddedToken special(String content) {
            return new AddedToken(content, false, false, false, false, true);
        }

        /**
         * A token as {@code tokenizer_config.json} or {@code special_tokens_map.json} writes it: a
         * string, or an object with {@code content} and optional flags.
         *
         * @return {@code null} for JSON null
         * @throws IllegalArgumentException if it is neither
         */
        public static AddedToken of(JsonElement e, boolean special) {
            if (e == null || e.isJsonNull()) {
                return null;
            }
            if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
                return new AddedToken(e.getAsString(), false, false, false, !special, special);
            }
            if (e.isJsonObject() && e.getAsJsonObject().has("content")) {
                JsonObject o = e.getAsJsonObject();
                return new AddedToken(o.get("content").getAsString(), flag(o, "single_word", false), flag(o, "lstrip", false),
                        flag(o, "rstrip", false), flag(o, "normalized", !special), flag(o, "special", special));
            }
            throw new IllegalArgumentException("not a token: " + e);
        }

        private static boolean flag(JsonObject o, String key, boolean fallback) {
            JsonElement v = o.get(key);
            return v != null && v.isJsonPrimitive() && v.getAsJsonPrimitive().isBoolean() ? v.getAsBoolean() : fallback;
        }

        JsonObject toJson(int id) {
            JsonObject o = new JsonObject();
            o.addProperty("id", id);
            o.addProperty("content", content);
            o.addProperty("single_word", singleWord);
            o.addProperty("lstrip", lstrip);
            o.addProperty("rstrip", rstrip);
            o.addProperty("normalized", normalized);
            o.addProperty("special", special);
            return o;
        }
    }

    private ClipTokenizerJson() {
    }

    /**
     * Builds the document.
     *
     * @param specialTokens the token of each role in {@link #ROLES}; a role left out takes {@link #DEFAULTS}
     * @param addedById further added tokens by id, as {@code tokenizer_config.json}'s {@code added_tokens_decoder} lists them
     * @throws ModelLoadException if a file is missing or malformed, or a merge names a token the vocabulary lacks
     */
    public static JsonObject build(Path vocabJson, Path mergesTxt, Map<String, AddedToken> specialTokens, Map<Integer, AddedToken> addedById) {
        Map<String, Integer> vocab = readVocab(vocabJson);
        List<String> merges = readMerges(mergesTxt, vocab);

        TreeMap<Integer, AddedToken> added = new TreeMap<>(addedById);
        Map<String, Integer> addedIds = new LinkedHashMap<>();
        added.forEach((id, t) -> addedIds.putIfAbsent(t.content(), id));
        int next = Math.max(vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1),
                added.isEmpty() ? -1 : added.lastKey()) + 1;
        Map<String, Integer> roleIds = new LinkedHashMap<>();
        for (String role : ROLES) {
            AddedToken t = specialTokens.get(role);
            if (t == null) {
                t = AddedToken.special(DEFAULTS.get(role));
            }
            Integer id = addedIds.get(t.content());
            if (id == null) {
                // as transformers does: a special token the vocabulary lacks gets the next id
                id = vocab.containsKey(t.content()) ? vocab.get(t.content()) : next++;
                added.put(id, t);
                addedIds.put(t.content(), id);
            }
            roleIds.put(role, id);
        }
        String unk = tokenOf(specialTokens, "unk_token");
        // the BPE model looks its unknown token up in its own vocabulary, not among the added tokens
        vocab.putIfAbsent(unk, roleIds.get("unk_token"));

        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", null);
        root.add("padding", null);
        JsonArray addedTokens = new JsonArray();
        added.forEach((id, t) -> addedTokens.add(t.toJson(id)));
        root.add("added_tokens", addedTokens);
        root.add("normalizer", sequence("normalizers",
                type("NFC"),
                replace(regex("\\s+"), " "),
                type("Lowercase")));
        JsonObject split = type("Split");
        split.add("pattern", regex(SPLIT_PATTERN));
        split.addProperty("behavior", "Removed");
        split.addProperty("invert", true);
        root.add("pre_tokenizer", sequence("pretokenizers", split, byteLevel()));
        root.add("post_processor", roberta(tokenOf(specialTokens, "bos_token"), roleIds.get("bos_token"),
                tokenOf(specialTokens, "eos_token"), roleIds.get("eos_token")));
        root.add("decoder", byteLevel());
        JsonObject model = type("BPE");
        model.add("dropout", null);
        model.addProperty("unk_token", unk);
        model.addProperty("continuing_subword_prefix", "");
        model.addProperty("end_of_word_suffix", END_OF_WORD);
        model.addProperty("fuse_unk", false);
        model.addProperty("byte_fallback", false);
        JsonObject v = new JsonObject();
        vocab.forEach(v::addProperty);
        model.add("vocab", v);
        JsonArray m = new JsonArray();
        merges.forEach(m::add);
        model.add("merges", m);
        root.add("model", model);
        return root;
    }

    /** The token of every role in {@link #ROLES}: the one given, else CLIP's default. */
    public static Map<String, String> roleTokens(Map<String, AddedToken> specialTokens) {
        Map<String, String> tokens = new LinkedHashMap<>();
        for (String role : ROLES) {
            tokens.put(role, tokenOf(specialTokens, role));
        }
        return tokens;
    }

    private static String tokenOf(Map<String, AddedToken> specialTokens, String role) {
        AddedToken t = specialTokens.get(role);
        return t != null ? t.content() : DEFAULTS.get(role);
    }

    private static Map<String, Integer> readVocab(Path file) {
        JsonElement root;
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            root = JsonParser.parseReader(r);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("missing " + file + " (a CLIP tokenizer needs vocab.json and merges.txt)", e);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e, e);
        } catch (JsonParseException e) {
            throw new ModelLoadException("malformed " + file + ": " + (e.getCause() != null ? e.getCause() : e).getMessage(), e);
        }
        if (!root.isJsonObject()) {
            throw new ModelLoadException("malformed " + file + ": not a JSON object of token → id");
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : root.getAsJsonObject().entrySet()) {
            JsonElement id = e.getValue();
            if (!id.isJsonPrimitive() || !id.getAsJsonPrimitive().isNumber() || !isNonNegativeInt(id.getAsJsonPrimitive())) {
                throw new ModelLoadException("malformed " + file + ": the id of '" + e.getKey() + "' is " + id + ", not a token id");
            }
            vocab.put(e.getKey(), id.getAsInt());
        }
        if (vocab.isEmpty()) {
            throw new ModelLoadException("malformed " + file + ": no tokens");
        }
        return vocab;
    }

    private static boolean isNonNegativeInt(JsonPrimitive p) {
        double d = p.getAsDouble();
        return d >= 0 && d <= Integer.MAX_VALUE && d == Math.rint(d);
    }

    /** The merges as {@code "a b"}, checked against the vocabulary: both parts and what they make must be tokens. */
    private static List<String> readMerges(Path file, Map<String, Integer> vocab) {
        List<String> merges = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line = r.readLine(); line != null && merges.size() < MAX_MERGES; line = r.readLine()) {
                lineNo++;
                if (lineNo == 1 && line.startsWith("#")) {
                    continue; // "#version: 0.2"
                }
                String trimmed = line.strip();
                if (trimmed.isEmpty()) {
                    continue;
                }
                String[] pair = trimmed.split("\\s+");
                if (pair.length != 2) {
                    throw new ModelLoadException("malformed " + file + ": line " + lineNo + " '" + trimmed + "' is not two tokens");
                }
                for (String token : new String[] {pair[0], pair[1], pair[0] + pair[1]}) {
                    if (!vocab.containsKey(token)) {
                        throw new ModelLoadException("malformed " + file + ": line " + lineNo + " '" + trimmed + "' needs '" + token
                                + "', which vocab.json lacks");
                    }
                }
                merges.add(pair[0] + " " + pair[1]);
            }
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("missing " + file + " (a CLIP tokenizer needs vocab.json and merges.txt)", e);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e, e);
        }
        return merges;
    }

    private static JsonObject type(String type) {
        JsonObject o = new JsonObject();
        o.addProperty("type", type);
        return o;
    }

    private static JsonObject sequence(String member, JsonObject... steps) {
        JsonObject o = type("Sequence");
        JsonArray a = new JsonArray();
        for (JsonObject s : steps) {
            a.add(s);
        }
        o.add(member, a);
        return o;
    }

    private static JsonObject regex(String pattern) {
        JsonObject o = new JsonObject();
        o.addProperty("Regex", pattern);
        return o;
    }

    private static JsonObject replace(JsonObject pattern, String content) {
        JsonObject o = type("Replace");
        o.add("pattern", pattern);
        o.addProperty("content", content);
        return o;
    }

    private static JsonObject byteLevel() {
        JsonObject o = type("ByteLevel");
        o.addProperty("add_prefix_space", false);
        o.addProperty("trim_offsets", true);
        o.addProperty("use_regex", true);
        return o;
    }

    private static JsonObject roberta(String cls, int clsId, String sep, int sepId) {
        JsonObject o = type("RobertaProcessing");
        JsonArray s = new JsonArray();
        s.add(sep);
        s.add(sepId);
        o.add("sep", s);
        JsonArray c = new JsonArray();
        c.add(cls);
        c.add(clsId);
        o.add("cls", c);
        o.addProperty("trim_offsets", false);
        o.addProperty("add_prefix_space", false);
        return o;
    }
}
