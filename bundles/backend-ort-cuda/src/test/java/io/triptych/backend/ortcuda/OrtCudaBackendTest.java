package io.triptych.backend.ortcuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.triptych.api.BackendUnavailableException;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.backend.DeviceKind;
import io.triptych.api.tensor.Tensor;
import io.triptych.ort.OrtCompiledModel;
import io.triptych.ort.OrtRuntime;

/** What ort-cuda does on a machine with the CPU-only ONNX Runtime (the default build), and its pieces that need no GPU. */
class OrtCudaBackendTest {
    private static final String NO_PROVIDER = "this ONNX Runtime build has no CUDA provider (available: [CPUExecutionProvider]);"
            + " the CUDA distribution (mvn -Pcuda) has one";

    private final OrtEnvironment env = OrtRuntime.environment();

    private static CudaSettings settings(int deviceId) {
        return new CudaSettings(deviceId, 0, "kNextPowerOfTwo", "EXHAUSTIVE", 0, OptLevel.ALL_OPT, 200);
    }

    @Test
    void cpuOnlyOnnxRuntimeRegistersNoBackendAndSaysWhy() {
        CudaProbe.Discovery found = CudaProbe.discover(env, settings(-1));
        assertEquals(List.of(), found.backends());
        assertEquals(List.of(new UnavailableCuda("ort-cuda", NO_PROVIDER)), found.unavailable());
        assertEquals(DeviceKind.CUDA, found.unavailable().get(0).deviceKind());
    }

    @Test
    void configuredDeviceIsNamedInTheUnavailableId() {
        CudaProbe.Discovery found = CudaProbe.discover(env, settings(2));
        assertEquals(List.of(new UnavailableCuda("ort-cuda:2", NO_PROVIDER)), found.unavailable());
    }

    @Test
    void aBuildWithTheCudaProviderHasNoBuildProblem() {
        assertNull(CudaProbe.buildProblem(EnumSet.of(OrtProvider.CPU, OrtProvider.CUDA)));
        assertEquals("this ONNX Runtime build has no CUDA provider (available: [CPUExecutionProvider, DnnlExecutionProvider]);"
                + " the CUDA distribution (mvn -Pcuda) has one", CudaProbe.buildProblem(EnumSet.of(OrtProvider.DNNL, OrtProvider.CPU)));
    }

    @Test
    void openingACudaSessionWithoutTheProviderIsBackendUnavailableInOneLine() {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> settings(0).open(0, options -> env.createSession(CudaProbe.probeModel(), options)));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    @Test
    void probeModelAddsItsTwoInputs() throws Exception {
        try (OrtCompiledModel model = new OrtCompiledModel("test", env, env.createSession(CudaProbe.probeModel()))) {
            Map<String, Tensor> out = model.run(Map.of("a", Tensor.of(new float[] {1.5f, -2f}, 2), "b", Tensor.of(new float[] {2.25f, 8f}, 2)));
            try (Tensor sum = out.get("sum")) {
                assertArrayEquals(new float[] {3.75f, 6f}, sum.toFloatArray());
            }
        }
    }

    @Test
    void backendIdsAndOperatorDomains() {
        OrtCudaBackend gpu0 = new OrtCudaBackend(env, settings(-1), 0);
        OrtCudaBackend gpu3 = new OrtCudaBackend(env, settings(-1), 3);
        assertEquals("ort-cuda", gpu0.id());
        assertEquals("ort-cuda:3", gpu3.id());
        assertEquals(200, gpu0.score());
        assertEquals("ONNX Runtime 1.29.0 CUDA device 3, memory limit none, arena kNextPowerOfTwo, cuDNN conv search EXHAUSTIVE,"
                + " CPU fallback disabled", gpu3.deviceDescription());
        assertTrue(gpu0.supports("ai.onnx:MatMul"));
        assertTrue(gpu0.supports("com.microsoft:GroupQueryAttention"));
        assertFalse(gpu0.supports("ai.onnx.ml:TreeEnsembleClassifier"));
    }

