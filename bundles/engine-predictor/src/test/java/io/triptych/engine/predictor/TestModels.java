package io.triptych.engine.predictor;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.triptych.api.Paradigm;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.backend.ortcpu.OrtCpuBackend;
import io.triptych.engine.support.BackendBinding;
import io.triptych.onnx.OnnxModelReader;

/** Model folders, images and an ort-cpu backend for the engine's tests, outside OSGi. */
final class TestModels {
    static final OrtCpuBackend ORT = new OrtCpuBackend(1, 1, "ALL_OPT", 100);

    private TestModels() {
    }

    /** Our random-weight folder (models/test-jepa/make_test_jepa.py). */
    static Path testJepa() {
        try {
            return Path.of(TestModels.class.getResource("/test-jepa/jepa.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A folder as the model registry describes it: every top-level {@code .onnx} string of jepa.json is a part. */
    static ModelDescriptor describe(Path folder) {
        assertTrue(Files.isRegularFile(folder.resolve(JepaConfig.FILE)), "model folder missing: " + folder);
        Map<String, ModelPart> parts = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : json(folder.resolve(JepaConfig.FILE)).entrySet()) {
            if (e.getValue().isJsonPrimitive() && e.getValue().getAsString().endsWith(".onnx")) {
                parts.put(e.getValue().getAsString(), OnnxModelReader.read(folder.resolve(e.getValue().getAsString()), e.getValue().getAsString()));
            }
        }
        return ModelDescriptor.deployed(folder.getFileName().toString(), Paradigm.JEPA, folder, "test", parts);
    }

    /** The model's parts compiled on ort-cpu and warmed, as the engine does before binding them. */
    static BackendBinding.Compiled compile(OnnxPredictor p) {
        Map<String, CompiledModel> parts = new HashMap<>();
        for (ModelPart part : p.parts()) {
            parts.put(part.name(), ORT.compile(part));
        }
        BackendBinding.Compiled compiled = new BackendBinding.Compiled(ORT.id(), parts);
        p.warm(compiled);
        return compiled;
    }

    /** A predictor of the folder, serving on ort-cpu. */
    static OnnxPredictor serve(Path folder) {
        OnnxPredictor p = new OnnxPredictor(describe(folder));
        p.binding().bind(compile(p));
        return p;
    }

    /** A copy of test-jepa (files {@code extra} added from elsewhere) whose jepa.json {@code edit} changed. */
    static Path variant(Path dir, Map<String, Path> extra, Consumer<JsonObject> edit) {
        try {
            Files.createDirectories(dir);
            try (Stream<Path> files = Files.list(testJepa())) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
            for (Map.Entry<String, Path> e : extra.entrySet()) {
                Files.copy(e.getValue(), dir.resolve(e.getKey()));
            }
            JsonObject descriptor = json(dir.resolve(JepaConfig.FILE));
            edit.accept(descriptor);
            Files.writeString(dir.resolve(JepaConfig.FILE), new GsonBuilder().setPrettyPrinting().create().toJson(descriptor));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonObject json(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A shape drawn as our renderer's scenes are: one filled shape on white. */
    static BufferedImage shape(String shape, Color color, int size) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, size, size);
        g.setColor(color);
        int m = size / 5;
        switch (shape) {
            case "circle" -> g.fillOval(m, m, size - 2 * m, size - 2 * m);
            case "square" -> g.fillRect(m, m, size - 2 * m, size - 2 * m);
            case "triangle" -> g.fillPolygon(new int[] {size / 2, size - m, m}, new int[] {m, size - m, size - m}, 3);
            default -> throw new IllegalArgumentException(shape);
        }
        g.dispose();
        return img;
    }

    static BufferedImage solid(Color color, int width, int height) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(color);
        g.fillRect(0, 0, width, height);
        g.dispose();
        return img;
    }
}
