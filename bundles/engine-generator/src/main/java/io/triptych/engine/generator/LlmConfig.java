package io.triptych.engine.generator;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import io.triptych.api.ModelLoadException;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;

/**
 * What the engine needs from an LLM folder's configuration: the decoder part, the tensor name
 * templates, the special token ids, the vocabulary and context sizes, and the search defaults.
 * Read from an ONNX Runtime GenAI {@code genai_config.json}, or from a Hugging Face Optimum export's
 * {@code config.json} (plus {@code generation_config.json} when present).
 *
 * @param part the decoder graph
 * @param names tensor names by role ({@code input_ids}, {@code attention_mask}, {@code position_ids},
 *              {@code past_key_names}, {@code past_value_names}, {@code past_names}, {@code logits},
 *              {@code present_key_names}, {@code present_value_names}, {@code present_names});
 *              the cache entries are {@code %d} templates over the layer
 * @param vocabSize the number of token ids the model takes
 * @param contextLength the longest sequence the model takes
 * @param padTokenId the token that left-pads prompts and fills finished rows
 * @param eosTokenIds the tokens that end a sequence
 * @param kvHeads key/value heads, or 0 if the graph's shapes must tell
 * @param headSize the size of one head, or 0 if the graph's shapes must tell
 * @param searchDefaults the model's search defaults over ORT GenAI's
 */
