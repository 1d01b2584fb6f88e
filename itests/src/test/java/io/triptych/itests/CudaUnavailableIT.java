package io.triptych.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Collection;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;

import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.backend.DeviceKind;
import io.triptych.api.backend.UnavailableBackend;
import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.GenerationResult;
import io.triptych.api.generator.Generator;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.model.ModelDescriptor;

/**
 * The shipped bundles on a machine without CUDA (the default, CPU-only ONNX Runtime wrapper): the
 * ort-cuda bundle starts cleanly, registers no compute backend, explains why, and models keep
 * being served on ort-cpu while it is reconfigured, stopped and started.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class CudaUnavailableIT extends ContainerTestSupport {
    static final String CUDA_BSN = "io.triptych.backend.ortcuda";
    static final String CUDA_PID = "io.triptych.backend.ortcuda";
    static final String NO_PROVIDER = "this ONNX Runtime build has no CUDA provider (available: [CPUExecutionProvider]);"
            + " the CUDA distribution (mvn -Pcuda) has one";

    @Test
    public void cudaBundleIsActiveRegistersNoBackendAndSaysWhy() throws Exception {
        // the default configuration, whatever the other test (same container) left behind
        configAdmin.getConfiguration(CUDA_PID, "?").delete();
        assertEquals(Bundle.ACTIVE, installed(CUDA_BSN).getState());
        UnavailableBackend u = awaitUnavailable("ort-cuda", NO_PROVIDER);
        assertEquals(DeviceKind.CUDA, u.deviceKind());
        assertOnlyOtherBackends();
    }

    @Test
    public void modelsAreServedOnOrtCpuWhileTheCudaBundleIsReconfiguredStoppedAndStarted() throws Exception {
        String id = deployFixture();
        assertGeneratesOnOrtCpu(id);

        configure(Map.of("deviceId", 1));
        awaitUnavailable("ort-cuda:1", NO_PROVIDER);
        assertGeneratesOnOrtCpu(id);

        configure(Map.of("cudnnConvAlgoSearch", "FASTEST"));
        awaitUnavailable("ort-cuda",
                "configuration io.triptych.backend.ortcuda: unknown ort-cuda cudnnConvAlgoSearch 'FASTEST' (EXHAUSTIVE, HEURISTIC or DEFAULT)");
        assertOnlyOtherBackends();

        configAdmin.getConfiguration(CUDA_PID, "?").delete();
        awaitUnavailable("ort-cuda", NO_PROVIDER);

        Bundle cuda = installed(CUDA_BSN);
        cuda.stop();
        assertTrue("UnavailableBackend still registered after the bundle stopped",
                waitUntil(() -> unavailable().isEmpty(), 10_000));
        assertGeneratesOnOrtCpu(id);
        cuda.start();
        awaitUnavailable("ort-cuda", NO_PROVIDER);
        assertOnlyOtherBackends();
        assertGeneratesOnOrtCpu(id);
        assertEquals("the ONNX Runtime wrapper must never be refreshed", Bundle.ACTIVE, installed("io.triptych.onnxruntime").getState());
    }

    // --- helpers -------------------------------------------------------------------------------

    private void configure(Map<String, Object> properties) throws IOException {
        configAdmin.getConfiguration(CUDA_PID, "?").update(new Hashtable<>(properties));
    }

    private void assertGeneratesOnOrtCpu(String modelId) throws Exception {
        assertTrue("no Generator on ort-cpu for " + modelId, waitUntil(() -> generator(modelId) != null, 15_000));
        ServiceReference<Generator> ref = generator(modelId);
        assertEquals("ort-cpu", ref.getProperty(ComputeBackend.PROPERTY_ID));
        GenerationResult r = context.getService(ref).generate(GenerationRequest.ofTokens(
                List.of(new int[] {0, 0, 0, 52}), SearchOptions.builder().maxLength(8).build()));
        assertArrayEquals(new int[] {0, 0, 0, 52, 204, 204, 204, 204}, r.sequences().get(0).tokens());
        context.ungetService(ref);
    }

    private ServiceReference<Generator> generator(String modelId) {
        try {
            Collection<ServiceReference<Generator>> refs = context.getServiceReferences(Generator.class,
                    "(&(" + ModelDescriptor.PROPERTY_ID + "=" + modelId + ")(" + ComputeBackend.PROPERTY_ID + "=ort-cpu))");
            return refs.isEmpty() ? null : refs.iterator().next();
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
    }

    private String deployFixture() throws IOException {
        return registry.deploy(copyFixture(Files.createTempDirectory("triptych-cuda-it").resolve("gpt2-cuda-it"))).id();
    }

    /** Waits until the only UnavailableBackend is {@code id} with {@code reason} (probing again after a change is asynchronous). */
    private UnavailableBackend awaitUnavailable(String id, String reason) throws InterruptedException {
        Supplier<UnavailableBackend> find = () -> {
            List<UnavailableBackend> all = unavailable();
            return all.size() == 1 && all.get(0).id().equals(id) && all.get(0).reason().equals(reason) ? all.get(0) : null;
        };
        waitUntil(() -> find.get() != null, 15_000);
        UnavailableBackend u = find.get();
        assertNotNull("expected only UnavailableBackend " + id + " (" + reason + "), have "
                + unavailable().stream().map(b -> b.id() + " (" + b.reason() + ")").toList(), u);
        return u;
    }

    private List<UnavailableBackend> unavailable() {
        try {
            // a re-probe unregisters a reference between the lookup and getService, which then answers null
            return context.getServiceReferences(UnavailableBackend.class, null).stream().map(context::getService)
                    .filter(Objects::nonNull).toList();
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /** ort-cpu is registered, and no compute backend claims a CUDA device. */
    private void assertOnlyOtherBackends() throws Exception {
        assertEquals("a CUDA compute backend was registered without CUDA", List.of(),
                context.getServiceReferences(ComputeBackend.class, "(" + ComputeBackend.PROPERTY_DEVICE + "=cuda)").stream()
                        .map(r -> r.getProperty(ComputeBackend.PROPERTY_ID)).toList());
        assertEquals(1, context.getServiceReferences(ComputeBackend.class, "(" + ComputeBackend.PROPERTY_ID + "=ort-cpu)").size());
    }
}
