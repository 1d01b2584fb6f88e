package io.triptych.engine.support;

import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.triptych.api.Paradigm;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.api.model.ModelRegistry;

/**
 * The whiteboard core of an engine: registers one service per deployed model and keeps each model
 * on the most preferred backend that can run it ({@link BackendPreferences#rank}). When a backend
 * appears, disappears or the preferences change, each model is re-ranked; a move compiles and
 * warms the model on the new backend first and only then shifts new requests (requests in flight
 * drain on the old parts, see {@link BackendBinding}). If the move fails, traffic stays where it
 * is and the reason is published in the service property {@value #PROPERTY_BACKEND_NOTE}. The
 * registration keeps its identity; its {@code backend.id} property follows the model.
 *
 * <p>Every change runs on one thread per engine, in arrival order, so compiling never blocks the
 * service registry's callbacks and no lock is held while calling out.
 *
 * @param <S> the service type
 */
public final class ModelServer<S> implements AutoCloseable {
    /** Service property: why more preferred backends do not serve the model (absent when none was passed over). */
    public static final String PROPERTY_BACKEND_NOTE = "backend.note";

    private static final Logger LOG = LoggerFactory.getLogger(ModelServer.class);

    private final class Entry {
        final Served<S> served;
        ServiceRegistration<S> registration;
        ComputeBackend backend;
        String note;

        Entry(Served<S> served) {
            this.served = served;
        }
    }

    private final BundleContext context;
    private final Class<S> serviceType;
    private final Paradigm paradigm;
    private final Function<ModelDescriptor, Served<S>> factory;
    private final ExecutorService thread;
    // touched only on the engine thread
    private final List<ComputeBackend> backends = new ArrayList<>();
    private final Map<ModelDescriptor, Entry> entries = new LinkedHashMap<>();
    private BackendPreferences preferences = BackendPreferences.NONE;

    /**
     * @param factory makes the served form of a model; throws (e.g. ModelLoadException) for a model it cannot serve
     */
    public ModelServer(BundleContext context, Class<S> serviceType, Paradigm paradigm, Function<ModelDescriptor, Served<S>> factory) {
        this.context = context;
        this.serviceType = serviceType;
        this.paradigm = paradigm;
        this.factory = factory;
        String name = "triptych-" + paradigm.id() + "-engine";
        this.thread = Executors.newSingleThreadExecutor(r -> new Thread(r, name));
    }

    public void addBackend(ComputeBackend backend) {
        onEngineThread(() -> {
            backends.add(backend);
            entries.values().forEach(this::place);
        });
    }

    public void removeBackend(ComputeBackend backend) {
        onEngineThread(() -> {
            backends.remove(backend);
            for (Entry e : entries.values()) {
                if (e.backend == backend) {
                    e.backend = null;
                    place(e);
                }
            }
        });
    }

    /** Serves a deployed model of this server's paradigm; models of other paradigms are not this engine's. */
    public void addModel(ModelDescriptor model) {
        if (model.paradigm() != paradigm) {
            return;
        }
        onEngineThread(() -> {
            Served<S> served;
            try {
                served = factory.apply(model);
            } catch (RuntimeException e) {
                reject(model, e.getMessage());
                return;
            }
            Entry e = new Entry(served);
            entries.put(model, e);
            // placed before it is registered, so that a client never sees it without a backend it could have had
            place(e);
            e.registration = context.registerService(serviceType, served.service(), properties(e));
        });
    }

    /** The registry lists a model this engine cannot read as FAILED with the reason, so that clients stop waiting for it. */
    private void reject(ModelDescriptor model, String reason) {
        ServiceReference<ModelRegistry> ref = context.getServiceReference(ModelRegistry.class);
        ModelRegistry registry = ref == null ? null : context.getService(ref);
        if (registry == null) {
            LOG.error("cannot serve model {}: {}", model.id(), reason);
            return;
        }
        try {
            registry.reject(model, reason);
        } finally {
            context.ungetService(ref);
        }
    }

    public void removeModel(ModelDescriptor model) {
        onEngineThread(() -> {
            Entry e = entries.remove(model);
            if (e != null) {
                withdraw(e);
            }
        });
    }

