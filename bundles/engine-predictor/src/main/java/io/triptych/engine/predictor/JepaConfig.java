package io.triptych.engine.predictor;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import io.triptych.api.ModelLoadException;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.TensorSpec;

/**
 * A JEPA model folder's descriptor, {@code jepa.json} (format {@value #FORMAT}), checked against
 * the signatures of the ONNX parts it names. Only {@code x_encoder} is required; an operation that
 * needs a part the model lacks is refused when it is asked for.
 *
 * @param imageSize the square input's side in pixels
 * @param patchSize the side of one patch; patches are numbered row-major on the grid
 * @param mean per-channel RGB mean subtracted from values in [0, 1]
 * @param std per-channel RGB standard deviation divided by
 * @param xEncoder pixels → patches (context encoder)
 * @param targetEncoder the EMA target encoder, or {@code null}
 * @param predictor context patches + positions → predicted target patches, or {@code null}
 * @param layerNormTargets whether target patches are layer-normed before comparing ({@code target_norm})
 * @param vlPredictor patches + query → text-space embedding, or {@code null}
 * @param yEncoder text → text-space embedding, or {@code null}
 * @param yOutput the y_encoder output read
 * @param yMeanPooling whether that output is per token and mean-pooled over the attention mask
 * @param tokenizer the tokenizer file, or {@code null}
 * @param maxTextLength texts are padded or truncated to this many tokens
 * @param defaultQuery the query used when a caller gives none
 * @param maskSentinel optional ({@code mask_sentinel}, else NaN): the x_encoder leaves out, as
 *                     attention keys, every patch whose mean normalised value lies below it, so
 *                     masked prediction fills the targets below it and the context is encoded
 *                     from the context alone, as I-JEPA's context encoder does
 */
