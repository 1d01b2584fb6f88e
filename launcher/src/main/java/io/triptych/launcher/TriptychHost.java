package io.triptych.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.function.Predicate;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.Paradigm;
import io.triptych.api.TriptychException;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.backend.UnavailableBackend;
import io.triptych.api.model.ModelRegistry;

/**
 * A Triptych host inside the caller's JVM: an Apache Felix framework running the Triptych bundles.
 * The API packages ({@code io.triptych.api.*}), SLF4J and Config Admin's API are shared with the
 * caller's class path, so services from {@link #service} are used directly. {@link #close()}
 * stops the framework and deletes its temporary storage.
 *
 * <pre>
 * try (TriptychHost host = TriptychHost.builder().home(Path.of("/opt/triptych")).start()) {
 *     Generator g = host.service(Generator.class, "(model.id=tiny-gpt)", Duration.ofSeconds(5));
 *     System.out.println(g.generate(GenerationRequest.of("Hello")).sequences().get(0).text());
 * }
 * </pre>
 */
public final class TriptychHost implements AutoCloseable {
    /** Framework property holding the host's home folder. */
    public static final String HOME_PROPERTY = "triptych.home";
    /** Config Admin PID of the engines' backend preferences: {@code order} (backend ids) and {@code pins} ({@code model=backend}). */
    public static final String BACKENDS_PID = "io.triptych.backends";

    private static final Logger LOG = LoggerFactory.getLogger(TriptychHost.class);
    /** Started first, so that configurations exist before any component reads them. */
    private static final String CONFIG_ADMIN = "org.apache.felix.configadmin";
    /** Started before everything else but Config Admin, so that every log entry reaches SLF4J. */
    private static final String LOG_SERVICE = "org.apache.felix.log";
    /** Watches conf/ and deploy/; started only for hosts that watch. */
    private static final String FILE_INSTALL = "org.apache.felix.fileinstall";
    /** Started after the bundles whose components it activates, so activation happens before start() returns. */
    private static final List<String> STARTED_LAST = List.of("org.apache.felix.scr", "org.apache.felix.fileinstall",
            "org.apache.felix.gogo.runtime", "org.apache.felix.gogo.command", "org.apache.felix.gogo.shell");

    private final Framework framework;
    private final Path storage;
    private final Path home;
    private final boolean watch;
    private final Map<String, Map<String, Object>> configurations;

    private TriptychHost(Framework framework, Path storage, Path home, boolean watch, Map<String, Map<String, Object>> configurations) {
        this.framework = framework;
        this.storage = storage;
        this.home = home;
        this.watch = watch;
        this.configurations = configurations;
    }

    /** A builder for a host. */
    public static Builder builder() {
        return new Builder();
    }

    /** The home folder ({@code bundles/}, {@code conf/}, {@code deploy/}), or {@code null} if none was given. */
    public Path home() {
        return home;
    }

    /** The framework's system bundle context, for integrators who need the full OSGi API. */
    public BundleContext bundleContext() {
        return framework.getBundleContext();
    }

    /**
     * Waits for a service and returns it (held for the host's life).
     *
     * @param filter an LDAP filter on service properties, or {@code null}
     * @throws BackendUnavailableException if none appears within the timeout
     * @throws InvalidRequestException if the filter is malformed
     */
    public <T> T service(Class<T> type, String filter, Duration timeout) {
        BundleContext ctx = bundleContext();
        String f = "(" + Constants.OBJECTCLASS + "=" + type.getName() + ")";
        if (filter != null && !filter.isBlank()) {
            f = "(&" + f + filter + ")";
        }
        ServiceTracker<T, T> tracker;
        try {
            tracker = new ServiceTracker<>(ctx, ctx.createFilter(f), null);
        } catch (InvalidSyntaxException e) {
            throw new InvalidRequestException("malformed service filter " + filter + ": " + e.getMessage());
        }
        tracker.open();
        try {
            // Get it through the system bundle so that it stays valid after the tracker closes.
            T service = tracker.waitForService(timeout.toMillis()) == null ? null : ctx.getService(tracker.getServiceReference());
            if (service == null) {
                throw new BackendUnavailableException("no " + type.getSimpleName() + " service " + (filter == null ? "" : filter)
                        + " within " + timeout.toMillis() + " ms");
            }
            return service;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TriptychException("interrupted while waiting for " + type.getSimpleName());
        } finally {
            tracker.close();
        }
    }

