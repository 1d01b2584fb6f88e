package io.triptych.engine.generator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.triptych.api.backend.CompiledModel;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.api.tensor.TensorSpec;

/** The cache reorder graph keeps the cache's own element type: a float16 decoder's cache is gathered as float16. */
class CacheReorderTest {

    @Test
    void gathersAFloat16CacheAlongItsBatchAxis() {
        TensorSpec past = new TensorSpec("past_0", DType.FLOAT16, new long[] {2, -1, 4, -1, 8}, List.of("", "batch", "", "seq", ""));
        ModelPart decoder = new ModelPart("model.onnx", Path.of("model.onnx"),
                List.of(new TensorSpec("input_ids", DType.INT64, new long[] {-1, -1}, List.of("batch", "seq")), past),
                List.of(new TensorSpec("logits", DType.FLOAT16, new long[] {-1, -1, 10}, List.of("batch", "seq", "")),
                        new TensorSpec("present_0", DType.FLOAT16, past.shape(), past.dimNames())),
                Set.of(), Map.of());
        LlmConfig config = new LlmConfig(decoder, Map.of("input_ids", "input_ids", "logits", "logits", "past_names", "past_%d",
                "present_names", "present_%d"), 10, 16, 0, new int[] {1}, 4, 8, SearchOptions.DEFAULTS);
        ModelPart part = CacheReorder.write(new DecoderLayout(config));
        long[] shape = {2, 3, 4, 5, 8};
        int row = 4 * 5 * 8;
        short[] values = new short[Math.toIntExact(Tensor.elementCount(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (short) (0x3C00 + i); // distinct finite halves
        }
        Tensor cache = Tensor.allocate(DType.FLOAT16, shape);
        cache.buffer().asShortBuffer().put(values);
        long[] sources = {2, 0, 0};
        try (CompiledModel reorder = OnnxGeneratorTest.ORT.compile(part)) {
            Map<String, Tensor> out = reorder.run(Map.of("past_0", cache, CacheReorder.SOURCES, Tensor.of(sources, 3)));
            try (Tensor t = out.get(CacheReorder.output("past_0"))) {
                assertEquals(DType.FLOAT16, t.dtype());
                assertArrayEquals(shape, t.shape());
                short[] got = new short[values.length];
                t.buffer().asShortBuffer().get(got);
                for (int kv = 0; kv < 2; kv++) {
                    for (int r = 0; r < 3; r++) {
                        for (int j = 0; j < row; j++) {
                            assertEquals(values[(int) ((kv * 3 + sources[r]) * row + j)], got[(kv * 3 + r) * row + j]);
                        }
                    }
                }
            }
        } finally {
            CacheReorder.delete(part.file());
        }
    }
}
