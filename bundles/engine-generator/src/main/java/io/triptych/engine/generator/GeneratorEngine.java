package io.triptych.engine.generator;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

import io.triptych.api.Paradigm;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.generator.Generator;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.engine.support.BackendPolicy;
import io.triptych.engine.support.ModelServer;

/**
 * The generator engine: a whiteboard consumer of LLM {@link ModelDescriptor}s, {@link ComputeBackend}s
 * and the {@link BackendPolicy}, registering one {@link Generator} per model through a
 * {@link ModelServer}, which keeps each model on its most preferred backend.
 */
@Component(immediate = true)
public final class GeneratorEngine {
    private final ModelServer<Generator> server;

    @Activate
    public GeneratorEngine(BundleContext context) {
        server = new ModelServer<>(context, Generator.class, Paradigm.LLM, OnnxGenerator::new);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addBackend(ComputeBackend backend) {
        server.addBackend(backend);
    }

    void removeBackend(ComputeBackend backend) {
        server.removeBackend(backend);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            target = "(" + ModelDescriptor.PROPERTY_PARADIGM + "=llm)")
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