    @Test
    void badSettingsAreTypedErrorsListingTheChoices() {
        InvalidRequestException conv = assertThrows(InvalidRequestException.class,
                () -> new CudaSettings(0, 0, "kNextPowerOfTwo", "FASTEST", 0, OptLevel.ALL_OPT, 200));
        assertEquals("unknown ort-cuda cudnnConvAlgoSearch 'FASTEST' (EXHAUSTIVE, HEURISTIC or DEFAULT)", conv.getMessage());
        InvalidRequestException arena = assertThrows(InvalidRequestException.class,
                () -> new CudaSettings(0, 0, "grow", "DEFAULT", 0, OptLevel.ALL_OPT, 200));
        assertEquals("unknown ort-cuda arenaExtendStrategy 'grow' (kNextPowerOfTwo or kSameAsRequested)", arena.getMessage());
        assertThrows(InvalidRequestException.class, () -> new CudaSettings(-2, 0, "kNextPowerOfTwo", "DEFAULT", 0, OptLevel.ALL_OPT, 200));
        assertThrows(InvalidRequestException.class, () -> new CudaSettings(0, -1, "kNextPowerOfTwo", "DEFAULT", 0, OptLevel.ALL_OPT, 200));
        assertThrows(InvalidRequestException.class, () -> CudaSettings.optLevel("MAX"));
        assertEquals("memory limit 2048 MiB, arena kSameAsRequested, cuDNN conv search HEURISTIC, CPU fallback disabled",
                new CudaSettings(0, 2048, "kSameAsRequested", "HEURISTIC", 0, OptLevel.ALL_OPT, 200).describe());
    }

    @Test
    void missingCudaLibrariesAreNamed(@TempDir Path tmp) throws IOException {
        Path driver = Files.createDirectories(tmp.resolve("driver"));
        Path cuda = Files.createDirectories(tmp.resolve("cuda/lib64"));
        Path cudnn = Files.createDirectories(tmp.resolve("cudnn"));
        CudaLibraries libs = new CudaLibraries(List.of(driver, cuda, cudnn));
        Exception ort = new Exception("OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library\nmore");
        assertEquals("libcuda.so.1 not found: no NVIDIA driver on this machine", libs.whyProviderFailed(ort));
        assertEquals("libcuda.so.1 not found: no NVIDIA driver on this machine", libs.whySessionFailed());

        Files.createFile(driver.resolve("libcuda.so.1"));
        for (String so : List.of("libcudart.so.12", "libcublas.so.12")) {
            Files.createFile(cuda.resolve(so));
        }
        assertEquals(List.of("libcublasLt.so.12", "libcurand.so.10"), libs.missing(CudaLibraries.PROVIDER_NEEDS));
        assertEquals("libcublasLt.so.12, libcurand.so.10 not found on the library path (ONNX Runtime's CUDA provider needs CUDA 12)",
                libs.whyProviderFailed(ort));

        Files.createFile(cuda.resolve("libcublasLt.so.12"));
        Files.createFile(cuda.resolve("libcurand.so.10"));
        assertEquals("ONNX Runtime's CUDA provider did not load: OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library",
                libs.whyProviderFailed(ort));
        // the message ONNX Runtime 1.29 (onnxruntime_gpu) gives addCUDA(OrtCUDAProviderOptions) when a library is missing
        assertEquals("ONNX Runtime's CUDA provider did not load: libcudnn.so.9: cannot open shared object file: No such file or directory",
                libs.whyProviderFailed(new Exception("/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1988"
                        + " onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library"
                        + " /tmp/onnxruntime-java1/libonnxruntime_providers_cuda.so with error: libcudnn.so.9: cannot open shared object file:"
                        + " No such file or directory\n")));
        assertEquals("CUDA failure 100: no CUDA-capable device is detected ; GPU=0",
                CudaLibraries.ortMessage("/src/cuda_call.cc:123 std::conditional_t<THRW, void, Status> CudaCall() [ONNXRuntimeError] : 1 : FAIL :"
                        + " CUDA failure 100: no CUDA-capable device is detected ; GPU=0"));
        assertEquals("libcudnn.so.9 not found on the library path (ONNX Runtime's CUDA provider needs cuDNN 9)", libs.whySessionFailed());
        Files.createFile(cudnn.resolve("libcudnn.so.9"));
        assertNull(libs.whySessionFailed());
    }

    @Test
    void ldSoConfFoldersFollowIncludes(@TempDir Path tmp) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("ld.so.conf.d"));
        Files.writeString(d.resolve("cuda.conf"), "# CUDA\n/usr/local/cuda-12.6/targets/x86_64-linux/lib\n");
        Files.writeString(d.resolve("x86_64-linux-gnu.conf"), "/usr/local/lib/x86_64-linux-gnu  # local\n\n/lib/x86_64-linux-gnu\n");
        Files.writeString(d.resolve("ignored.txt"), "/nowhere\n");
        Path conf = tmp.resolve("ld.so.conf");
        Files.writeString(conf, "include ld.so.conf.d/*.conf\n/opt/extra\n");
        assertEquals(List.of(Path.of("/usr/local/cuda-12.6/targets/x86_64-linux/lib"), Path.of("/usr/local/lib/x86_64-linux-gnu"),
                Path.of("/lib/x86_64-linux-gnu"), Path.of("/opt/extra")), CudaLibraries.configuredDirs(conf));
        assertEquals(List.of(), CudaLibraries.configuredDirs(tmp.resolve("absent.conf")));
    }
}
