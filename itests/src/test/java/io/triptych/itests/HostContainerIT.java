package io.triptych.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
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

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.GenerationResult;
import io.triptych.api.generator.Generator;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelRegistry;
import io.triptych.api.model.ModelState;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;

/**
 * The shipped bundles (the distribution's bundles/ folder) in a real Felix: backend, model
 * registry (watched folder and model bundles), failures that stay contained, and a backend bundle
 * that is stopped, started and updated repeatedly while its native library stays loaded once.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class HostContainerIT {
    static final Path GPT2 = Path.of(System.getProperty("triptych.fixtures", "../../shared/fixtures"), "tiny-random-gpt2-fp32");
    static final String BACKEND_BSN = "io.triptych.backend.ortcpu";

    @Inject
    BundleContext context;

    @Inject
    ModelRegistry registry;

    @Inject
    ConfigurationAdmin configAdmin;

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

    @Test
    public void ortCpuBackendIsRegisteredAndRunsTheFixtureModel() throws Exception {
        ComputeBackend backend = awaitBackend();
        assertEquals("ort-cpu", backend.id());
        assertEquals(Integer.valueOf(100), awaitBackendReference().getProperty(ComputeBackend.PROPERTY_SCORE) == null
                ? Integer.valueOf(backend.score()) : awaitBackendReference().getProperty(ComputeBackend.PROPERTY_SCORE));
        assertEquals(204, firstGreedyToken(backend));
    }

    @Test
    public void modelFolderInTheWatchedFolderComesAndGoes() throws Exception {
        Path deploy = Files.createTempDirectory("triptych-deploy");
        watch(deploy);
        Path model = copyFixture(deploy.resolve("gpt2-watched"));
        ServiceReference<ModelDescriptor> ref = awaitModel("gpt2-watched", 2000);
        assertNotNull("model folder not deployed within 2 s", ref);
        assertEquals("llm", ref.getProperty(ModelDescriptor.PROPERTY_PARADIGM));
        deleteTree(model);
        assertTrue("model not withdrawn after its folder was removed", awaitNoModel("gpt2-watched", 2000));
        assertTrue(registry.find("gpt2-watched").isEmpty());
    }

    @Test
    public void brokenModelIsFailedWithItsReasonAndOthersKeepWorking() throws Exception {
        Path deploy = Files.createTempDirectory("triptych-deploy");
        watch(deploy);
        copyFixture(deploy.resolve("good"));
        Path badJson = Files.createDirectories(deploy.resolve("bad-json"));
        Files.writeString(badJson.resolve("genai_config.json"), "{ \"model\": ");
        Path truncated = copyFixture(deploy.resolve("truncated"));
        byte[] onnx = Files.readAllBytes(truncated.resolve("past.onnx"));
        Files.write(truncated.resolve("past.onnx"), java.util.Arrays.copyOf(onnx, 4096));

        assertNotNull(awaitModel("good", 3000));
        waitUntil(() -> registry.find("truncated").isPresent() && registry.find("bad-json").isPresent(), 3000);
        ModelDescriptor bad = registry.find("bad-json").orElseThrow();
        assertEquals(ModelState.FAILED, bad.state());
        assertTrue(bad.failureReason(), bad.failureReason().startsWith("malformed genai_config.json"));
        ModelDescriptor cut = registry.find("truncated").orElseThrow();
        assertEquals(ModelState.FAILED, cut.state());
        assertTrue(cut.failureReason(), cut.failureReason().startsWith("unreadable ONNX file past.onnx"));
        assertNull("a failed model must not be registered as a service", awaitModel("truncated", 100));
        assertEquals(ModelState.DEPLOYED, registry.get("good").state());
        assertEquals(204, firstGreedyToken(awaitBackend()));
    }

    @Test
    public void modelBundleModelsComeAndGoWithTheBundle() throws Exception {
        Path jar = Distribution.modelBundle("io.triptych.itest.model", "models/bundled-gpt2");
        Bundle b = context.installBundle(jar.toUri().toString());
        try {
            assertNull(awaitModel("bundled-gpt2", 200));
            b.start();
            ServiceReference<ModelDescriptor> ref = awaitModel("bundled-gpt2", 2000);
            assertNotNull("model bundle's model not deployed", ref);
            assertEquals("bundle:io.triptych.itest.model/1.0.0", ref.getProperty("model.origin"));
            ModelDescriptor d = context.getService(ref);
            assertEquals(ModelState.DEPLOYED, d.state());
            assertTrue(Files.isRegularFile(d.folder().resolve("past.onnx")));
            b.stop();
            assertTrue("model not withdrawn when its bundle stopped", awaitNoModel("bundled-gpt2", 2000));
            b.start();
            assertNotNull(awaitModel("bundled-gpt2", 2000));
        } finally {
            b.uninstall();
        }
        assertTrue(awaitNoModel("bundled-gpt2", 2000));
    }

    @Test
    public void generatorServiceServesADeployedModelWithItsBackendAsAProperty() throws Exception {
        ModelDescriptor d = awaitAnyFixtureModel(awaitBackend());
        ServiceReference<Generator> ref = awaitGenerator(d.id(), 5000);
        assertNotNull("no Generator service for " + d.id(), ref);
        assertEquals("ort-cpu", ref.getProperty(ComputeBackend.PROPERTY_ID));
        assertEquals("llm", ref.getProperty(ModelDescriptor.PROPERTY_PARADIGM));
        GenerationResult r = context.getService(ref).generate(GenerationRequest.ofTokens(
                List.of(new int[] {0, 0, 0, 52}, new int[] {0, 0, 195, 731}), SearchOptions.builder().maxLength(10).build()));
        assertArrayEquals(new int[] {0, 0, 0, 52, 204, 204, 204, 204, 204, 204}, r.sequences().get(0).tokens());
        assertArrayEquals(new int[] {0, 0, 195, 731, 731, 114, 114, 114, 114, 114}, r.sequences().get(1).tokens());
    }

    @Test
    public void backendBundleSurvivesRepeatedStopStartAndUpdate() throws Exception {
        Bundle backendBundle = installed(BACKEND_BSN);
        for (int i = 0; i < 10; i++) {
            backendBundle.stop();
            assertNull("backend still registered after stop", awaitBackendReference(100));
            backendBundle.start();
            assertEquals(204, firstGreedyToken(awaitBackend()));
        }
        for (int i = 0; i < 3; i++) {
            backendBundle.update();
            assertEquals(204, firstGreedyToken(awaitBackend()));
        }
        assertEquals("the ONNX Runtime wrapper must never be refreshed", Bundle.ACTIVE, installed("io.triptych.onnxruntime").getState());
    }

    // --- helpers -------------------------------------------------------------------------------

    private void watch(Path deploy) throws IOException, InterruptedException {
        org.osgi.service.cm.Configuration c = configAdmin.getConfiguration("io.triptych.models", "?");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("deployDir", deploy.toString());
        props.put("pollMillis", "100");
        c.update(props);
        waitUntil(() -> registry.models().stream().noneMatch(m -> m.origin().startsWith("folder:") && !m.origin().equals("folder:" + deploy)), 2000);
    }

    private Bundle installed(String bsn) {
        for (Bundle b : context.getBundles()) {
            if (bsn.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("bundle " + bsn + " not installed");
    }

    private int firstGreedyToken(ComputeBackend backend) {
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
    private ModelDescriptor awaitAnyFixtureModel(ComputeBackend backend) {
        return registry.find("fixture-gpt2").filter(d -> d.state() == ModelState.DEPLOYED).orElseGet(() -> {
            try {
                return registry.deploy(copyFixture(Files.createTempDirectory("triptych-api").resolve("fixture-gpt2")));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
    }

    private ComputeBackend awaitBackend() {
        ServiceReference<ComputeBackend> ref = awaitBackendReference();
        return context.getService(ref);
    }

    private ServiceReference<ComputeBackend> awaitBackendReference() {
        ServiceReference<ComputeBackend> ref = awaitBackendReference(5000);
        assertNotNull("no ComputeBackend service", ref);
        return ref;
    }

    private ServiceReference<ComputeBackend> awaitBackendReference(long millis) {
        ServiceTracker<ComputeBackend, ComputeBackend> t = new ServiceTracker<>(context, ComputeBackend.class, null);
        t.open();
        try {
            return t.waitForService(millis) == null ? null : t.getServiceReference();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        } finally {
            t.close();
        }
    }

    private ServiceReference<Generator> awaitGenerator(String id, long millis) throws Exception {
        long end = System.currentTimeMillis() + millis;
        do {
            var refs = context.getServiceReferences(Generator.class, "(model.id=" + id + ")");
            if (!refs.isEmpty()) {
                return refs.iterator().next();
            }
            Thread.sleep(20);
        } while (System.currentTimeMillis() < end);
        return null;
    }

    private ServiceReference<ModelDescriptor> awaitModel(String id, long millis) throws Exception {
        long end = System.currentTimeMillis() + millis;
        do {
            var refs = context.getServiceReferences(ModelDescriptor.class, "(model.id=" + id + ")");
            if (!refs.isEmpty()) {
                return refs.iterator().next();
            }
            Thread.sleep(20);
        } while (System.currentTimeMillis() < end);
        return null;
    }

    private boolean awaitNoModel(String id, long millis) throws Exception {
        long end = System.currentTimeMillis() + millis;
        do {
            if (context.getServiceReferences(ModelDescriptor.class, "(model.id=" + id + ")").isEmpty()) {
                return true;
            }
            Thread.sleep(20);
        } while (System.currentTimeMillis() < end);
        return false;
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (!condition.getAsBoolean() && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
    }

    private static Path copyFixture(Path target) throws IOException {
        assertTrue("fixture missing: " + GPT2, Files.isDirectory(GPT2));
        Path tmp = Files.createDirectories(target.resolveSibling("." + target.getFileName()));
        for (String f : new String[] {"genai_config.json", "past.onnx", "tokenizer.json"}) {
            Files.copy(GPT2.resolve(f), tmp.resolve(f));
        }
        // Appear at once, as a finished copy would.
        return Files.move(tmp, target);
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
