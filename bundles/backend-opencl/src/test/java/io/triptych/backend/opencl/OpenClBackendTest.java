package io.triptych.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.UnsupportedOperatorException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.DeviceKind;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;

/** Device choice, what the backend reports, and how it refuses what it cannot run. */
class OpenClBackendTest {

    @Test
    void describesTheDeviceItRunsOn() {
        OpenClBackend b = Reference.OPENCL;
        assertEquals("opencl", b.id());
        assertEquals(DeviceKind.OPENCL, b.deviceKind());
        assertEquals(50, b.score());
        String d = b.deviceDescription();
        assertTrue(d.contains("Portable Computing Language") && d.contains("MiB") && d.contains("compute units"), d);
    }

    @Test
    void noMatchingDeviceIsUnavailableWithEveryDeviceAndWhyItWasNotTaken() {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> OpenClBackend.open("", "no-such-device", "PREFER_GPU", 50));
        assertTrue(e.getMessage().startsWith("no OpenCL device matches the configuration (Portable Computing Language / "), e.getMessage());
        assertTrue(e.getMessage().contains("device does not match 'no-such-device'"), e.getMessage());
        BackendUnavailableException gpu = assertThrows(BackendUnavailableException.class,
                () -> OpenClBackend.open("portable", "", "GPU_ONLY", 50));
        assertTrue(gpu.getMessage().contains("not a GPU (deviceType GPU_ONLY)"), gpu.getMessage());
        BackendUnavailableException type = assertThrows(BackendUnavailableException.class, () -> OpenClBackend.open("", "", "TPU", 50));
        assertEquals("unknown opencl deviceType 'TPU' (PREFER_GPU, PREFER_CPU, GPU_ONLY or CPU_ONLY)", type.getMessage());
    }

    @Test
    void reportsExactlyTheOperatorsItImplements() {
        OpenClBackend b = Reference.OPENCL;
        assertTrue(b.supports("ai.onnx:MatMul"));
        assertTrue(b.supports("com.microsoft:Attention"));
        assertTrue(b.supports("ai.onnx:Constant"));
        assertFalse(b.supports("com.microsoft:MatMulNBits"));
        assertFalse(b.supports("ai.onnx:Loop"));
        assertFalse(b.supports("MatMul"));
        assertTrue(b.operators().containsAll(Set.of("ai.onnx:Conv", "ai.onnx:Resize", "ai.onnx:GroupNormalization", "ai.onnx:Trilu",
                "com.microsoft:SkipLayerNormalization", "com.microsoft:EmbedLayerNormalization", "com.microsoft:FastGelu")));
        b.operators().forEach(op -> assertTrue(b.supports(op), op));
    }

    @Test
    void compilingAModelWithMissingOperatorsNamesEveryOne() {
        ModelPart part = new ModelPart("unet/model.onnx", Path.of("unet/model.onnx"), List.of(), List.of(),
                Set.of("ai.onnx:Add", "ai.onnx:Loop", "com.microsoft:MatMulNBits"), Map.of());
        UnsupportedOperatorException e = assertThrows(UnsupportedOperatorException.class, () -> Reference.OPENCL.compile(part));
        assertEquals(Set.of("ai.onnx:Loop", "com.microsoft:MatMulNBits"), e.missingOperators());
        assertEquals("backend opencl does not implement [ai.onnx:Loop, com.microsoft:MatMulNBits]", e.getMessage());
    }

    @Test
    void badInputsAreTypedErrorsNamingTheInput() {
        ModelPart part = Reference.part(SingleOp.op("Add", 17).floats("a", 2, 3).floats("b", 3).output("y").write());
        try (CompiledModel m = Reference.OPENCL.compile(part)) {
            InvalidRequestException missing = assertThrows(InvalidRequestException.class, () -> m.run(Map.of("a", Tensor.allocate(DType.FLOAT32, 2, 3))));
            assertEquals("missing input 'b' (model inputs: [a, b])", missing.getMessage());
            InvalidRequestException type = assertThrows(InvalidRequestException.class,
                    () -> m.run(Map.of("a", Tensor.allocate(DType.INT64, 2, 3), "b", Tensor.allocate(DType.FLOAT32, 3))));
            assertEquals("input 'a' is INT64, the model expects FLOAT32", type.getMessage());
            InvalidRequestException shape = assertThrows(InvalidRequestException.class,
                    () -> m.run(Map.of("a", Tensor.allocate(DType.FLOAT32, 2, 4), "b", Tensor.allocate(DType.FLOAT32, 3))));
            assertTrue(shape.getMessage().startsWith("input 'a' has shape [2, 4], the model expects a: float32[2,3]"), shape.getMessage());
        }
    }

    @Test
    void outputsStayOnTheDeviceAndAreReadOnce() {
        ModelPart part = Reference.part(SingleOp.op("Mul", 17).floats("a", 4).floats("b", 4).output("y").write());
        try (CompiledModel m = Reference.OPENCL.compile(part)) {
            Tensor y = m.run(Map.of("a", Tensor.of(new float[] {1, 2, 3, 4}, 4), "b", Tensor.of(new float[] {2, 2, 2, 2}, 4))).get("y");
            assertTrue(y instanceof DeviceTensor);
            Tensor z = m.run(Map.of("a", y, "b", y)).get("y");
            assertEquals(List.of(4f, 16f, 36f, 64f), List.of(z.toFloatArray()[0], z.toFloatArray()[1], z.toFloatArray()[2], z.toFloatArray()[3]));
            y.close();
            z.close();
            assertThrows(IllegalStateException.class, y::buffer);
        }
    }
}
