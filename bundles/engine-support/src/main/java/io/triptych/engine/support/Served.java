package io.triptych.engine.support;

import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;

/**
 * What an engine makes of one deployed model for a {@link ModelServer}: the service to register,
 * the parts to compile together on one backend, and the binding its requests lease from.
 *
 * @param <S> the service type (Generator, Denoiser, Predictor)
 */
@ConsumerType
public interface Served<S> extends AutoCloseable {

    /** The model served. */
    ModelDescriptor model();

    /** The object registered as the model's service. */
    S service();

    /** The ONNX parts compiled together on one backend. */
    List<ModelPart> parts();

    /** Where requests lease compiled parts; the server binds and unbinds it. */
    BackendBinding binding();

    /**
     * Runs a small request on freshly compiled parts before traffic moves to them, so that a
     * backend that compiles but cannot run the model is never switched to. Throws if it fails.
     */
    default void warm(BackendBinding.Compiled compiled) {
    }

    /** Waits for requests in flight, then frees what the model holds. */
    @Override
    void close();
}
