package io.triptych.registry;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import io.triptych.api.ModelLoadException;
import io.triptych.api.Paradigm;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.onnx.OnnxModelReader;

/**
 * Reads a model folder in one of the reference layouts, validates its JSON and ONNX files, and
 * describes it. Never throws: a folder that cannot be loaded gives a FAILED descriptor.
 *
 * <ul>
 * <li>ONNX Runtime GenAI: {@code genai_config.json} naming {@code model.decoder.filename} (LLM)</li>
 * <li>Hugging Face Optimum decoder export: {@code config.json} + {@code *.onnx} (LLM)</li>
 * <li>diffusers ONNX pipeline: {@code model_index.json} + {@code unet/model.onnx}, ... (diffusion)</li>
 * <li>Triptych JEPA: {@code jepa.json} whose string values ending in {@code .onnx} name its parts</li>
 * </ul>
 */
final class ModelFolderLoader {
    static final String GENAI_CONFIG = "genai_config.json";
    static final String MODEL_INDEX = "model_index.json";
    static final String JEPA_CONFIG = "jepa.json";
    static final String HF_CONFIG = "config.json";
    private static final List<String> DIFFUSION_PARTS = List.of("text_encoder", "unet", "vae_decoder", "vae_encoder");

    private ModelFolderLoader() {
    }

    static ModelDescriptor load(Path folder, String origin) {
        String id = folder.getFileName().toString();
        Paradigm paradigm = null;
        try {
            if (!Files.isDirectory(folder)) {
                throw new ModelLoadException("not a folder: " + folder);
            }
            Map<String, ModelPart> parts = new LinkedHashMap<>();
            if (Files.exists(folder.resolve(GENAI_CONFIG))) {
                paradigm = Paradigm.LLM;
                JsonObject decoder = object(object(readJson(folder, GENAI_CONFIG), "model", GENAI_CONFIG), "decoder", GENAI_CONFIG);
                addPart(folder, string(decoder, "filename", GENAI_CONFIG), parts);
            } else if (Files.exists(folder.resolve(MODEL_INDEX))) {
                paradigm = Paradigm.DIFFUSION;
                readJson(folder, MODEL_INDEX);
                for (String sub : DIFFUSION_PARTS) {
                    if (Files.exists(folder.resolve(sub))) {
                        addPart(folder, sub + "/model.onnx", parts);
                    }
                }
                if (!parts.containsKey("unet/model.onnx")) {
                    throw new ModelLoadException("diffusion pipeline without unet/model.onnx");
                }
            } else if (Files.exists(folder.resolve(JEPA_CONFIG))) {
                paradigm = Paradigm.JEPA;
                for (Map.Entry<String, JsonElement> e : readJson(folder, JEPA_CONFIG).entrySet()) {
                    JsonElement v = e.getValue();
                    if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isString() && v.getAsString().endsWith(".onnx")) {
                        addPart(folder, v.getAsString(), parts);
                    }
                }
                if (parts.isEmpty()) {
                    throw new ModelLoadException(JEPA_CONFIG + " names no .onnx part");
                }
            } else if (Files.exists(folder.resolve(HF_CONFIG))) {
                paradigm = Paradigm.LLM;
                readJson(folder, HF_CONFIG);
                for (String file : onnxFilesIn(folder)) {
                    addPart(folder, file, parts);
                }
                if (parts.isEmpty()) {
                    throw new ModelLoadException(HF_CONFIG + " without an .onnx decoder beside it");
                }
            } else {
                throw new ModelLoadException("not a model folder: no " + GENAI_CONFIG + ", " + MODEL_INDEX + ", "
                        + JEPA_CONFIG + " or " + HF_CONFIG);
            }
            return ModelDescriptor.deployed(id, paradigm, folder, origin, parts);
        } catch (ModelLoadException e) {
            return ModelDescriptor.failed(id, paradigm, folder, origin, e.getMessage());
        } catch (RuntimeException e) {
            return ModelDescriptor.failed(id, paradigm, folder, origin, "unexpected error: " + e);
        }
    }

    private static void addPart(Path folder, String relative, Map<String, ModelPart> parts) {
        Path file = folder.resolve(relative).normalize();
        if (!file.startsWith(folder.normalize())) {
            throw new ModelLoadException("part " + relative + " lies outside the model folder");
        }
        parts.put(relative, OnnxModelReader.read(file, relative));
    }

    private static List<String> onnxFilesIn(Path folder) {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".onnx")).sorted().toList();
        } catch (IOException e) {
            throw new ModelLoadException("cannot list " + folder + ": " + e.getMessage(), e);
        }
    }

    /** Parses a JSON object file of the folder; malformed JSON is a {@link ModelLoadException}. */
    static JsonObject readJson(Path folder, String name) {
        try (Reader r = Files.newBufferedReader(folder.resolve(name), StandardCharsets.UTF_8)) {
            JsonElement root = JsonParser.parseReader(r);
            if (!root.isJsonObject()) {
                throw new ModelLoadException("malformed " + name + ": not a JSON object");
            }
            return root.getAsJsonObject();
        } catch (JsonParseException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new ModelLoadException("malformed " + name + ": " + cause.getMessage(), e);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + name + ": " + e.getMessage(), e);
        }
    }

    private static JsonObject object(JsonObject parent, String key, String file) {
        JsonElement e = parent.get(key);
        if (e == null || !e.isJsonObject()) {
            throw new ModelLoadException(file + " has no object '" + key + "'");
        }
        return e.getAsJsonObject();
    }

    private static String string(JsonObject parent, String key, String file) {
        JsonElement e = parent.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new ModelLoadException(file + " has no string '" + key + "'");
        }
        return e.getAsString();
    }
}
