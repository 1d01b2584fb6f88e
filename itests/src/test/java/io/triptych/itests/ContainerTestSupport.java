package io.triptych.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.cleanCaches;
import static org.ops4j.pax.exam.CoreOptions.systemPackages;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.generator.Generator;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelRegistry;
import io.triptych.api.model.ModelState;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;

/**
 * The container every Pax Exam test runs in: the distribution's shipped bundles (its bundles/
 * folder, less the shell and the folder watcher) in a real Felix, and helpers to wait for what
 * they register.
 */
public abstract class ContainerTestSupport {
    protected static final Path GPT2 = Path.of(System.getProperty("triptych.fixtures", "../../shared/fixtures"), "tiny-random-gpt2-fp32");
    protected static final String BACKEND_BSN = "io.triptych.backend.ortcpu";

    @Inject
    protected BundleContext context;

    @Inject
    protected ModelRegistry registry;

    @Inject
    protected ConfigurationAdmin configAdmin;

    @Configuration
    public Option[] config() throws IOException {
        Path dist = Path.of(System.getProperty("triptych.dist"));
        List<Option> options = new ArrayList<>();
        options.add(cleanCaches());
        options.add(junitBundles());
        options.add(systemProperty("triptych.fixtures").value(GPT2.getParent().toString()));
        options.add(systemProperty("triptych.dist").value(dist.toString()));
        // As in the launcher, SLF4J comes from the class path through the system bundle (its OSGi
        // bundle would need a service loader mediator); the other shared jars are plain bundles here.
        String slf4j = System.getProperty("slf4j.version");
        options.add(systemPackages(Stream.of("org.slf4j", "org.slf4j.spi", "org.slf4j.event", "org.slf4j.helpers")
                .map(p -> p + ";version=" + slf4j).toArray(String[]::new)));
        for (String lib : new String[] {"triptych-api", "org.osgi.service.cm", "org.osgi.service.log"}) {
            options.add(bundle(jar(dist.resolve("lib"), lib).toUri().toString()));
        }
        try (Stream<Path> jars = Files.list(dist.resolve("bundles"))) {
            jars.filter(j -> !j.getFileName().toString().contains("gogo") && !j.getFileName().toString().contains("fileinstall"))
                    .sorted().forEach(j -> options.add(bundle(j.toUri().toString())));
        }
        return options.toArray(new Option[0]);
    }

    private static Path jar(Path dir, String prefix) throws IOException {
        try (Stream<Path> jars = Files.list(dir)) {
            return jars.filter(j -> j.getFileName().toString().startsWith(prefix + "-")).findFirst()
                    .orElseThrow(() -> new IOException("no " + prefix + " jar in " + dir));
        }
    }

    protected void watch(Path deploy) throws IOException, InterruptedException {
        org.osgi.service.cm.Configuration c = configAdmin.getConfiguration("io.triptych.models", "?");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("deployDir", deploy.toString());
        props.put("pollMillis", "100");
        c.update(props);
        waitUntil(() -> registry.models().stream().noneMatch(m -> m.origin().startsWith("folder:") && !m.origin().equals("folder:" + deploy)), 2000);
    }

    protected Bundle installed(String bsn) {
        for (Bundle b : context.getBundles()) {
            if (bsn.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("bundle " + bsn + " not installed");
    }

    protected int firstGreedyToken(ComputeBackend backend) {
        ModelDescriptor d = awaitAnyFixtureModel(backend);
        try (CompiledModel model = backend.compile(d.part("past.onnx"))) {
            Map<String, Tensor> in = new HashMap<>();
            in.put("input_ids", Tensor.of(new int[] {0, 0, 0, 52}, 1, 4));
            in.put("position_ids", Tensor.of(new int[] {0, 1, 2, 3}, 1, 4));
            in.put("attention_mask", Tensor.of(new int[] {1, 1, 1, 1}, 1, 4));
            for (int i = 0; i < 5; i++) {
                in.put("past_" + i, Tensor.allocate(DType.FLOAT32, 2, 1, 4, 0, 8));
            }
            Map<String, Tensor> out = model.run(in, java.util.Set.of("logits"));
            try (Tensor logits = out.get("logits")) {
                assertArrayEquals(new long[] {1, 4, 1000}, logits.shape());
                float[] l = logits.toFloatArray();
                int best = 0;
                for (int i = 1; i < 1000; i++) {
                    if (l[3000 + i] > l[3000 + best]) {
                        best = i;
                    }
                }
                return best;
            }
        }
    }

    /** A deployed copy of the fixture, through the registry's API (the origin 'api'). */
    protected ModelDescriptor awaitAnyFixtureModel(ComputeBackend backend) {
        return registry.find("fixture-gpt2").filter(d -> d.state() == ModelState.DEPLOYED).orElseGet(() -> {
            try {
                return registry.deploy(copyFixture(Files.createTempDirectory("triptych-api").resolve("fixture-gpt2")));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
    }

    protected ComputeBackend awaitBackend() {
        ServiceReference<ComputeBackend> ref = awaitBackendReference();
        return context.getService(ref);
    }

    protected ServiceReference<ComputeBackend> awaitBackendReference() {
        ServiceReference<ComputeBackend> ref = awaitBackendReference(5000);
        assertNotNull("no ComputeBackend service", ref);
        return ref;
    }

    protected ServiceReference<ComputeBackend> awaitBackendReference(long millis) {
        ServiceTracker<ComputeBackend, ComputeBackend> t;
        try {
            t = new ServiceTracker<>(context, context.createFilter("(&(objectClass=" + ComputeBackend.class.getName() + ")(backend.id=ort-cpu))"), null);
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
        t.open();
        try {
            return t.waitForService(millis) == null ? null : t.getServiceReference();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        } finally {
            t.close();
        }
    }

    protected ServiceReference<Generator> awaitGenerator(String id, long millis) throws Exception {
        return awaitService(Generator.class, id, millis);
    }

    protected ServiceReference<ModelDescriptor> awaitModel(String id, long millis) throws Exception {
        return awaitService(ModelDescriptor.class, id, millis);
    }

    /** The service of {@code type} registered for model {@code id}, or {@code null} if none appears in time. */
    protected <T> ServiceReference<T> awaitService(Class<T> type, String id, long millis) throws Exception {
        long end = System.currentTimeMillis() + millis;
        do {
            var refs = context.getServiceReferences(type, "(model.id=" + id + ")");
            if (!refs.isEmpty()) {
                return refs.iterator().next();
            }
            Thread.sleep(20);
        } while (System.currentTimeMillis() < end);
        return null;
    }

    protected boolean awaitNoModel(String id, long millis) throws Exception {
        long end = System.currentTimeMillis() + millis;
        do {
            if (context.getServiceReferences(ModelDescriptor.class, "(model.id=" + id + ")").isEmpty()) {
                return true;
            }
            Thread.sleep(20);
        } while (System.currentTimeMillis() < end);
        return false;
    }

    /** Waits until {@code condition} holds or {@code millis} pass; returns whether it holds. */
    protected static boolean waitUntil(java.util.function.BooleanSupplier condition, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > end) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    protected static Path copyFixture(Path target) throws IOException {
        assertTrue("fixture missing: " + GPT2, Files.isDirectory(GPT2));
        Path tmp = Files.createDirectories(target.resolveSibling("." + target.getFileName()));
        for (String f : new String[] {"genai_config.json", "past.onnx", "tokenizer.json"}) {
            Files.copy(GPT2.resolve(f), tmp.resolve(f));
        }
        // Appear at once, as a finished copy would.
        return Files.move(tmp, target);
    }

    protected static void deleteTree(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
