package io.triptych.backend.ortcpu;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(id = OrtCpuConfig.PID, name = "Triptych ONNX Runtime CPU backend",
        description = "Threads and graph optimisation of the ort-cpu compute backend.")
@interface OrtCpuConfig {
    String PID = "io.triptych.backend.ortcpu";

    @AttributeDefinition(name = "Intra-op threads", min = "0",
            description = "Threads used inside one operator; 0 lets ONNX Runtime choose (one per core).")
    int intraOpThreads() default 0;

    @AttributeDefinition(name = "Inter-op threads", min = "0",
            description = "Threads running independent operators in parallel; 0 lets ONNX Runtime choose.")
    int interOpThreads() default 0;

    @AttributeDefinition(name = "Optimisation level",
            description = "ONNX Runtime graph optimisation: NO_OPT, BASIC_OPT, EXTENDED_OPT or ALL_OPT.")
    String optimizationLevel() default "ALL_OPT";

    @AttributeDefinition(name = "Score", description = "Preference among backends when none is configured; higher wins.")
    int score() default 100;
}