    /** Every registered service of a type, best ranked first. */
    public <T> List<T> services(Class<T> type) {
        BundleContext ctx = bundleContext();
        try {
            List<ServiceReference<T>> refs = new ArrayList<>(ctx.getServiceReferences(type, null));
            refs.sort(Comparator.reverseOrder());
            List<T> out = new ArrayList<>();
            for (ServiceReference<T> ref : refs) {
                T s = ctx.getService(ref);
                if (s != null) {
                    out.add(s);
                }
            }
            return out;
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The model registry. */
    public ModelRegistry models() {
        return service(ModelRegistry.class, null, Duration.ofSeconds(10));
    }

    /** The compute backends now registered. */
    public List<ComputeBackend> backends() {
        return services(ComputeBackend.class);
    }

    /** The backends that were probed and cannot run here, with their reasons. */
    public List<UnavailableBackend> unavailableBackends() {
        return services(UnavailableBackend.class);
    }

    /**
     * Creates or updates a Config Admin configuration, e.g. {@code configure("io.triptych.backend.ortcpu",
     * Map.of("intraOpThreads", 2))}.
     */
    public void configure(String pid, Map<String, ?> properties) {
        ConfigurationAdmin admin = service(ConfigurationAdmin.class, null, Duration.ofSeconds(10));
        try {
            Configuration c = admin.getConfiguration(pid, "?");
            c.update(new Hashtable<>(properties));
        } catch (IOException e) {
            throw new TriptychException("cannot update configuration " + pid + ": " + e.getMessage(), e);
        }
    }

    /**
     * The backend preferences now configured ({@code order} and {@code pins} as String arrays;
     * a {@code .cfg} file's comma-separated values are split), ready to change and pass to
     * {@link #configure(String, Map)} with {@link #BACKENDS_PID}.
     */
    public Map<String, Object> backendPreferences() {
        ConfigurationAdmin admin = service(ConfigurationAdmin.class, null, Duration.ofSeconds(10));
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            Dictionary<String, Object> props = admin.getConfiguration(BACKENDS_PID, "?").getProperties();
            for (String key : new String[] {"order", "pins"}) {
                Object v = props == null ? null : props.get(key);
                List<String> items = new ArrayList<>();
                for (Object o : v instanceof String[] a ? a : v == null ? new String[0] : new String[] {v.toString()}) {
                    for (String item : o.toString().split(",")) {
                        if (!item.isBlank()) {
                            items.add(item.trim());
                        }
                    }
                }
                out.put(key, items.toArray(String[]::new));
            }
        } catch (IOException e) {
            throw new TriptychException("cannot read configuration " + BACKENDS_PID + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** Blocks until the framework has stopped (e.g. {@code stop 0} in the shell, or {@link #close()}). */
    public void awaitStop() throws InterruptedException {
        framework.waitForStop(0);
    }

    /** Stops the framework, waits for it, and deletes its temporary storage. Idempotent. */
    @Override
    public void close() {
        try {
            framework.stop();
            FrameworkEvent e = framework.waitForStop(30_000);
            if (e.getType() == FrameworkEvent.WAIT_TIMEDOUT) {
                LOG.warn("framework did not stop within 30 s");
            }
        } catch (BundleException e) {
            LOG.warn("stopping the framework failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            deleteTree(storage);
        }
    }

    private static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.warn("cannot delete {}: {}", root, e.toString());
        }
    }

    /** Configures and starts a {@link TriptychHost}. */
    public static final class Builder {
        private Path home;
        private final List<Path> bundles = new ArrayList<>();
        private final Map<String, String> properties = new LinkedHashMap<>();
        private final Map<String, Map<String, Object>> configurations = new LinkedHashMap<>();
        private boolean interactiveShell;
        private boolean watch;

        private Builder() {
        }

        /**
         * A home folder: bundles from {@code bundles/} and {@code models/}, framework properties
         * from {@code conf/framework.properties}, configurations from {@code conf/*.cfg}, and the
         * watched {@code deploy/} folder.
         */
        public Builder home(Path folder) {
            this.home = folder.toAbsolutePath().normalize();
            return this;
        }

        /** Adds bundle jars to install. */
        public Builder bundles(Collection<Path> jars) {
            bundles.addAll(jars);
            return this;
        }

        /**
         * Adds the bundle jars on this JVM's class path whose symbolic name passes the filter
         * (the framework, the Triptych API, SLF4J and the OSGi service APIs, which the host shares from the class path, are never installed).
         */
        public Builder bundlesFromClassPath(Predicate<String> symbolicName) {
            for (String entry : System.getProperty("java.class.path", "").split(java.io.File.pathSeparator)) {
                Path jar = Path.of(entry);
                String bsn = Files.isRegularFile(jar) ? symbolicName(jar) : null;
                if (bsn != null && symbolicName.test(bsn) && !bsn.equals("io.triptych.api") && !bsn.startsWith("slf4j.")
                        && !bsn.equals("org.apache.felix.framework") && !bsn.startsWith("org.osgi.service.")) {
                    bundles.add(jar);
                }
            }
            return this;
        }

        /** Sets a framework property (overrides {@code conf/framework.properties}). */
        public Builder property(String key, String value) {
            properties.put(key, value);
            return this;
        }

        /**
         * Sets a Config Admin configuration before any component starts, over {@code conf/<pid>.cfg}
         * (e.g. {@code configuration("io.triptych.backends", Map.of("order", new String[] {"opencl"}))}).
         */
        public Builder configuration(String pid, Map<String, Object> values) {
            configurations.merge(pid, new LinkedHashMap<>(values), (a, b) -> {
                a.putAll(b);
                return a;
            });
            return this;
        }

        /**
         * Whether {@code conf/} and {@code deploy/} are watched for changes while the host runs (a
         * long-lived host wants that). Without it, {@code deploy/*.jar} are installed once at start
         * and the configurations given here stay as given.
         */
        public Builder watch(boolean watchFolders) {
            this.watch = watchFolders;
            return this;
        }

        /** Whether the Gogo shell reads the terminal (only {@code triptych serve} wants that). */
        public Builder interactiveShell(boolean interactive) {
            this.interactiveShell = interactive;
            return this;
        }

        /**
         * Starts the framework and every bundle; when this returns, every component that can
         * activate has, and every model already present is deployed.
         *
         * @throws InvalidRequestException if the home or a bundle is unusable
         */
        public TriptychHost start() {
            Path storage;
            try {
                storage = Files.createTempDirectory("triptych-felix");
            } catch (IOException e) {
                throw new TriptychException("cannot create framework storage: " + e.getMessage(), e);
            }
            Map<String, Object> config = new HashMap<>();
            config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
            config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
            config.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, String.join(",",
                    exports(Paradigm.class), exports(LoggerFactory.class), exports(ConfigurationAdmin.class),
                    exports(org.osgi.service.log.LogService.class)));
            config.put("felix.log.logger", new FelixLogBridge());
            // Resolve on the calling thread: Felix's resolver pool threads would outlive the framework.
            config.put("felix.resolver.parallelism", "1");
            config.put("gosh.args", interactiveShell ? "" : "--nointeractive");
            List<Path> jars = new ArrayList<>();
            if (home != null) {
                if (!Files.isDirectory(home)) {
                    throw new InvalidRequestException("Triptych home " + home + " is not a folder");
                }
                config.put(HOME_PROPERTY, home.toString());
                Path frameworkProperties = home.resolve("conf/framework.properties");
                if (Files.isRegularFile(frameworkProperties)) {
                    config.putAll(ConfigFiles.read(frameworkProperties, k -> k.equals(HOME_PROPERTY) ? home.toString() : System.getProperty(k)));
                }
                jars.addAll(jarsIn(home.resolve("bundles")));
                jars.addAll(jarsIn(home.resolve("models")));
                if (!watch) {
                    jars.addAll(jarsIn(home.resolve("deploy")));
                }
            }
            jars.addAll(bundles);
            config.putAll(properties);

            @SuppressWarnings({"unchecked", "rawtypes"})
            Map<String, String> stringly = (Map) config;
            Framework framework = ServiceLoader.load(FrameworkFactory.class).findFirst()
                    .orElseThrow(() -> new TriptychException("no OSGi framework on the class path"))
                    .newFramework(stringly);
            TriptychHost host = new TriptychHost(framework, storage, home, watch, configurations);
            try {
                framework.init();
                framework.start();
                new LogServiceBridge(framework.getBundleContext()).open();
                host.installAndStart(jars);
                HostCommands.register(host);
                return host;
            } catch (BundleException | RuntimeException e) {
                host.close();
                if (e instanceof TriptychException t) {
                    throw t;
                }
                throw new TriptychException("cannot start the host: " + e.getMessage(), e);
            }
        }
    }

    private void installAndStart(List<Path> jars) throws BundleException {
        BundleContext ctx = bundleContext();
        List<Bundle> installed = new ArrayList<>();
        for (Path jar : jars) {
            if (symbolicName(jar) == null) {
                LOG.warn("skipping {}: not an OSGi bundle", jar);
                continue;
            }
            installed.add(ctx.installBundle(jar.toUri().toString()));
        }
        installed.sort(Comparator.comparingInt(TriptychHost::startOrder));
        for (Bundle b : installed) {
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) != null || (!watch && FILE_INSTALL.equals(b.getSymbolicName()))) {
                continue;
            }
            try {
                b.start();
            } catch (BundleException e) {
                LOG.error("bundle {} did not start: {}", b.getSymbolicName(), e.getMessage());
            }
            if (CONFIG_ADMIN.equals(b.getSymbolicName())) {
                applyConfigurations();
            }
        }
    }

    private static int startOrder(Bundle b) {
        if (CONFIG_ADMIN.equals(b.getSymbolicName())) {
            return -2;
        }
        if (LOG_SERVICE.equals(b.getSymbolicName())) {
            return -1;
        }
        int last = STARTED_LAST.indexOf(b.getSymbolicName());
        return last < 0 ? 0 : 1 + last;
    }

    /** Loads {@code conf/*.cfg} as FileInstall would, then the builder's configurations, before any component starts. */
    private void applyConfigurations() {
        Map<String, Dictionary<String, Object>> all = new LinkedHashMap<>();
        if (home != null) {
            for (Path cfg : ConfigFiles.singletonConfigs(home.resolve("conf"))) {
                all.put(ConfigFiles.pid(cfg), ConfigFiles.dictionary(cfg, k -> k.equals(HOME_PROPERTY) ? home.toString() : bundleContext().getProperty(k)));
            }
        }
        configurations.forEach((pid, values) -> {
            Dictionary<String, Object> d = all.computeIfAbsent(pid, p -> new Hashtable<>());
            values.forEach(d::put);
        });
        ConfigurationAdmin admin = service(ConfigurationAdmin.class, null, Duration.ofSeconds(5));
        for (Map.Entry<String, Dictionary<String, Object>> e : all.entrySet()) {
            try {
                admin.getConfiguration(e.getKey(), "?").update(e.getValue());
            } catch (IOException ex) {
                throw new InvalidRequestException("cannot apply configuration " + e.getKey() + ": " + ex.getMessage());
            }
        }
    }

    private static List<Path> jarsIn(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new InvalidRequestException("cannot list " + dir + ": " + e.getMessage());
        }
    }

    private static String symbolicName(Path jar) {
        try (JarFile j = new JarFile(jar.toFile())) {
            Manifest m = j.getManifest();
            String bsn = m == null ? null : m.getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME);
            return bsn == null ? null : bsn.split(";")[0].trim();
        } catch (IOException e) {
            throw new InvalidRequestException("cannot read bundle " + jar + ": " + e.getMessage());
        }
    }

    /** The Export-Package header of the jar (or class folder) that holds {@code type}. */
    static String exports(Class<?> type) {
        try {
            Path location = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
            Manifest m;
            if (Files.isDirectory(location)) {
                try (InputStream in = Files.newInputStream(location.resolve("META-INF/MANIFEST.MF"))) {
                    m = new Manifest(in);
                }
            } else {
                try (JarFile j = new JarFile(location.toFile())) {
                    m = j.getManifest();
                }
            }
            String exports = m.getMainAttributes().getValue(Constants.EXPORT_PACKAGE);
            if (exports == null) {
                throw new TriptychException(location + " exports no packages");
            }
            return exports;
        } catch (IOException | URISyntaxException | NullPointerException e) {
            throw new TriptychException("cannot read the exports of " + type.getName() + "'s jar: " + e, e);
        }
    }
}
