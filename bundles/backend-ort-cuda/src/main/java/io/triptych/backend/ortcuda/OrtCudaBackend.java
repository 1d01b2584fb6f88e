package io.triptych.backend.ortcuda;

import java.util.Set;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.triptych.api.ModelLoadException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.backend.DeviceKind;
import io.triptych.api.model.ModelPart;
import io.triptych.ort.OrtCompiledModel;
import io.triptych.ort.OrtRuntime;

/**
 * One NVIDIA GPU that passed the {@link CudaProbe}: every graph runs in an ONNX Runtime session
 * on the CUDA execution provider of that device, with CPU fallback disabled (see
 * {@link CudaSettings}).
 *
 * <p>What stays on the GPU: the weights (initializers), from compile to close, and every
 * intermediate value within a run. What does not: ONNX Runtime's Java API (1.29) has no I/O
 * binding and no device allocator, so inputs are copied to the device at the start of each run
 * and outputs copied back into host memory at its end. A key/value cache or latents fed back from
 * one step to the next therefore cross the bus twice per step; they are not copied into the Java
 * heap (the outputs are native tensors used in place as the next inputs).
 */
final class OrtCudaBackend implements ComputeBackend {
    /** The id of the backend on device 0; the backend on device N is {@code ort-cuda:N}. */
    static final String ID = "ort-cuda";

    /** ORT's CUDA provider has kernels for standard ONNX and its contrib domain, none for ai.onnx.ml. */
    private static final Set<String> DOMAINS = Set.of(ModelPart.DEFAULT_DOMAIN, "com.microsoft");

    /** What ONNX Runtime says when CPU fallback is disabled and a node would need it. */
    private static final String FALLBACK_REFUSED = "fallback to CPU EP has been explicitly disabled";

    private final OrtEnvironment env;
    private final CudaSettings settings;
    private final int device;
    private final String id;

    OrtCudaBackend(OrtEnvironment env, CudaSettings settings, int device) {
        this.env = env;
        this.settings = settings;
        this.device = device;
        this.id = id(device);
    }

    /** The backend id for a CUDA device ordinal. */
    static String id(int device) {
        return device == 0 ? ID : ID + ":" + device;
    }

    /** The CUDA device ordinal. */
    int device() {
        return device;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public DeviceKind deviceKind() {
        return DeviceKind.CUDA;
    }

    @Override
    public String deviceDescription() {
        return "ONNX Runtime " + env.getVersion() + " CUDA device " + device + ", " + settings.describe();
    }

    @Override
    public int score() {
        return settings.score();
    }

    @Override
    public boolean supports(String operator) {
        return OrtRuntime.inDomains(operator, DOMAINS);
    }

    /**
     * Compiles on this GPU only.
     *
     * @throws ModelLoadException also when ONNX Runtime would run some node of the graph on the CPU
     * @throws io.triptych.api.BackendUnavailableException if the CUDA provider no longer loads
     */
    @Override
    public CompiledModel compile(ModelPart part) {
        OrtSession session = null;
        try {
            session = settings.open(device, options -> env.createSession(part.file().toString(), options));
            return new OrtCompiledModel(id, env, session);
        } catch (OrtException e) {
            closeQuietly(session);
            String message = e.getMessage() == null ? "" : e.getMessage();
            if (message.contains(FALLBACK_REFUSED)) {
                throw new ModelLoadException(id + " cannot run " + part.name() + " on CUDA device " + device
                        + " alone: ONNX Runtime would put some of its nodes on the CPU, and " + id + " never falls back to the CPU", e);
            }
            throw new ModelLoadException(id + " cannot load " + part.name() + ": " + CudaLibraries.ortMessage(message), e);
        }
    }

    private static void closeQuietly(OrtSession session) {
        if (session != null) {
            try {
                session.close();
            } catch (OrtException ignored) {
                // the load already failed; that error is the one worth reporting
            }
        }
    }
}
