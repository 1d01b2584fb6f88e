package io.triptych.engine.predictor;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

import io.triptych.api.Paradigm;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.predictor.Predictor;
import io.triptych.engine.support.BackendPolicy;
import io.triptych.engine.support.ModelServer;

/**
 * The predictor engine: a whiteboard consumer of JEPA {@link ModelDescriptor}s, {@link ComputeBackend}s
 * and the {@link BackendPolicy}, registering one {@link Predictor} per model through a
 * {@link ModelServer}, which keeps each model on its most preferred backend.
 */
@Component(immediate = true)
public final class PredictorEngine {
    private final ModelServer<Predictor> server;

    @Activate
    public PredictorEngine(BundleContext context) {
        server = new ModelServer<>(context, Predictor.class, Paradigm.JEPA, OnnxPredictor::new);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addBackend(ComputeBackend backend) {
        server.addBackend(backend);
    }

    void removeBackend(ComputeBackend backend) {
        server.removeBackend(backend);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            target = "(" + ModelDescriptor.PROPERTY_PARADIGM + "=jepa)")
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
        server.preferences(io.triptych.engine.support.BackendPreferences.NONE);
    }

    @Deactivate
    void deactivate() {
        server.close();
    }
}
