package io.triptych.engine.support;

import java.util.function.Function;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

import io.triptych.api.Paradigm;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.model.ModelDescriptor;

/**
 * The Declarative Services shape every engine shares: a whiteboard consumer of
 * {@link ModelDescriptor}s of one paradigm, of {@link ComputeBackend}s and of the
 * {@link BackendPolicy}, feeding them to a {@link ModelServer}.
 *
 * <p>An engine is {@code @Component(immediate = true, property = "model.target=(model.paradigm=<id>)")}
 * extending this class, in a bundle whose {@code bnd.bnd} says {@code -dsannotations-options: inherit}
 * so that these references become part of its component.
 *
 * @param <S> the service type the engine registers per model
 */
public abstract class ModelEngine<S> {
    private final ModelServer<S> server;

    /**
     * @param factory makes the served form of a model; throws for a model it cannot serve
     */
    protected ModelEngine(BundleContext context, Class<S> serviceType, Paradigm paradigm, Function<ModelDescriptor, Served<S>> factory) {
        server = new ModelServer<>(context, serviceType, paradigm, factory);
    }

    @Reference(name = "backend", cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, unbind = "removeBackend")
    protected void addBackend(ComputeBackend backend) {
        server.addBackend(backend);
    }

    protected void removeBackend(ComputeBackend backend) {
        server.removeBackend(backend);
    }

    /**
     * Models of the engine's paradigm: the component property {@code model.target} filters them (a
     * target here would override it); the server ignores any other paradigm anyway.
     */
    @Reference(name = "model", cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, unbind = "removeModel")
    protected void addModel(ModelDescriptor model) {
        server.addModel(model);
    }

    protected void removeModel(ModelDescriptor model) {
        server.removeModel(model);
    }

    @Reference(name = "policy", policy = ReferencePolicy.DYNAMIC, cardinality = ReferenceCardinality.OPTIONAL,
            updated = "updatedPolicy", unbind = "unsetPolicy")
    protected void setPolicy(BackendPolicy policy) {
        server.preferences(policy.current());
    }

    protected void updatedPolicy(BackendPolicy policy) {
        server.preferences(policy.current());
    }

    protected void unsetPolicy(BackendPolicy policy) {
        server.preferences(BackendPreferences.NONE);
    }

    @Deactivate
    protected void deactivate() {
        server.close();
    }
}
