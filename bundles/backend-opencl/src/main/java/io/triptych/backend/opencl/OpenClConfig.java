package io.triptych.backend.opencl;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

@ObjectClassDefinition(id = OpenClConfig.PID, name = "Triptych OpenCL backend",
        description = "Which OpenCL device the opencl compute backend runs on, and how strongly it is preferred.")
@interface OpenClConfig {
    String PID = "io.triptych.backend.opencl";

    @AttributeDefinition(name = "Platform", required = false,
            description = "Part of the OpenCL platform name to require (case-insensitive), e.g. NVIDIA or Portable; empty for any.")
    String platform() default "";

    @AttributeDefinition(name = "Device", required = false,
            description = "Part of the device name to require (case-insensitive); empty for any.")
    String device() default "";

    @AttributeDefinition(name = "Device type", description = "Which kind of device to take when several match.",
            options = {@Option(value = "PREFER_GPU", label = "a GPU if there is one"),
                       @Option(value = "PREFER_CPU", label = "a CPU if there is one"),
                       @Option(value = "GPU_ONLY", label = "only a GPU"),
                       @Option(value = "CPU_ONLY", label = "only a CPU")})
    String deviceType() default "PREFER_GPU";

    @AttributeDefinition(name = "Score",
            description = "Preference among backends when none is configured; higher wins (ort-cpu has 100).")
    int score() default 50;
}
