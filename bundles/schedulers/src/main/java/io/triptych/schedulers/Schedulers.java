package io.triptych.schedulers;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import io.triptych.api.InvalidRequestException;

/** Creates schedulers by their diffusers class name. */
public final class Schedulers {
    private static final Map<String, Function<SchedulerConfig, Scheduler>> BY_NAME = new LinkedHashMap<>();

    static {
        BY_NAME.put("DDPMScheduler", DDPMScheduler::new);
        BY_NAME.put("DDIMScheduler", DDIMScheduler::new);
        BY_NAME.put("EulerDiscreteScheduler", EulerDiscreteScheduler::new);
        BY_NAME.put("EulerAncestralDiscreteScheduler", EulerAncestralDiscreteScheduler::new);
        BY_NAME.put("DPMSolverMultistepScheduler", DPMSolverMultistepScheduler::new);
        BY_NAME.put("PNDMScheduler", PNDMScheduler::new);
        BY_NAME.put("LMSDiscreteScheduler", LMSDiscreteScheduler::new);
    }

    private Schedulers() {
    }

    /** The class names supported, in a stable order. */
    public static Set<String> names() {
        return BY_NAME.keySet();
    }

    /**
     * A scheduler of the named class from a configuration, as diffusers'
     * {@code SomeScheduler.from_config(config)}: keys the class does not use are ignored, so one
     * pipeline's {@code scheduler_config.json} can build any of them.
     *
     * @throws InvalidRequestException for an unknown class name or an invalid value
     */
    public static Scheduler create(String className, SchedulerConfig config) {
        Function<SchedulerConfig, Scheduler> f = BY_NAME.get(className);
        if (f == null) {
            throw new InvalidRequestException("unknown scheduler '" + className + "' (supported: " + String.join(", ", names()) + ")");
        }
        return f.apply(config);
    }

    /**
     * The scheduler a configuration names in {@code _class_name}.
     *
     * @throws InvalidRequestException if it names none, an unknown one, or holds an invalid value
     */
    public static Scheduler create(SchedulerConfig config) {
        String name = config.className();
        if (name == null) {
            throw new InvalidRequestException("the scheduler config has no " + SchedulerConfig.CLASS_NAME);
        }
        return create(name, config);
    }

    /**
     * Reads a diffusers {@code scheduler_config.json} and builds the scheduler it names.
     *
     * @throws io.triptych.api.ModelLoadException if the file cannot be read or parsed
     * @throws InvalidRequestException if it names no supported scheduler or holds an invalid value
     */
    public static Scheduler fromJson(Path file) {
        return create(SchedulerConfig.read(file));
    }
}
