package io.triptych.engine.denoiser;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

import io.triptych.api.Paradigm;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.denoiser.Denoiser;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.engine.support.BackendPolicy;
import io.triptych.engine.support.BackendPreferences;
import io.triptych.engine.support.ModelServer;

/**
 * The denoiser engine: a whiteboard consumer of diffusion {@link ModelDescriptor}s,
 * {@link ComputeBackend}s and the {@link BackendPolicy}, registering one {@link Denoiser} per
 * pipeline through a {@link ModelServer}, which keeps each on its most preferred backend.
 */
@Component(immediate = true)
public final class DenoiserEngine {
    private final ModelServer<Denoiser> server;

    @Activate
    public DenoiserEngine(BundleContext context) {
        server = new ModelServer<>(context, Denoiser.class, Paradigm.DIFFUSION, OnnxDenoiser::new);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addBackend(ComputeBackend backend) {
        server.addBackend(backend);
    }

    void removeBackend(ComputeBackend backend) {
        server.removeBackend(backend);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            target = "(" + ModelDescriptor.PROPERTY_PARADIGM + "=diffusion)")
    void addModel(ModelDescriptor model) {
        server.addModel(model);
    }

    void removeModel(ModelDescriptor model) {
        server.removeModel(model);
    }

    @Reference(policy = ReferencePolicy.DYNAMIC, cardinality = ReferenceCardinality.OPTIONAL, updated = "updatedPolicy")
    void setPolicy(BackendPolicy policy) {
        server.preferences(policy.current());
    }

    void updatedPolicy(BackendPolicy policy) {
        server.preferences(policy.current());
    }

    void unsetPolicy(BackendPolicy policy) {
        server.preferences(BackendPreferences.NONE);
    }

    @Deactivate
    void deactivate() {
        server.close();
    }
}
