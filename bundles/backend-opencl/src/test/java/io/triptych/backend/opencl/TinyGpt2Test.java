package io.triptych.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;

/** ORT GenAI's tiny GPT-2 (ORT contrib operators) on OpenCL against ONNX Runtime, step by step with the cache fed back. */
class TinyGpt2Test {
    static final ModelPart PART = Reference.part(Reference.FIXTURES.resolve("tiny-random-gpt2-fp32/past.onnx"));

    private static Map<String, Tensor> prompt() {
        Map<String, Tensor> in = new HashMap<>();
        in.put("input_ids", Tensor.of(new int[] {0, 0, 0, 52, 0, 0, 195, 731}, 2, 4));
        in.put("position_ids", Tensor.of(new int[] {0, 1, 2, 3, 0, 1, 2, 3}, 2, 4));
        in.put("attention_mask", Tensor.of(new int[] {1, 1, 1, 1, 1, 1, 1, 1}, 2, 4));
        for (int i = 0; i < 5; i++) {
            in.put("past_" + i, Tensor.allocate(DType.FLOAT32, 2, 2, 4, 0, 8));
        }
        return in;
    }

    @Test
    void promptLogitsAndCacheMatchOrt() {
        Reference.assertMatchesOrt(PART, prompt(), 1e-4);
    }

    @Test
    void decodingStepsWithTheCacheFedBackMatchOrtAndRepeatRunsAllocateNothing() {
        try (CompiledModel ort = Reference.ORT.compile(PART); CompiledModel cl = Reference.OPENCL.compile(PART)) {
            Map<String, Tensor> ortIn = prompt(), clIn = prompt();
            for (int step = 0; step < 6; step++) {
                Map<String, Tensor> e = ort.run(ortIn);
                Map<String, Tensor> a = cl.run(clIn);
                Reference.assertSameOutputs(e, a, 1e-4);
                int total = (int) e.get("present_0").shape()[3];
                ortIn = next(e, total);
                clIn = next(a, total);
            }
            cl.run(clIn).values().forEach(Tensor::close);
            long allocated = Reference.OPENCL.allocatedBytes();
            for (int i = 0; i < 3; i++) {
                cl.run(clIn).values().forEach(Tensor::close);
            }
            assertEquals(allocated, Reference.OPENCL.allocatedBytes(), "device memory allocated by steady-state runs");
        }
    }

    /** The next decoding step: token 7 for every row, the present caches as past (used in place). */
    private static Map<String, Tensor> next(Map<String, Tensor> out, int total) {
        Map<String, Tensor> in = new HashMap<>();
        in.put("input_ids", Tensor.of(new int[] {7, 7}, 2, 1));
        in.put("position_ids", Tensor.of(new int[] {total, total}, 2, 1));
        int[] mask = new int[2 * (total + 1)];
        java.util.Arrays.fill(mask, 1);
        in.put("attention_mask", Tensor.of(mask, 2, total + 1));
        for (int i = 0; i < 5; i++) {
            in.put("past_" + i, out.get("present_" + i));
        }
        out.get("logits").close();
        return in;
    }

    @Test
    void outOfVocabularyTokenIsATypedErrorAndTheModelKeepsServing() {
        try (CompiledModel cl = Reference.OPENCL.compile(PART)) {
            Map<String, Tensor> in = prompt();
            in.put("input_ids", Tensor.of(new int[] {0, 0, 0, 5000, 0, 0, 195, 731}, 2, 4));
            InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> cl.run(in));
            assertTrue(e.getMessage().contains("input_ids value 5000 is out of range [0, 1000)"), e.getMessage());
            Map<String, Tensor> out = cl.run(prompt(), Set.of("logits"));
            assertEquals(List.of("logits"), List.copyOf(out.keySet()));
            out.values().forEach(Tensor::close);
        }
    }
}
