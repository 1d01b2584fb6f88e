package io.triptych.api.model;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

import io.triptych.api.Paradigm;

/**
 * A model folder known to the {@link ModelRegistry}: deployed, or failed with a reason.
 *
 * <p>Every deployed model is also registered as an OSGi service of this type with the properties
 * {@link #PROPERTY_ID} and {@link #PROPERTY_PARADIGM}, so engines track models as a whiteboard.
 *
 * @param id the model id (the folder's name), unique in a host
 * @param paradigm the family of the model, or {@code null} if it could not be told
 * @param folder the folder holding the model's files
 * @param origin where it came from: {@code bundle:<symbolic-name>/<version>}, {@code folder:<dir>}
 *               or {@code api}
 * @param state deployed or failed
 * @param failureReason why it failed (one line), or {@code null} when deployed
 * @param parts the ONNX graphs of the model by {@link ModelPart#name()}
 */
public record ModelDescriptor(String id, Paradigm paradigm, Path folder, String origin, ModelState state,
                              String failureReason, Map<String, ModelPart> parts) {

    /** Service property: the model id. */
    public static final String PROPERTY_ID = "model.id";
    /** Service property: the paradigm's {@link Paradigm#id()}. */
    public static final String PROPERTY_PARADIGM = "model.paradigm";

    public ModelDescriptor {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(folder, "folder");
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(state, "state");
        parts = Map.copyOf(parts);
        if ((state == ModelState.FAILED) != (failureReason != null)) {
            throw new IllegalArgumentException("a failure reason is given exactly when the state is FAILED");
        }
    }

    /** A deployed model. */
    public static ModelDescriptor deployed(String id, Paradigm paradigm, Path folder, String origin, Map<String, ModelPart> parts) {
        return new ModelDescriptor(id, Objects.requireNonNull(paradigm, "paradigm"), folder, origin, ModelState.DEPLOYED, null, parts);
    }

    /** A model that could not be loaded. */
    public static ModelDescriptor failed(String id, Paradigm paradigm, Path folder, String origin, String reason) {
        return new ModelDescriptor(id, paradigm, folder, origin, ModelState.FAILED, Objects.requireNonNull(reason, "reason"), Map.of());
    }

    /**
     * The part with the given name.
     *
     * @throws io.triptych.api.ModelLoadException if the model has no such part
     */
    public ModelPart part(String name) {
        ModelPart p = parts.get(name);
        if (p == null) {
            throw new io.triptych.api.ModelLoadException("model " + id + " has no ONNX part " + name);
        }
        return p;
    }
}
