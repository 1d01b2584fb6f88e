package io.triptych.engine.predictor;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.ModelLoadException;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.tokenizers.HfTokenizer;

/**
 * Texts as the fixed-length token rows a JEPA model's text graphs take: the tokenizer's ids, with
 * the special tokens its {@code post_processor} adds to a single sequence (e.g. BERT's
 * {@code [CLS] … [SEP]}, as Hugging Face's {@code encode} does by default), the text truncated so
 * that the whole row fits {@code max_text_length}, right-padded with the tokenizer's pad token.
 * Thread-safe; closing it frees the tokenizer.
 */
final class TextTokens implements AutoCloseable {

    /** Token rows of a batch of texts, shaped {@code [texts, length]}. */
    record Batch(long[] ids, long[] mask, int texts, int length) {

        /** The rows as a tensor of the type a graph input declares (int64 or int32). */
        Tensor tensor(long[] values, DType type) {
            if (type == DType.INT32) {
                return Tensor.of(Arrays.stream(values).mapToInt(Math::toIntExact).toArray(), texts, length);
            }
            return Tensor.of(values, texts, length);
        }
    }

    private final HfTokenizer tokenizer;
    private final int[] prefix;
    private final int[] suffix;
    private final int padId;
    private final int maxLength;

    private TextTokens(HfTokenizer tokenizer, int[] prefix, int[] suffix, int padId, int maxLength) {
        this.tokenizer = tokenizer;
        this.prefix = prefix;
        this.suffix = suffix;
        this.padId = padId;
        this.maxLength = maxLength;
    }

    /**
     * @throws ModelLoadException if the tokenizer cannot be read, or its special tokens leave no room for text
     */
    static TextTokens load(Path tokenizerJson, int maxLength) {
        List<List<Integer>> specials = specialTokens(tokenizerJson);
        HfTokenizer t = HfTokenizer.load(tokenizerJson);
        int pad = t.tokenId("[PAD]").orElse(t.tokenId("<pad>").orElse(0));
        int[] prefix = specials.get(0).stream().mapToInt(Integer::intValue).toArray();
        int[] suffix = specials.get(1).stream().mapToInt(Integer::intValue).toArray();
        if (prefix.length + suffix.length >= maxLength) {
            t.close();
            throw new ModelLoadException("max_text_length " + maxLength + " leaves no room for text beside "
                    + (prefix.length + suffix.length) + " special tokens");
        }
        return new TextTokens(t, prefix, suffix, pad, maxLength);
    }

    /**
     * Token rows for texts.
     *
     * @throws InvalidRequestException for a blank text or one the tokenizer makes nothing of
     */
    Batch encode(List<String> texts) {
        long[] ids = new long[texts.size() * maxLength];
        long[] mask = new long[ids.length];
        Arrays.fill(ids, padId);
        for (int r = 0; r < texts.size(); r++) {
            String text = texts.get(r);
            if (text == null || text.isBlank()) {
                throw new InvalidRequestException("text " + r + " is empty");
            }
            int[] body = tokenizer.encode(text);
            if (body.length == 0) {
                throw new InvalidRequestException("the tokenizer makes no tokens of '" + text + "'");
            }
            int room = maxLength - prefix.length - suffix.length;
            int at = r * maxLength;
            for (int[] piece : new int[][] {prefix, Arrays.copyOf(body, Math.min(room, body.length)), suffix}) {
                for (int id : piece) {
                    mask[at] = 1;
                    ids[at++] = id;
                }
            }
        }
        return new Batch(ids, mask, texts.size(), maxLength);
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /**
     * The ids placed before and after a single sequence by the tokenizer's post-processor:
     * {@code TemplateProcessing} (its {@code single} template), {@code BertProcessing} and
     * {@code RobertaProcessing} ({@code cls}, {@code sep}), or a {@code Sequence} of those; other
     * post-processors (e.g. {@code ByteLevel}) add none.
     */
    private static List<List<Integer>> specialTokens(Path file) {
        JsonObject root;
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonElement e = JsonParser.parseReader(r);
            if (!e.isJsonObject()) {
                throw new ModelLoadException("malformed tokenizer " + file + ": not a JSON object");
            }
            root = e.getAsJsonObject();
        } catch (IOException | JsonParseException e) {
            throw new ModelLoadException("cannot read tokenizer " + file + ": " + e.getMessage(), e);
        }
        List<List<Integer>> around = List.of(new ArrayList<>(), new ArrayList<>());
        try {
            JsonElement post = root.get("post_processor");
            if (post != null && post.isJsonObject()) {
                addSpecials(post.getAsJsonObject(), around);
            }
        } catch (RuntimeException e) {
            throw new ModelLoadException("malformed post_processor in tokenizer " + file + ": " + e.getMessage(), e);
        }
        return around;
    }

    private static void addSpecials(JsonObject post, List<List<Integer>> around) {
        String type = post.has("type") ? post.get("type").getAsString() : "";
        switch (type) {
            case "TemplateProcessing" -> {
                JsonObject specials = post.getAsJsonObject("special_tokens");
                int side = 0;
                for (JsonElement piece : post.getAsJsonArray("single")) {
                    JsonObject p = piece.getAsJsonObject();
                    if (p.has("Sequence")) {
                        side = 1;
                    } else {
                        String id = p.getAsJsonObject("SpecialToken").get("id").getAsString();
                        for (JsonElement i : specials.getAsJsonObject(id).getAsJsonArray("ids")) {
                            around.get(side).add(i.getAsInt());
                        }
                    }
                }
            }
            case "BertProcessing", "RobertaProcessing" -> {
                around.get(0).add(post.getAsJsonArray("cls").get(1).getAsInt());
                around.get(1).add(post.getAsJsonArray("sep").get(1).getAsInt());
            }
            case "Sequence" -> post.getAsJsonArray("processors").forEach(p -> addSpecials(p.getAsJsonObject(), around));
            default -> {
                // ByteLevel and the like change offsets, not ids
            }
        }
    }
}
