package io.triptych.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;

import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.GenerationResult;
import io.triptych.api.generator.Generator;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelState;

/**
 * The shipped bundles (the distribution's bundles/ folder) in a real Felix: backend, model
 * registry (watched folder and model bundles), failures that stay contained, and a backend bundle
 * that is stopped, started and updated repeatedly while its native library stays loaded once.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class HostContainerIT extends ContainerTestSupport {

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
        ServiceReference<ModelDescriptor> ref = awaitModel("gpt2-watched", 10_000);
        assertNotNull("model folder not deployed within 2 s", ref);
        assertEquals("llm", ref.getProperty(ModelDescriptor.PROPERTY_PARADIGM));
        deleteTree(model);
        assertTrue("model not withdrawn after its folder was removed", awaitNoModel("gpt2-watched", 10_000));
        // the engine may still have been reading the folder and reported it FAILED first; the watcher then drops it
        assertTrue("model still listed after its folder was removed", waitUntil(() -> registry.find("gpt2-watched").isEmpty(), 10_000));
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

        assertNotNull(awaitModel("good", 10_000));
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
            ServiceReference<ModelDescriptor> ref = awaitModel("bundled-gpt2", 10_000);
            assertNotNull("model bundle's model not deployed", ref);
            assertEquals("bundle:io.triptych.itest.model/1.0.0", ref.getProperty("model.origin"));
            ModelDescriptor d = context.getService(ref);
            assertEquals(ModelState.DEPLOYED, d.state());
            assertTrue(Files.isRegularFile(d.folder().resolve("past.onnx")));
            b.stop();
            assertTrue("model not withdrawn when its bundle stopped", awaitNoModel("bundled-gpt2", 10_000));
            b.start();
            assertNotNull(awaitModel("bundled-gpt2", 10_000));
        } finally {
            b.uninstall();
        }
        assertTrue(awaitNoModel("bundled-gpt2", 10_000));
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
}
