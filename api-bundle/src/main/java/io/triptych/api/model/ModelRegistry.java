package io.triptych.api.model;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Every model folder the host knows: deployed from model bundles (manifest header
 * {@value #MODEL_HEADER}), from the watched deploy folder, or through {@link #deploy(Path)}.
 * A folder that fails to load is listed as {@link ModelState#FAILED} and affects nothing else.
 */
@ProviderType
public interface ModelRegistry {

    /**
     * Manifest header of a model bundle: comma-separated folders inside the bundle, each one
     * model (e.g. {@code Triptych-Model: models/tiny-gpt}).
     */
    String MODEL_HEADER = "Triptych-Model";

    /** All known models, deployed and failed, sorted by id. */
    List<ModelDescriptor> models();

    /** The model with the given id, deployed or failed. */
    Optional<ModelDescriptor> find(String id);

    /**
     * The deployed model with the given id.
     *
     * @throws io.triptych.api.ModelNotFoundException if none is known
     * @throws io.triptych.api.ModelLoadException if it is known but failed, with its reason
     */
    ModelDescriptor get(String id);

    /**
     * Reads a model folder and deploys it under its folder name, replacing a model of the same
     * id that was deployed the same way.
     *
     * @return the descriptor, which is {@link ModelState#FAILED} if the folder could not be loaded
     */
    ModelDescriptor deploy(Path folder);

    /**
     * Marks a deployed model {@link ModelState#FAILED} because an engine of its paradigm cannot
     * read its files (a tokenizer it cannot load, a configuration naming a missing input): its
     * descriptor service is withdrawn and it is listed with the reason, as if its folder had
     * failed to load. Deploying the folder again (or restarting its bundle) tries again. Does
     * nothing if {@code model} is no longer the deployed descriptor (replaced or withdrawn meanwhile).
     *
     * @param model the descriptor the engine was given
     * @param reason why, in one line
     */
    void reject(ModelDescriptor model, String reason);

    /**
     * Withdraws a model deployed through {@link #deploy(Path)}.
     *
     * @return whether a model was withdrawn
     */
    boolean undeploy(String id);
}