record JepaConfig(int imageSize, int patchSize, float[] mean, float[] std, ModelPart xEncoder, ModelPart targetEncoder,
                  ModelPart predictor, boolean layerNormTargets, ModelPart vlPredictor, ModelPart yEncoder, String yOutput,
                  boolean yMeanPooling, Path tokenizer, int maxTextLength, String defaultQuery,
                  double maskSentinel) {

    static final String FILE = "jepa.json";
    static final String FORMAT = "triptych-jepa/1";

    // tensor names fixed by the format
    static final String PIXELS = "pixels";
    static final String PATCHES = "patches";
    static final String CONTEXT = "context";
    static final String CONTEXT_POSITIONS = "context_positions";
    static final String TARGET_POSITIONS = "target_positions";
    static final String PREDICTED = "predicted";
    static final String QUERY_IDS = "query_ids";
    static final String QUERY_MASK = "query_mask";
    static final String EMBEDDING = "embedding";
    static final String INPUT_IDS = "input_ids";
    static final String ATTENTION_MASK = "attention_mask";
    static final String TOKEN_TYPE_IDS = "token_type_ids";

    private static final Set<DType> INDEX_TYPES = Set.of(DType.INT64, DType.INT32);

    /** Patches per side of the grid. */
    int grid() {
        return imageSize / patchSize;
    }

    /** Patches per image. */
    int patchCount() {
        return grid() * grid();
    }

    /** The parts named, each once, to compile together. */
    List<ModelPart> parts() {
        List<ModelPart> parts = new ArrayList<>();
        for (ModelPart p : new ModelPart[] {xEncoder, targetEncoder, predictor, vlPredictor, yEncoder}) {
            if (p != null && !parts.contains(p)) {
                parts.add(p);
            }
        }
        return parts;
    }

    /**
     * Reads and checks the descriptor of a deployed JEPA model.
     *
     * @throws ModelLoadException naming the field or part that is wrong
     */
    static JepaConfig read(ModelDescriptor model) {
        JsonObject root = json(model.folder().resolve(FILE));
        String format = string(root, "format", null);
        check(FORMAT.equals(format), "format is " + (format == null ? "missing" : "'" + format + "'") + ", expected '" + FORMAT + "'");
        int imageSize = integer(root, "image_size", -1);
        int patchSize = integer(root, "patch_size", -1);
        check(imageSize > 0 && patchSize > 0 && imageSize % patchSize == 0,
                "image_size (" + imageSize + ") must be a positive multiple of patch_size (" + patchSize + ")");
        JsonObject normalize = root.has("normalize") && root.get("normalize").isJsonObject() ? root.getAsJsonObject("normalize") : new JsonObject();
        float[] mean = rgb(normalize, "mean", 0f);
        float[] std = rgb(normalize, "std", 1f);
        for (float s : std) {
            check(s > 0, "normalize.std must be > 0, got " + s);
        }
        String pooling = string(root, "pooling", "mean");
        check(pooling.equals("mean"), "pooling '" + pooling + "' is not supported (mean)");
        String targetNorm = string(root, "target_norm", "layer_norm");
        check(targetNorm.equals("layer_norm") || targetNorm.equals("none"), "target_norm '" + targetNorm + "' is not supported (layer_norm, none)");
        String yPooling = string(root, "y_pooling", "none");
        check(yPooling.equals("none") || yPooling.equals("mean"), "y_pooling '" + yPooling + "' is not supported (none, mean)");
        String yOutput = string(root, "y_output", EMBEDDING);
        int maxTextLength = integer(root, "max_text_length", 16);
        check(maxTextLength > 0, "max_text_length must be > 0, got " + maxTextLength);

        ModelPart x = part(model, root, "x_encoder", true);
        ModelPart target = part(model, root, "target_encoder", false);
        ModelPart predictor = part(model, root, "predictor", false);
        ModelPart vl = part(model, root, "vl_predictor", false);
        ModelPart y = part(model, root, "y_encoder", false);
        for (ModelPart encoder : new ModelPart[] {x, target}) {
            if (encoder != null) {
                String role = encoder == x ? "x_encoder" : "target_encoder";
                image(encoder, role, PIXELS, imageSize);
                output(encoder, role, PATCHES, 3);
            }
        }
        if (predictor != null) {
            input(predictor, "predictor", CONTEXT, 3, Set.of(DType.FLOAT32));
            input(predictor, "predictor", CONTEXT_POSITIONS, 2, INDEX_TYPES);
            input(predictor, "predictor", TARGET_POSITIONS, 2, INDEX_TYPES);
            output(predictor, "predictor", PREDICTED, 3);
        }
        if (vl != null) {
            input(vl, "vl_predictor", PATCHES, 3, Set.of(DType.FLOAT32));
            input(vl, "vl_predictor", QUERY_IDS, 2, INDEX_TYPES);
            input(vl, "vl_predictor", QUERY_MASK, 2, INDEX_TYPES);
            output(vl, "vl_predictor", EMBEDDING, 2);
        }
        if (y != null) {
            input(y, "y_encoder", INPUT_IDS, 2, INDEX_TYPES);
            input(y, "y_encoder", ATTENTION_MASK, 2, INDEX_TYPES);
            if (y.input(TOKEN_TYPE_IDS) != null) {
                input(y, "y_encoder", TOKEN_TYPE_IDS, 2, INDEX_TYPES);
            }
            check(y.inputs().size() == (y.input(TOKEN_TYPE_IDS) != null ? 3 : 2), "y_encoder " + y.name() + " takes inputs "
                    + y.inputs().stream().map(TensorSpec::name).toList() + "; expected input_ids, attention_mask[, token_type_ids]");
            output(y, "y_encoder", yOutput, yPooling.equals("mean") ? 3 : 2);
        }
        if (vl != null && y != null) {
            long vlWidth = last(vl.output(EMBEDDING));
            long yWidth = last(y.output(yOutput));
            check(vlWidth < 0 || yWidth < 0 || vlWidth == yWidth, "vl_predictor embeds into " + vlWidth + " dimensions, y_encoder into "
                    + yWidth + "; they must share one text space");
        }
        String tokenizerName = string(root, "tokenizer", null);
        Path tokenizer = null;
        if (tokenizerName != null) {
            tokenizer = model.folder().resolve(tokenizerName).normalize();
            check(tokenizer.startsWith(model.folder().normalize()) && Files.isRegularFile(tokenizer),
                    "tokenizer " + tokenizerName + " is not a file in the model folder");
        }
        check(tokenizer != null || (vl == null && y == null), "vl_predictor and y_encoder need a tokenizer; none is named");
        return new JepaConfig(imageSize, patchSize, mean, std, x, target, predictor, !targetNorm.equals("none"), vl, y, yOutput,
                yPooling.equals("mean"), tokenizer, maxTextLength, string(root, "default_query", ""), number(root, "mask_sentinel"));
    }

    private static ModelPart part(ModelDescriptor model, JsonObject root, String field, boolean required) {
        String name = string(root, field, null);
        if (name == null) {
            check(!required, "no " + field + " is named");
            return null;
        }
        ModelPart p = model.parts().get(name);
        check(p != null, field + " " + name + " is not among the model's ONNX parts " + model.parts().keySet());
        return p;
    }

    /** An image input [b, 3, H, W] whose fixed dimensions match the descriptor. */
    private static void image(ModelPart part, String role, String name, int size) {
        TensorSpec s = input(part, role, name, 4, Set.of(DType.FLOAT32));
        long[] shape = s.shape();
        check((shape[1] < 0 || shape[1] == 3) && (shape[2] < 0 || shape[2] == size) && (shape[3] < 0 || shape[3] == size),
                role + " " + part.name() + " input " + s + " does not take [batch,3," + size + "," + size + "] images (image_size " + size + ")");
    }

    private static TensorSpec input(ModelPart part, String role, String name, int rank, Set<DType> types) {
        TensorSpec s = part.input(name);
        check(s != null, role + " " + part.name() + " has no input '" + name + "' (inputs: " + part.inputs().stream().map(TensorSpec::name).toList() + ")");
        check(s.rank() == rank && types.contains(s.dtype()), role + " " + part.name() + " input " + s + " is not of rank " + rank + " and type "
                + types.stream().map(t -> t.name().toLowerCase(Locale.ROOT)).sorted().toList());
        return s;
    }

    private static void output(ModelPart part, String role, String name, int rank) {
        TensorSpec s = part.output(name);
        check(s != null, role + " " + part.name() + " has no output '" + name + "' (outputs: " + part.outputs().stream().map(TensorSpec::name).toList() + ")");
        check(s.rank() == rank && s.dtype() == DType.FLOAT32, role + " " + part.name() + " output " + s + " is not float32 of rank " + rank);
    }

    private static long last(TensorSpec s) {
        return s.shape()[s.rank() - 1];
    }

    private static JsonObject json(Path file) {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonElement e = JsonParser.parseReader(r);
            check(e.isJsonObject(), "not a JSON object");
            return e.getAsJsonObject();
        } catch (IOException | JsonParseException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static String string(JsonObject o, String key, String otherwise) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return otherwise;
        }
        check(e.isJsonPrimitive() && e.getAsJsonPrimitive().isString(), "'" + key + "' is not a string: " + e);
        return e.getAsString();
    }

    private static int integer(JsonObject o, String key, int otherwise) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return otherwise;
        }
        check(e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() && e.getAsDouble() == Math.rint(e.getAsDouble()),
                "'" + key + "' is not an integer: " + e);
        return e.getAsInt();
    }

    private static double number(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return Double.NaN;
        }
        check(e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() && Double.isFinite(e.getAsDouble()), "'" + key + "' is not a number: " + e);
        return e.getAsDouble();
    }

    private static float[] rgb(JsonObject o, String key, float otherwise) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return new float[] {otherwise, otherwise, otherwise};
        }
        check(e.isJsonArray() && e.getAsJsonArray().size() == 3, "normalize." + key + " is not three numbers: " + e);
        JsonArray a = e.getAsJsonArray();
        float[] v = new float[3];
        for (int i = 0; i < 3; i++) {
            check(a.get(i).isJsonPrimitive() && a.get(i).getAsJsonPrimitive().isNumber(), "normalize." + key + " is not three numbers: " + e);
            v[i] = a.get(i).getAsFloat();
        }
        return v;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new ModelLoadException(FILE + ": " + message);
        }
    }
}
