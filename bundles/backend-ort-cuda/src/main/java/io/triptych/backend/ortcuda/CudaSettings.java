package io.triptych.backend.ortcuda;

import java.util.Set;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import io.triptych.api.BackendUnavailableException;
import io.triptych.api.InvalidRequestException;

/**
 * The validated {@link OrtCudaConfig}, and how it becomes ONNX Runtime session options.
 *
 * <p>Every session gets the CUDA execution provider and the session config entry
 * {@value #DISABLE_CPU_FALLBACK} = 1. Without it ONNX Runtime silently assigns every node the CUDA
 * provider has no kernel for (and the small shape computations it prefers to keep on the host) to
 * its CPU provider, so a backend that says "cuda" could run a model mostly on the CPU. With it,
 * creating such a session fails, {@link OrtCudaBackend#compile} reports that model as not runnable
 * here, and engines pick another backend. The price: models whose graphs ONNX Runtime splits
 * between CUDA and CPU do not run on {@code ort-cuda} at all.
 */
record CudaSettings(int deviceId, long memoryLimitMb, String arenaExtendStrategy, String cudnnConvAlgoSearch,
        int intraOpThreads, OptLevel optLevel, int score) {

    /** ONNX Runtime's session config key (onnxruntime_session_options_config_keys.h). */
    static final String DISABLE_CPU_FALLBACK = "session.disable_cpu_ep_fallback";

    private static final Set<String> ARENA_STRATEGIES = Set.of("kNextPowerOfTwo", "kSameAsRequested");
    private static final Set<String> CONV_SEARCHES = Set.of("EXHAUSTIVE", "HEURISTIC", "DEFAULT");

    /** A session factory that receives the prepared options. */
    interface SessionSource {
        OrtSession open(SessionOptions options) throws OrtException;
    }

    CudaSettings {
        if (deviceId < -1) {
            throw new InvalidRequestException("ort-cuda deviceId must be a CUDA device ordinal or -1 (every GPU), got " + deviceId);
        }
        if (memoryLimitMb < 0) {
            throw new InvalidRequestException("ort-cuda memoryLimitMb must be ≥ 0 (0 = no limit), got " + memoryLimitMb);
        }
        if (!ARENA_STRATEGIES.contains(arenaExtendStrategy)) {
            throw new InvalidRequestException("unknown ort-cuda arenaExtendStrategy '" + arenaExtendStrategy + "' (kNextPowerOfTwo or kSameAsRequested)");
        }
        if (!CONV_SEARCHES.contains(cudnnConvAlgoSearch)) {
            throw new InvalidRequestException("unknown ort-cuda cudnnConvAlgoSearch '" + cudnnConvAlgoSearch + "' (EXHAUSTIVE, HEURISTIC or DEFAULT)");
        }
        if (intraOpThreads < 0) {
            throw new InvalidRequestException("ort-cuda intraOpThreads must be ≥ 0, got " + intraOpThreads);
        }
    }

    static CudaSettings of(OrtCudaConfig c) {
        return new CudaSettings(c.deviceId(), c.memoryLimitMb(), c.arenaExtendStrategy(), c.cudnnConvAlgoSearch(),
                c.intraOpThreads(), optLevel(c.optimizationLevel()), c.score());
    }

    static OptLevel optLevel(String name) {
        try {
            return OptLevel.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("unknown ort-cuda optimizationLevel '" + name + "' (NO_OPT, BASIC_OPT, EXTENDED_OPT or ALL_OPT)");
        }
    }

    /**
     * Opens a session on CUDA device {@code device} with the CUDA provider and no CPU fallback.
     *
     * @throws BackendUnavailableException if ONNX Runtime's CUDA provider cannot be loaded; the
     *         message says why in one line
     * @throws OrtException if the session itself cannot be created
     */
    OrtSession open(int device, SessionSource source) throws OrtException {
        try (OrtCUDAProviderOptions cuda = provider(device); SessionOptions options = new SessionOptions()) {
            try {
                options.addCUDA(cuda);
            } catch (OrtException e) {
                throw new BackendUnavailableException(CudaLibraries.system().whyProviderFailed(e), e);
            }
            options.addConfigEntry(DISABLE_CPU_FALLBACK, "1");
            options.setIntraOpNumThreads(intraOpThreads);
            options.setOptimizationLevel(optLevel);
            return source.open(options);
        }
    }

    private OrtCUDAProviderOptions provider(int device) {
        OrtCUDAProviderOptions cuda = null;
        try {
            cuda = new OrtCUDAProviderOptions(device);
            if (memoryLimitMb > 0) {
                cuda.add("gpu_mem_limit", Long.toString(memoryLimitMb * 1024 * 1024));
            }
            cuda.add("arena_extend_strategy", arenaExtendStrategy);
            cuda.add("cudnn_conv_algo_search", cudnnConvAlgoSearch);
            return cuda;
        } catch (OrtException e) {
            if (cuda != null) {
                cuda.close();
            }
            throw new BackendUnavailableException(CudaLibraries.system().whyProviderFailed(e), e);
        }
    }

    /** The settings in words, for the backend's description. */
    String describe() {
        return "memory limit " + (memoryLimitMb == 0 ? "none" : memoryLimitMb + " MiB") + ", arena " + arenaExtendStrategy
                + ", cuDNN conv search " + cudnnConvAlgoSearch + ", CPU fallback disabled";
    }
}
