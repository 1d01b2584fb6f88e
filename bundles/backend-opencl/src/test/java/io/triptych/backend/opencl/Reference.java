package io.triptych.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import io.triptych.api.backend.CompiledModel;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.backend.ortcpu.OrtCpuBackend;
import io.triptych.onnx.OnnxModelReader;

/** The backends under test, shared by the test classes, and comparisons against ONNX Runtime. */
final class Reference {
    static final Path FIXTURES = Path.of(System.getProperty("triptych.fixtures", "../../../shared/fixtures"));
    static final OpenClBackend OPENCL = OpenClBackend.open("", "", "PREFER_GPU", 50);
    static final OrtCpuBackend ORT = new OrtCpuBackend(1, 1, "ALL_OPT", 100);

    private Reference() {
    }

    static ModelPart part(Path file) {
        assertTrue(Files.isRegularFile(file), "model missing: " + file.toAbsolutePath());
        return OnnxModelReader.read(file, file.getFileName().toString());
    }

    /** Asserts every output of both models equal in shape and within {@code tolerance} relative (of the largest magnitude). */
    static void assertSameOutputs(Map<String, Tensor> expected, Map<String, Tensor> actual, double tolerance) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) {
            Tensor e = expected.get(name), a = actual.get(name);
            assertArrayEquals(e.shape(), a.shape(), name + " shape");
            assertEquals(e.dtype(), a.dtype(), name + " dtype");
            if (e.dtype() == DType.FLOAT32) {
                float[] ev = e.toFloatArray(), av = a.toFloatArray();
                double scale = 1e-6;
                for (float v : ev) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int i = 0; i < ev.length; i++) {
                    boolean same = Float.compare(ev[i], av[i]) == 0 || Math.abs(ev[i] - av[i]) <= tolerance * Math.max(scale, 1e-30);
                    assertTrue(same, name + "[" + i + "]: ort " + ev[i] + ", opencl " + av[i] + " (max |x| " + scale + ")");
                }
            } else {
                assertArrayEquals(e.toLongArray(), a.toLongArray(), name + ": " + Arrays.toString(a.toLongArray()));
            }
        }
    }

    /** Runs the model on both backends with the same inputs and compares. */
    static void assertMatchesOrt(ModelPart part, Map<String, Tensor> inputs, double tolerance) {
        try (CompiledModel ort = ORT.compile(part); CompiledModel cl = OPENCL.compile(part)) {
            Map<String, Tensor> e = ort.run(inputs);
            Map<String, Tensor> a = cl.run(inputs);
            try {
                assertSameOutputs(e, a, tolerance);
            } finally {
                e.values().forEach(Tensor::close);
                a.values().forEach(Tensor::close);
            }
        }
    }
}
