package io.triptych.engine.generator;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.triptych.api.Paradigm;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.generator.Generator;
import io.triptych.api.model.ModelDescriptor;

/**
 * The generator engine: a whiteboard consumer of LLM {@link ModelDescriptor}s and of
 * {@link ComputeBackend}s that registers one {@link Generator} per model, bound to the best
 * backend that can run it (no missing operators, highest score, compiles). When backends come or
 * go, each model moves to the best one left, and its registration's {@code backend.id} follows.
 *
 * <p>Every change runs on one engine thread, in arrival order, so compiling never blocks the
 * service registry's callbacks and no lock is held while calling out.
 */
@Component(immediate = true)
public final class GeneratorEngine {
    private static final Logger LOG = LoggerFactory.getLogger(GeneratorEngine.class);

    /** A served model: its generator, registration and the backend under it. */
    private static final class Served {
        final OnnxGenerator generator;
        /** {@code null} until the first binding is tried. */
        ServiceRegistration<Generator> registration;
        ComputeBackend backend;

        Served(OnnxGenerator generator) {
            this.generator = generator;
        }
    }

    private final BundleContext context;
    private final ExecutorService engineThread = Executors.newSingleThreadExecutor(r -> new Thread(r, "triptych-generator-engine"));
    // touched only on the engine thread
    private final List<ComputeBackend> backends = new ArrayList<>();
    private final Map<ModelDescriptor, Served> served = new HashMap<>();

    @Activate
    public GeneratorEngine(BundleContext context) {
        this.context = context;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addBackend(ComputeBackend backend) {
        onEngineThread(() -> {
            backends.add(backend);
            for (Served s : served.values()) {
                if (s.backend == null || backend.score() > s.backend.score()) {
                    rebind(s, List.of(backend), s.backend == null);
                }
            }
        });
    }

    void removeBackend(ComputeBackend backend) {
        onEngineThread(() -> {
            backends.remove(backend);
            for (Served s : served.values()) {
                if (s.backend == backend) {
                    s.backend = null;
                    rebind(s, backends, true);
                }
            }
        });
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            target = "(" + ModelDescriptor.PROPERTY_PARADIGM + "=llm)")
    void addModel(ModelDescriptor model) {
        onEngineThread(() -> {
            OnnxGenerator generator;
            try {
                generator = new OnnxGenerator(model);
            } catch (RuntimeException e) {
                LOG.error("cannot serve model {}: {}", model.id(), e.getMessage());
                return;
            }
            Served s = new Served(generator);
            served.put(model, s);
            // bound before it is registered, so that a client never sees it without a backend it could have had
            rebind(s, backends, true);
            s.registration = context.registerService(Generator.class, generator, properties(model, s.backend == null ? null : s.backend.id()));
        });
    }

    void removeModel(ModelDescriptor model) {
        onEngineThread(() -> {
            Served s = served.remove(model);
            if (s != null) {
                withdraw(s);
            }
        });
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        engineThread.execute(() -> {
            served.values().forEach(GeneratorEngine::withdraw);
            served.clear();
        });
        engineThread.shutdown();
        if (!engineThread.awaitTermination(30, TimeUnit.SECONDS)) {
            LOG.warn("the generator engine did not stop within 30 s");
        }
    }

    /** Queues a change; after deactivation (SCR then unbinds the references) there is nothing left to change. */
    private void onEngineThread(Runnable change) {
        try {
            engineThread.execute(change);
        } catch (RejectedExecutionException stopped) {
            LOG.debug("generator engine stopped; change ignored");
        }
    }

    /**
     * Binds a model to the best of {@code candidates} that compiles it. If none does and
     * {@code mustBind}, the model is left without a backend and requests fail with every reason.
     */
    private void rebind(Served s, List<ComputeBackend> candidates, boolean mustBind) {
        var part = s.generator.config().part();
        List<String> reasons = new ArrayList<>();
        List<ComputeBackend> ordered = new ArrayList<>(candidates);
        ordered.sort(Comparator.comparingInt(ComputeBackend::score).reversed().thenComparing(ComputeBackend::id));
        for (ComputeBackend b : ordered) {
            var missing = b.missingOperators(part);
            if (!missing.isEmpty()) {
                reasons.add(b.id() + " lacks " + missing);
                continue;
            }
            CompiledModel compiled;
            try {
                compiled = b.compile(part);
            } catch (RuntimeException e) {
                reasons.add(b.id() + ": " + e.getMessage());
                continue;
            }
            s.generator.bind(compiled);
            s.backend = b;
            updateProperties(s);
            LOG.info("model {} runs on {}", s.generator.model().id(), b.id());
            return;
        }
        if (mustBind) {
            String why = "no compute backend can run model " + s.generator.model().id()
                    + (reasons.isEmpty() ? ": none is registered" : ": " + String.join("; ", reasons));
            s.generator.unbind(why);
            s.backend = null;
            updateProperties(s);
            LOG.warn(why);
        }
    }

    private static void updateProperties(Served s) {
        if (s.registration != null) {
            s.registration.setProperties(properties(s.generator.model(), s.backend == null ? null : s.backend.id()));
        }
    }

    private static void withdraw(Served s) {
        try {
            if (s.registration != null) {
                s.registration.unregister();
            }
        } catch (IllegalStateException alreadyGone) {
            // unregistered by the framework when this bundle stopped
        }
        s.generator.close();
    }

    private static Dictionary<String, Object> properties(ModelDescriptor model, String backendId) {
        Dictionary<String, Object> p = new Hashtable<>();
        p.put(ModelDescriptor.PROPERTY_ID, model.id());
        p.put(ModelDescriptor.PROPERTY_PARADIGM, Paradigm.LLM.id());
        if (backendId != null) {
            p.put(ComputeBackend.PROPERTY_ID, backendId);
        }
        return p;
    }
}