record LlmConfig(ModelPart part, Map<String, String> names, int vocabSize, int contextLength, int padTokenId,
                 int[] eosTokenIds, int kvHeads, int headSize, SearchOptions searchDefaults) {

    static final String GENAI_CONFIG = "genai_config.json";
    static final String HF_CONFIG = "config.json";
    static final String HF_GENERATION_CONFIG = "generation_config.json";

    /** ORT GenAI's default tensor names; genai_config.json's {@code inputs}/{@code outputs} override them. */
    private static final Map<String, String> DEFAULT_NAMES = Map.of(
            "input_ids", "input_ids", "attention_mask", "attention_mask", "position_ids", "position_ids",
            "past_key_names", "past_key_values.%d.key", "past_value_names", "past_key_values.%d.value",
            "logits", "logits", "present_key_names", "present.%d.key", "present_value_names", "present.%d.value");

    /** Optimum decoder files, most capable first: the merged decoder runs both the prompt and the cached steps. */
    private static final List<String> OPTIMUM_DECODERS = List.of("decoder_model_merged.onnx", "model.onnx",
            "decoder_with_past_model.onnx", "decoder_model.onnx");

    /**
     * Reads the configuration of a deployed LLM.
     *
     * @throws ModelLoadException if it is missing, malformed or names no usable decoder
     */
    static LlmConfig read(ModelDescriptor model) {
        Path folder = model.folder();
        if (Files.exists(folder.resolve(GENAI_CONFIG))) {
            return fromGenAi(model, json(folder, GENAI_CONFIG));
        }
        if (Files.exists(folder.resolve(HF_CONFIG))) {
            JsonObject generation = Files.exists(folder.resolve(HF_GENERATION_CONFIG)) ? json(folder, HF_GENERATION_CONFIG) : new JsonObject();
            return fromOptimum(model, json(folder, HF_CONFIG), generation);
        }
        throw new ModelLoadException("model " + model.id() + " has neither " + GENAI_CONFIG + " nor " + HF_CONFIG);
    }

    private static LlmConfig fromGenAi(ModelDescriptor model, JsonObject root) {
        JsonObject m = object(root, "model");
        JsonObject decoder = object(m, "decoder");
        ModelPart part = model.part(string(decoder, "filename"));
        Map<String, String> names = new java.util.HashMap<>(DEFAULT_NAMES);
        for (String section : List.of("inputs", "outputs")) {
            if (decoder.has(section)) {
                object(decoder, section).entrySet().forEach(e -> names.put(e.getKey(), e.getValue().getAsString()));
            }
        }
        int vocab = integer(m, "vocab_size", vocabFromLogits(part, names.get("logits")));
        int[] eos = ids(m.get("eos_token_id"));
        int pad = integer(m, "pad_token_id", eos.length > 0 ? eos[0] : 0);
        SearchOptions search = search(root.has("search") ? object(root, "search") : new JsonObject());
        return new LlmConfig(part, names, vocab, integer(m, "context_length", 0), pad, eos,
                integer(decoder, "num_key_value_heads", 0), integer(decoder, "head_size", 0), search);
    }

    private static LlmConfig fromOptimum(ModelDescriptor model, JsonObject config, JsonObject generation) {
        ModelPart part = OPTIMUM_DECODERS.stream().filter(model.parts()::containsKey).findFirst().map(model.parts()::get)
                .orElseGet(() -> {
                    if (model.parts().size() != 1) {
                        throw new ModelLoadException("model " + model.id() + ": none of " + OPTIMUM_DECODERS + " among its ONNX files "
                                + model.parts().keySet());
                    }
                    return model.parts().values().iterator().next();
                });
        Map<String, String> names = new java.util.HashMap<>(DEFAULT_NAMES);
        int[] eos = ids(generation.has("eos_token_id") ? generation.get("eos_token_id") : config.get("eos_token_id"));
        int pad = integer(generation, "pad_token_id", integer(config, "pad_token_id", eos.length > 0 ? eos[0] : 0));
        int context = integer(config, "max_position_embeddings", integer(config, "n_positions", integer(config, "n_ctx", 0)));
        int heads = integer(config, "num_attention_heads", integer(config, "n_head", 0));
        int kvHeads = integer(config, "num_key_value_heads", heads);
        int hidden = integer(config, "hidden_size", integer(config, "n_embd", 0));
        int headSize = integer(config, "head_dim", heads > 0 ? hidden / heads : 0);
        return new LlmConfig(part, names, integer(config, "vocab_size", vocabFromLogits(part, names.get("logits"))), context,
                pad, eos, kvHeads, headSize, search(generation));
    }

    /**
     * ORT GenAI's {@code search} section and Hugging Face's {@code generation_config.json} share
     * option names; what a file leaves out keeps ORT GenAI's default.
     */
    static SearchOptions search(JsonObject s) {
        SearchOptions d = SearchOptions.DEFAULTS;
        return SearchOptions.builder()
                .maxLength(integer(s, "max_length", d.maxLength()))
                .minLength(integer(s, "min_length", d.minLength()))
                .doSample(bool(s, "do_sample", d.doSample()))
                .topK(integer(s, "top_k", d.topK()))
                .topP(number(s, "top_p", d.topP()))
                .temperature(number(s, "temperature", d.temperature()))
                .repetitionPenalty(number(s, "repetition_penalty", d.repetitionPenalty()))
                .noRepeatNgramSize(integer(s, "no_repeat_ngram_size", d.noRepeatNgramSize()))
                .numBeams(integer(s, "num_beams", d.numBeams()))
                .numReturnSequences(integer(s, "num_return_sequences", d.numReturnSequences()))
                .lengthPenalty(number(s, "length_penalty", d.lengthPenalty()))
                .earlyStopping(bool(s, "early_stopping", d.earlyStopping()))
                .randomSeed(s.has("random_seed") ? s.get("random_seed").getAsLong() : d.randomSeed())
                .build();
    }

    private static int vocabFromLogits(ModelPart part, String logits) {
        var spec = part.output(logits);
        long last = spec == null || spec.rank() == 0 ? -1 : spec.shape()[spec.rank() - 1];
        return (int) Math.max(last, 0);
    }

    private static JsonObject json(Path folder, String name) {
        try (Reader r = Files.newBufferedReader(folder.resolve(name), StandardCharsets.UTF_8)) {
            JsonElement e = JsonParser.parseReader(r);
            if (!e.isJsonObject()) {
                throw new ModelLoadException("malformed " + name + ": not a JSON object");
            }
            return e.getAsJsonObject();
        } catch (IOException | JsonParseException e) {
            throw new ModelLoadException("cannot read " + folder.resolve(name) + ": " + e.getMessage(), e);
        }
    }

    private static JsonObject object(JsonObject parent, String key) {
        JsonElement e = parent.get(key);
        if (e == null || !e.isJsonObject()) {
            throw new ModelLoadException("configuration has no object '" + key + "'");
        }
        return e.getAsJsonObject();
    }

    private static String string(JsonObject parent, String key) {
        JsonElement e = parent.get(key);
        if (e == null || !e.isJsonPrimitive()) {
            throw new ModelLoadException("configuration has no string '" + key + "'");
        }
        return e.getAsString();
    }

    private static boolean present(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull();
    }

    private static int integer(JsonObject o, String key, int otherwise) {
        try {
            return present(o, key) ? o.get(key).getAsInt() : otherwise;
        } catch (RuntimeException e) {
            throw new ModelLoadException("configuration '" + key + "' is not an integer: " + o.get(key));
        }
    }

    private static float number(JsonObject o, String key, float otherwise) {
        try {
            return present(o, key) ? o.get(key).getAsFloat() : otherwise;
        } catch (RuntimeException e) {
            throw new ModelLoadException("configuration '" + key + "' is not a number: " + o.get(key));
        }
    }

    private static boolean bool(JsonObject o, String key, boolean otherwise) {
        return present(o, key) ? o.get(key).getAsBoolean() : otherwise;
    }

    /** An id or a list of ids (eos may be either). */
    private static int[] ids(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return new int[0];
        }
        if (e.isJsonArray()) {
            int[] a = new int[e.getAsJsonArray().size()];
            for (int i = 0; i < a.length; i++) {
                a[i] = e.getAsJsonArray().get(i).getAsInt();
            }
            return a;
        }
        return new int[] {e.getAsInt()};
    }

    /** Whether {@code token} ends a sequence. */
    boolean isEos(int token) {
        for (int e : eosTokenIds) {
            if (e == token) {
                return true;
            }
        }
        return false;
    }
}
