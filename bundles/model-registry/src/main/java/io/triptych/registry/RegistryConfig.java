package io.triptych.registry;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(id = RegistryConfig.PID, name = "Triptych model registry",
        description = "Where model folders are deployed from at run time.")
@interface RegistryConfig {
    String PID = "io.triptych.models";

    @AttributeDefinition(name = "Deploy folder",
            description = "Folder watched for model folders (add, replace, remove at run time). Empty: <triptych.home>/deploy/models, "
                    + "or none when the framework property triptych.home is not set.")
    String deployDir() default "";

    @AttributeDefinition(name = "Poll interval (ms)", min = "50",
            description = "How often the deploy folder is scanned. A folder is deployed once it looks the same on two scans in a row.")
    long pollMillis() default 250;
}