    /** New preferences: every model is re-ranked. */
    public void preferences(BackendPreferences next) {
        onEngineThread(() -> {
            preferences = next;
            entries.values().forEach(this::place);
        });
    }

    /** Withdraws every service, waiting for requests in flight. */
    @Override
    public void close() {
        try {
            thread.execute(() -> {
                entries.values().forEach(ModelServer::withdraw);
                entries.clear();
            });
        } catch (RejectedExecutionException alreadyClosed) {
            return;
        }
        thread.shutdown();
        try {
            if (!thread.awaitTermination(60, TimeUnit.SECONDS)) {
                LOG.warn("the {} engine did not stop within 60 s", paradigm.id());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Queues a change; after close there is nothing left to change. */
    private void onEngineThread(Runnable change) {
        try {
            thread.execute(change);
        } catch (RejectedExecutionException stopped) {
            LOG.debug("{} engine stopped; change ignored", paradigm.id());
        }
    }

    /**
     * Moves a model to the best-ranked backend that compiles and warms it, unless it already runs
     * on a backend ranked at least as high. Backends passed over are noted with their reasons.
     */
    private void place(Entry e) {
        String id = e.served.model().id();
        List<String> passedOver = new ArrayList<>();
        boolean refused = false;
        for (ComputeBackend b : preferences.rank(id, backends)) {
            if (b == e.backend) {
                settle(e, b, passedOver);
                return;
            }
            BackendBinding.Compiled compiled;
            try {
                compiled = compile(b, e.served);
            } catch (RuntimeException ex) {
                passedOver.add(b.id() + ": " + ex.getMessage());
                // a backend going away (its removal is queued behind this change) did not refuse the model
                refused |= !(ex instanceof io.triptych.api.BackendUnavailableException);
                continue;
            }
            e.served.binding().bind(compiled);
            LOG.info("model {} runs on {}{}", id, b.id(), e.backend == null ? "" : " (was " + e.backend.id() + ")");
            settle(e, b, passedOver);
            return;
        }
        String why = "no compute backend can run model " + id + (passedOver.isEmpty() ? ": none is registered" : ": " + String.join("; ", passedOver));
        e.served.binding().unbind(why, !refused);
        LOG.warn(why);
        settle(e, null, passedOver);
    }

    private void settle(Entry e, ComputeBackend backend, List<String> passedOver) {
        e.backend = backend;
        e.note = passedOver.isEmpty() ? null : String.join("; ", passedOver);
        if (e.registration != null) {
            e.registration.setProperties(properties(e));
        }
    }

    /** Compiles every part on one backend and warms them; closes what it compiled if anything fails. */
    private static BackendBinding.Compiled compile(ComputeBackend backend, Served<?> served) {
        Set<String> missing = new TreeSet<>();
        for (ModelPart part : served.parts()) {
            missing.addAll(backend.missingOperators(part));
        }
        if (!missing.isEmpty()) {
            throw new io.triptych.api.UnsupportedOperatorException(backend.id(), missing);
        }
        Map<String, CompiledModel> parts = new HashMap<>();
        try {
            for (ModelPart part : served.parts()) {
                parts.put(part.name(), backend.compile(part));
            }
            BackendBinding.Compiled compiled = new BackendBinding.Compiled(backend.id(), parts);
            served.warm(compiled);
            return compiled;
        } catch (RuntimeException ex) {
            parts.values().forEach(CompiledModel::close);
            throw ex;
        }
    }

    private Dictionary<String, Object> properties(Entry e) {
        Dictionary<String, Object> p = new Hashtable<>();
        p.put(ModelDescriptor.PROPERTY_ID, e.served.model().id());
        p.put(ModelDescriptor.PROPERTY_PARADIGM, paradigm.id());
        if (e.backend != null) {
            p.put(ComputeBackend.PROPERTY_ID, e.backend.id());
        }
        if (e.note != null) {
            p.put(PROPERTY_BACKEND_NOTE, e.note);
        }
        return p;
    }

    private static void withdraw(ModelServer<?>.Entry e) {
        try {
            if (e.registration != null) {
                e.registration.unregister();
            }
        } catch (IllegalStateException alreadyGone) {
            // unregistered by the framework when the engine's bundle stopped
        }
        e.served.close();
    }
}
