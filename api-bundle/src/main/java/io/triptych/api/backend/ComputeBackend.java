package io.triptych.api.backend;

import java.util.Set;
import java.util.TreeSet;

import org.osgi.annotation.versioning.ConsumerType;

import io.triptych.api.model.ModelPart;

/**
 * A device that runs ONNX graphs: registered as an OSGi service by a backend bundle, found and
 * chosen by engines at run time, swappable while the host serves.
 *
 * <p>Register with the service properties {@link #PROPERTY_ID}, {@link #PROPERTY_DEVICE} and
 * {@link #PROPERTY_SCORE}. Among the backends that can run a model, engines prefer the configured
 * order, then the highest {@link #score()}.
 */
@ConsumerType
public interface ComputeBackend {

    /** Service property: the backend id, e.g. {@code ort-cpu}, {@code ort-cuda}, {@code opencl}. */
    String PROPERTY_ID = "backend.id";
    /** Service property: the {@link DeviceKind#id()} of the device. */
    String PROPERTY_DEVICE = "backend.device";
    /** Service property: the {@link #score()} as an Integer. */
    String PROPERTY_SCORE = "backend.score";

    /** The backend id; unique among the registered backends. */
    String id();

    /** The kind of device. */
    DeviceKind deviceKind();

    /** A human description of the device (name, memory, threads). */
    String deviceDescription();

    /** How strongly this backend should be preferred when nothing is configured; higher wins. */
    int score();

    /**
     * Whether the backend implements an operator.
     *
     * @param operator {@code domain:OpType}, with {@link ModelPart#DEFAULT_DOMAIN} for standard ONNX
     */
    boolean supports(String operator);

    /** The operators of {@code part} this backend lacks, sorted; empty if it can run it. */
    default Set<String> missingOperators(ModelPart part) {
        Set<String> missing = new TreeSet<>();
        for (String op : part.operators()) {
            if (!supports(op)) {
                missing.add(op);
            }
        }
        return missing;
    }

    /**
     * Prepares a graph to run on this backend: loads weights, plans, compiles kernels.
     *
     * @throws io.triptych.api.UnsupportedOperatorException naming every operator it lacks
     * @throws io.triptych.api.ModelLoadException if the graph cannot be read or prepared
     * @throws io.triptych.api.BackendUnavailableException if the device is gone
     */
    CompiledModel compile(ModelPart part);
}
