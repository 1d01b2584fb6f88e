package io.triptych.backend.ortcuda;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

@ObjectClassDefinition(id = OrtCudaConfig.PID, name = "Triptych ONNX Runtime CUDA backend",
        description = "Which NVIDIA GPUs the ort-cuda compute backend uses, and how ONNX Runtime's CUDA provider manages them.")
@interface OrtCudaConfig {
    String PID = "io.triptych.backend.ortcuda";

    @AttributeDefinition(name = "Device id", min = "-1",
            description = "The CUDA device ordinal to use; -1 probes devices 0, 1, 2, ... and registers one backend per working GPU.")
    int deviceId() default -1;

    @AttributeDefinition(name = "Memory limit (MiB)", min = "0",
            description = "Upper bound of ONNX Runtime's CUDA memory arena per device (gpu_mem_limit); 0 = no limit.")
    long memoryLimitMb() default 0;

    @AttributeDefinition(name = "Arena extend strategy",
            description = "How the CUDA memory arena grows (arena_extend_strategy).",
            options = {@Option(value = "kNextPowerOfTwo", label = "next power of two"),
                @Option(value = "kSameAsRequested", label = "same as requested")})
    String arenaExtendStrategy() default "kNextPowerOfTwo";

    @AttributeDefinition(name = "cuDNN convolution algorithm search",
            description = "How cuDNN picks convolution algorithms (cudnn_conv_algo_search): EXHAUSTIVE benchmarks them all on first use, "
                    + "HEURISTIC asks cuDNN's heuristics, DEFAULT takes the default algorithm.",
            options = {@Option(value = "EXHAUSTIVE"), @Option(value = "HEURISTIC"), @Option(value = "DEFAULT")})
    String cudnnConvAlgoSearch() default "EXHAUSTIVE";

    @AttributeDefinition(name = "Intra-op threads", min = "0",
            description = "Host threads of each session (the graph itself runs on the GPU); 0 lets ONNX Runtime choose.")
    int intraOpThreads() default 0;

    @AttributeDefinition(name = "Optimisation level",
            description = "ONNX Runtime graph optimisation: NO_OPT, BASIC_OPT, EXTENDED_OPT or ALL_OPT.")
    String optimizationLevel() default "ALL_OPT";

    @AttributeDefinition(name = "Score", description = "Preference among backends when none is configured; higher wins (ort-cpu has 100).")
    int score() default 200;
}
