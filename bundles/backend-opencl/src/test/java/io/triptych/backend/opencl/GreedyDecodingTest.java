package io.triptych.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.triptych.api.backend.CompiledModel;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.api.tensor.TensorSpec;

/** Greedy decoding with the key/value cache kept on the device, against ORT GenAI's published tokens and ONNX Runtime. */
class GreedyDecodingTest {
    static final Path TINY_GPT = Path.of("../models/tiny-gpt/src/main/resources/models/tiny-gpt/model.onnx");

    @Test
    void tinyRandomGpt2GivesOrtGenAisPublishedTokens() {
        ModelPart part = Reference.part(Reference.FIXTURES.resolve("tiny-random-gpt2-fp32/past.onnx"));
        try (CompiledModel cl = Reference.OPENCL.compile(part)) {
            List<int[]> tokens = greedy(cl, new int[][] {{0, 0, 0, 52}, {0, 0, 195, 731}}, 10, new ArrayList<>());
            assertArrayEquals(new int[] {0, 0, 0, 52, 204, 204, 204, 204, 204, 204}, tokens.get(0));
            assertArrayEquals(new int[] {0, 0, 195, 731, 731, 114, 114, 114, 114, 114}, tokens.get(1));
        }
    }

    @Test
    void projectTinyGptMatchesOrtStepByStep() {
        ModelPart part = Reference.part(TINY_GPT);
        int[][] prompts = {{5, 17, 300, 42, 9}, {7, 8, 9, 10, 11}};
        try (CompiledModel ort = Reference.ORT.compile(part); CompiledModel cl = Reference.OPENCL.compile(part)) {
            List<float[]> expectedLogits = new ArrayList<>(), actualLogits = new ArrayList<>();
            List<int[]> expected = greedy(ort, prompts, 16, expectedLogits);
            List<int[]> actual = greedy(cl, prompts, 16, actualLogits);
            for (int step = 0; step < expectedLogits.size(); step++) {
                float[] e = expectedLogits.get(step), a = actualLogits.get(step);
                float scale = 0;
                for (float v : e) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int i = 0; i < e.length; i++) {
                    assertEquals(e[i], a[i], 1e-4 * scale, "step " + step + " logit " + i);
                }
            }
            assertArrayEquals(expected.get(0), actual.get(0));
            assertArrayEquals(expected.get(1), actual.get(1));
        }
    }

    /**
     * Greedy search over a batch of equal-length prompts: the prompt, then one token per step with
     * the model's present caches fed back as its past. Records each step's last-position logits.
     */
    static List<int[]> greedy(CompiledModel model, int[][] prompts, int maxLength, List<float[]> logits) {
        int batch = prompts.length;
        List<int[]> sequences = new ArrayList<>();
        for (int[] p : prompts) {
            sequences.add(p.clone());
        }
        Map<String, Tensor> in = new HashMap<>();
        int length = prompts[0].length;
        int[] ids = new int[batch * length];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(prompts[b], 0, ids, b * length, length);
        }
        feedTokens(model, in, ids, batch, length, 0);
        for (TensorSpec s : model.inputs()) {
            if (s.name().startsWith("past")) {
                long[] shape = s.shape();
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = shape[d] >= 0 ? shape[d] : s.dimNames().get(d).startsWith("batch") ? batch : 0;
                }
                in.put(s.name(), Tensor.allocate(DType.FLOAT32, shape));
            }
        }
        while (length < maxLength) {
            Map<String, Tensor> out = model.run(in);
            Tensor l = out.get("logits");
            long[] shape = l.shape();
            int vocab = (int) shape[2], seq = (int) shape[1];
            float[] all = l.toFloatArray();
            int[] next = new int[batch];
            for (int b = 0; b < batch; b++) {
                int from = (b * seq + seq - 1) * vocab;
                float[] last = java.util.Arrays.copyOfRange(all, from, from + vocab);
                logits.add(last);
                for (int v = 1; v < vocab; v++) {
                    if (last[v] > last[next[b]]) {
                        next[b] = v;
                    }
                }
                sequences.set(b, append(sequences.get(b), next[b]));
            }
            l.close();
            in.values().forEach(Tensor::close);
            in.clear();
            feedTokens(model, in, next, batch, 1, length);
            length++;
            for (Map.Entry<String, Tensor> e : out.entrySet()) {
                if (!e.getKey().equals("logits")) {
                    in.put(e.getKey().replace("present.", "past_key_values.").replace("present_", "past_"), e.getValue());
                }
            }
        }
        in.values().forEach(Tensor::close);
        return sequences;
    }

    private static void feedTokens(CompiledModel model, Map<String, Tensor> in, int[] ids, int batch, int seq, int past) {
        int[] positions = new int[batch * seq];
        int[] mask = new int[batch * (past + seq)];
        java.util.Arrays.fill(mask, 1);
        for (int i = 0; i < positions.length; i++) {
            positions[i] = past + i % seq;
        }
        DType type = model.inputs().stream().filter(s -> s.name().equals("input_ids")).findFirst().orElseThrow().dtype();
        in.put("input_ids", ints(type, ids, batch, seq));
        in.put("position_ids", ints(type, positions, batch, seq));
        in.put("attention_mask", ints(type, mask, batch, past + seq));
    }

    private static Tensor ints(DType type, int[] v, long... shape) {
        return type == DType.INT64 ? Tensor.of(java.util.Arrays.stream(v).asLongStream().toArray(), shape) : Tensor.of(v, shape);
    }

    private static int[] append(int[] a, int v) {
        int[] r = java.util.Arrays.copyOf(a, a.length + 1);
        r[a.length] = v;
        return r;
    }
}
