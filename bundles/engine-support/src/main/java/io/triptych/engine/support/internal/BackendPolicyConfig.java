package io.triptych.engine.support.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import io.triptych.engine.support.BackendPolicy;

@ObjectClassDefinition(id = BackendPolicy.PID, name = "Triptych backend preferences",
        description = "Which compute backend each model runs on; changes move models at run time without failing requests.")
@interface BackendPolicyConfig {

    @AttributeDefinition(name = "Order", required = false,
            description = "Backend ids, most preferred first (e.g. ort-cuda, opencl, ort-cpu). Backends not listed follow by score.")
    String[] order() default {};

    @AttributeDefinition(name = "Pins", required = false,
            description = "Per-model pins, model=backend (e.g. tiny-gpt=opencl); a pin comes before the order.")
    String[] pins() default {};
}
