package io.triptych.backend.ortcpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.onnx.OnnxModelReader;

class OrtCpuBackendTest {
    static final Path GPT2 = Path.of(System.getProperty("triptych.fixtures", "../../../shared/fixtures"), "tiny-random-gpt2-fp32");

    private final OrtCpuBackend backend = new OrtCpuBackend(1, 1, "ALL_OPT", 100);

    private ModelPart part() {
        assertTrue(Files.isRegularFile(GPT2.resolve("past.onnx")), "fixture missing: " + GPT2);
        return OnnxModelReader.read(GPT2.resolve("past.onnx"), "past.onnx");
    }

    @Test
    void firstStepOfTinyGpt2PredictsTheTokensOrtGenAiPublishes() {
        try (CompiledModel model = backend.compile(part())) {
            Map<String, Tensor> in = new HashMap<>();
            in.put("input_ids", Tensor.of(new int[] {0, 0, 0, 52, 0, 0, 195, 731}, 2, 4));
            in.put("position_ids", Tensor.of(new int[] {0, 1, 2, 3, 0, 1, 2, 3}, 2, 4));
            in.put("attention_mask", Tensor.of(new int[] {1, 1, 1, 1, 1, 1, 1, 1}, 2, 4));
            for (int i = 0; i < 5; i++) {
                in.put("past_" + i, Tensor.allocate(DType.FLOAT32, 2, 2, 4, 0, 8));
            }
            Map<String, Tensor> out = model.run(in, Set.of("logits", "present_0"));
            Tensor logits = out.get("logits");
            assertArrayEquals(new long[] {2, 4, 1000}, logits.shape());
            assertArrayEquals(new long[] {2, 2, 4, 4, 8}, out.get("present_0").shape());
            float[] l = logits.toFloatArray();
            assertEquals(204, argmax(l, 3 * 1000));
            assertEquals(731, argmax(l, 7 * 1000));
            out.values().forEach(Tensor::close);
        }
    }

    @Test
    void wrongInputTypeIsATypedErrorNamingTheInput() {
        try (CompiledModel model = backend.compile(part())) {
            Map<String, Tensor> in = new HashMap<>();
            in.put("input_ids", Tensor.of(new long[] {0, 52}, 1, 2));
            InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> model.run(in));
            assertTrue(e.getMessage().contains("input_ids") || e.getMessage().contains("missing input"), e.getMessage());
        }
    }

    @Test
    void reportsDomainsItRuns() {
        assertTrue(backend.supports("ai.onnx:MatMul"));
        assertTrue(backend.supports("com.microsoft:Attention"));
        assertEquals(Set.of("org.example:Custom"), backend.missingOperators(new ModelPart("x", Path.of("x"),
                java.util.List.of(), java.util.List.of(), Set.of("ai.onnx:Add", "org.example:Custom"), Map.of())));
    }

    private static int argmax(float[] a, int from) {
        int best = 0;
        for (int i = 1; i < 1000; i++) {
            if (a[from + i] > a[from + best]) {
                best = i;
            }
        }
        return best;
    }
}
