package io.triptych.registry;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.triptych.api.ModelLoadException;
import io.triptych.api.ModelNotFoundException;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelRegistry;
import io.triptych.api.model.ModelState;

/**
 * The registry: one entry per (origin, model id). Each deployed model is registered as a
 * {@link ModelDescriptor} service. Model ids are unique among deployed models; a second folder
 * with a taken id is listed as FAILED.
 */
@Component(service = ModelRegistry.class, immediate = true, configurationPid = RegistryConfig.PID)
@Designate(ocd = RegistryConfig.class)
public final class ModelRegistryImpl implements ModelRegistry {
    static final String API_ORIGIN = "api";
    private static final Logger LOG = LoggerFactory.getLogger(ModelRegistryImpl.class);

    private record Entry(ModelDescriptor descriptor, ServiceRegistration<ModelDescriptor> registration) {
    }

    private final BundleContext context;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    /** Serialises changes so that service events follow the order of changes. */
    private final ReentrantLock changes = new ReentrantLock();
    private final ModelBundleExtender extender;
    private DeployFolderWatcher watcher;

    @Activate
    public ModelRegistryImpl(BundleContext context, RegistryConfig config) {
        this.context = context;
        this.extender = new ModelBundleExtender(context, this);
        extender.open();
        watch(config);
    }

    /** A new deploy folder or poll interval: only the watched folder's models change, bundle models stay. */
    @Modified
    synchronized void modified(RegistryConfig config) {
        stopWatching();
        watch(config);
    }

    private synchronized void watch(RegistryConfig config) {
        Path deployDir = deployDir(context, config);
        if (deployDir != null) {
            watcher = new DeployFolderWatcher(deployDir, config.pollMillis(), this);
            watcher.start();
        }
    }

    private synchronized void stopWatching() {
        if (watcher != null) {
            watcher.stop();
            String origin = watcher.origin();
            models().stream().filter(d -> d.origin().equals(origin)).forEach(d -> remove(origin, d.id()));
            watcher = null;
        }
    }

    @Deactivate
    void deactivate() {
        stopWatching();
        extender.close();
        changes.lock();
        try {
            entries.values().forEach(ModelRegistryImpl::unregister);
            entries.clear();
        } finally {
            changes.unlock();
        }
    }

    private static Path deployDir(BundleContext context, RegistryConfig config) {
        if (!config.deployDir().isBlank()) {
            return Path.of(config.deployDir());
        }
        String home = context.getProperty("triptych.home");
        return home == null ? null : Path.of(home, "deploy", "models");
    }

    @Override
    public List<ModelDescriptor> models() {
        return entries.values().stream().map(Entry::descriptor)
                .sorted(Comparator.comparing(ModelDescriptor::id).thenComparing(ModelDescriptor::origin)).toList();
    }

    @Override
    public Optional<ModelDescriptor> find(String id) {
        List<ModelDescriptor> all = models().stream().filter(d -> d.id().equals(id)).toList();
        return all.stream().filter(d -> d.state() == ModelState.DEPLOYED).findFirst().or(() -> all.stream().findFirst());
    }

    @Override
    public ModelDescriptor get(String id) {
        ModelDescriptor d = find(id).orElseThrow(() -> new ModelNotFoundException("no model '" + id + "' (known: "
                + models().stream().map(ModelDescriptor::id).distinct().collect(Collectors.joining(", ")) + ")"));
        if (d.state() == ModelState.FAILED) {
            throw new ModelLoadException("model '" + id + "' failed to load: " + d.failureReason());
        }
        return d;
    }

    @Override
    public ModelDescriptor deploy(Path folder) {
        return put(ModelFolderLoader.load(folder.toAbsolutePath().normalize(), API_ORIGIN));
    }

    @Override
    public boolean undeploy(String id) {
        return remove(API_ORIGIN, id);
    }

    @Override
    public void reject(ModelDescriptor model, String reason) {
        changes.lock();
        try {
            Entry e = entries.get(key(model.origin(), model.id()));
            if (e != null && e.descriptor() == model) {
                put(ModelDescriptor.failed(model.id(), model.paradigm(), model.folder(), model.origin(), reason));
            }
        } finally {
            changes.unlock();
        }
    }

    /**
     * Adds or replaces the entry of the descriptor's origin and id; returns what was stored. A
     * replaced entry's service goes first, but the entry itself is swapped in one step, so that
     * readers of {@link #models()} never see the model missing meanwhile.
     */
    ModelDescriptor put(ModelDescriptor d) {
        changes.lock();
        try {
            String key = key(d.origin(), d.id());
            Entry old = entries.get(key);
            if (old != null) {
                unregister(old);
                LOG.info("withdrew model {} from {}", d.id(), d.origin());
            }
            ModelDescriptor stored = d;
            if (d.state() == ModelState.DEPLOYED) {
                Optional<ModelDescriptor> taken = entries.values().stream().filter(e -> e != old).map(Entry::descriptor)
                        .filter(o -> o.id().equals(d.id()) && o.state() == ModelState.DEPLOYED).findFirst();
                if (taken.isPresent()) {
                    stored = ModelDescriptor.failed(d.id(), d.paradigm(), d.folder(), d.origin(),
                            "model id '" + d.id() + "' is already deployed from " + taken.get().origin());
                }
            }
            ServiceRegistration<ModelDescriptor> reg = null;
            if (stored.state() == ModelState.DEPLOYED) {
                Dictionary<String, Object> props = new Hashtable<>();
                props.put(ModelDescriptor.PROPERTY_ID, stored.id());
                props.put(ModelDescriptor.PROPERTY_PARADIGM, stored.paradigm().id());
                props.put("model.origin", stored.origin());
                reg = context.registerService(ModelDescriptor.class, stored, props);
                LOG.info("deployed model {} ({}) from {}", stored.id(), stored.paradigm().id(), stored.origin());
            } else {
                LOG.warn("model {} from {} FAILED: {}", stored.id(), stored.origin(), stored.failureReason());
            }
            entries.put(key, new Entry(stored, reg));
            return stored;
        } finally {
            changes.unlock();
        }
    }

    /** Withdraws the entry of an origin and id; returns whether there was one. */
    boolean remove(String origin, String id) {
        changes.lock();
        try {
            Entry old = entries.remove(key(origin, id));
            if (old == null) {
                return false;
            }
            unregister(old);
            LOG.info("withdrew model {} from {}", id, origin);
            return true;
        } finally {
            changes.unlock();
        }
    }

    private static void unregister(Entry e) {
        if (e.registration() != null) {
            try {
                e.registration().unregister();
            } catch (IllegalStateException alreadyGone) {
                // the framework unregistered it when this bundle stopped
            }
        }
    }

    private static String key(String origin, String id) {
        return origin + '\n' + id;
    }
}
