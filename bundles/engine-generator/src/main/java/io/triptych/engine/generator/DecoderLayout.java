package io.triptych.engine.generator;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.triptych.api.ModelLoadException;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.TensorSpec;

/**
 * How a decoder graph is fed, read from its own signature: which of the standard inputs it has
 * and their element types, and its key/value cache, either one tensor per layer holding keys and
 * values ({@code [2, batch, heads, seq, head_size]}, ORT GenAI's {@code past_names}) or a key and a
 * value tensor per layer ({@code [batch, heads, seq, head_size]}).
 */
final class DecoderLayout {
    /** The decoder's part name. */
    final String decoder;
    final TensorSpec inputIds;
    /** {@code null} where the graph has no such input. */
    final TensorSpec attentionMask;
    /** {@code null} where the graph has no such input. */
    final TensorSpec positionIds;
    /** Optimum's merged decoder: false runs the prompt branch, true the cached branch; else {@code null}. */
    final TensorSpec useCacheBranch;
    final String logits;
    /** Cache inputs, and at the same index the output that feeds each on the next step. */
    final List<TensorSpec> past;
    final List<String> present;
    /** Whether each cache tensor holds keys and values ({@code [2, batch, ...]}). */
    final boolean combinedCache;
    final long kvHeads;
    final long headSize;

    DecoderLayout(LlmConfig config) {
        ModelPart part = config.part();
        var names = config.names();
        decoder = part.name();
        inputIds = part.input(names.get("input_ids"));
        if (inputIds == null) {
            throw new ModelLoadException(part.name() + " has no input '" + names.get("input_ids") + "' (inputs: " + part.inputs() + ")");
        }
        requireIntegers(inputIds);
        attentionMask = part.input(names.get("attention_mask"));
        positionIds = part.input(names.get("position_ids"));
        if (attentionMask != null) {
            requireIntegers(attentionMask);
        }
        if (positionIds != null) {
            requireIntegers(positionIds);
        }
        useCacheBranch = part.input("use_cache_branch");
        logits = names.get("logits");
        if (part.output(logits) == null) {
            throw new ModelLoadException(part.name() + " has no output '" + logits + "'");
        }
        past = new ArrayList<>();
        present = new ArrayList<>();
        combinedCache = names.containsKey("past_names");
        if (combinedCache) {
            collect(part, names.get("past_names"), names.get("present_names"));
        } else {
            for (int layer = 0; part.input(format(names.get("past_key_names"), layer)) != null; layer++) {
                addPair(part, format(names.get("past_key_names"), layer), format(names.get("present_key_names"), layer));
                addPair(part, format(names.get("past_value_names"), layer), format(names.get("present_value_names"), layer));
            }
        }
        if (past.isEmpty()) {
            kvHeads = 0;
            headSize = 0;
        } else {
            long[] shape = past.get(0).shape();
            int offset = combinedCache ? 1 : 0;
            if (shape.length != 4 + offset) {
                throw new ModelLoadException("cache input " + past.get(0) + " has rank " + shape.length + ", expected " + (4 + offset));
            }
            kvHeads = shape[1 + offset] > 0 ? shape[1 + offset] : config.kvHeads();
            headSize = shape[3 + offset] > 0 ? shape[3 + offset] : config.headSize();
            if (kvHeads <= 0 || headSize <= 0) {
                throw new ModelLoadException("cannot tell the key/value heads and head size of " + past.get(0)
                        + ": neither the graph nor the configuration gives them");
            }
        }
    }

    private void collect(ModelPart part, String pastTemplate, String presentTemplate) {
        if (presentTemplate == null) {
            throw new ModelLoadException("genai_config.json gives past_names but no present_names");
        }
        for (int layer = 0; part.input(format(pastTemplate, layer)) != null; layer++) {
            addPair(part, format(pastTemplate, layer), format(presentTemplate, layer));
        }
    }

    private void addPair(ModelPart part, String pastName, String presentName) {
        if (part.output(presentName) == null) {
            throw new ModelLoadException(part.name() + " has cache input '" + pastName + "' but no output '" + presentName + "'");
        }
        TensorSpec spec = part.input(pastName);
        if (spec.dtype() != DType.FLOAT32 && spec.dtype() != DType.FLOAT16) {
            throw new ModelLoadException("cache input " + spec + " is neither float32 nor float16");
        }
        past.add(spec);
        present.add(presentName);
    }

    /** Whether the graph keeps a key/value cache between steps (else every step reads the whole sequence). */
    boolean hasCache() {
        return !past.isEmpty();
    }

    private static void requireIntegers(TensorSpec spec) {
        if (spec.dtype() != DType.INT32 && spec.dtype() != DType.INT64) {
            throw new ModelLoadException("input " + spec + " is neither int32 nor int64");
        }
    }

    private static String format(String template, int layer) {
        return String.format(Locale.ROOT, template, layer);
    }
}
