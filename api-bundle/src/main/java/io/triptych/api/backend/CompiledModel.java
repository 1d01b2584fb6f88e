package io.triptych.api.backend;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.osgi.annotation.versioning.ConsumerType;

import io.triptych.api.tensor.Tensor;
import io.triptych.api.tensor.TensorSpec;

/**
 * A graph prepared on one {@link ComputeBackend}. {@link #run} may be called from several threads
 * at once. Close it to free its device memory; runs after close fail.
 */
@ConsumerType
public interface CompiledModel extends AutoCloseable {

    /** The backend that compiled it. */
    String backendId();

    /** The inputs the graph expects, read from the model. */
    List<TensorSpec> inputs();

    /** The outputs the graph produces, read from the model. */
    List<TensorSpec> outputs();

    /**
     * Runs the graph.
     *
     * @param inputs a tensor for every input; tensors this backend returned earlier are used in
     *               place, others are read without copying where the device allows
     * @param outputNames the outputs wanted; empty for all
     * @return the outputs by name; the caller owns and closes them
     * @throws io.triptych.api.InvalidRequestException on a missing input or a wrong type or rank
     * @throws io.triptych.api.BackendUnavailableException if the device went away
     */
    Map<String, Tensor> run(Map<String, ? extends Tensor> inputs, Set<String> outputNames);

    /** Runs the graph and returns all outputs; see {@link #run(Map, Set)}. */
    default Map<String, Tensor> run(Map<String, ? extends Tensor> inputs) {
        return run(inputs, Set.of());
    }

    /** Frees the compiled graph; idempotent. */
    @Override
    void close();
}
