package io.triptych.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Before;
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

/**
 * Hot swap between the two shipped backends that run the fixture model, ort-cpu and opencl (PoCL
 * in CI): a backend bundle stopped mid-generation, a bundle update under load, a preference flip,
 * and 100 stop/start cycles with bounded memory. No request may fail or change its tokens.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class HotSwapIT extends ContainerTestSupport {
    private static final String MODEL = "swap-gpt2";
    private static final List<int[]> PROMPTS = List.of(new int[] {0, 0, 0, 52}, new int[] {0, 0, 195, 731});
    private static final int[][] EXPECTED = {{0, 0, 0, 52, 204, 204, 204, 204, 204, 204}, {0, 0, 195, 731, 731, 114, 114, 114, 114, 114}};
    /** Resident memory may grow at most this much over 100 stop/start cycles (native sessions, kernels, class loaders). */
    private static final long RSS_BOUND_MB = 150;

    private Generator generator;
    private ServiceReference<Generator> reference;

    @Before
    public void deployAndPreferOrtCpu() throws Exception {
        prefer("ort-cpu", "opencl");
        if (registry.find(MODEL).isEmpty()) {
            registry.deploy(copyFixture(Files.createTempDirectory("triptych-swap").resolve(MODEL)));
        }
        reference = awaitGenerator(MODEL, 10_000);
        assertNotNull("no Generator for " + MODEL, reference);
        generator = context.getService(reference);
        awaitBackendOf("ort-cpu");
        assertNotNull("the OpenCL backend must be registered (PoCL installed?)", backendBundle("opencl"));
    }

    @Test
    public void theActiveBackendBundleStoppedMidGenerationFinishesWithTheRightTokens() throws Exception {
        Bundle cpu = backendBundle("ort-cpu");
        AtomicInteger tokens = new AtomicInteger();
        try {
            GenerationResult r = generator.generate(request(), (seq, token, text) -> {
                if (tokens.incrementAndGet() == 3) {
                    stop(cpu);
                }
            });
            assertTokens(r);
            awaitBackendOf("opencl");
            GenerationResult after = generator.generate(request());
            assertTokens(after);
            assertEquals("opencl", after.backendId());
        } finally {
            cpu.start();
        }
        awaitBackendOf("ort-cpu");
    }

    @Test
    public void aPreferenceFlipMovesTheModelAndKeepsItsRegistration() throws Exception {
        Object serviceId = reference.getProperty("service.id");
        prefer("opencl", "ort-cpu");
        awaitBackendOf("opencl");
        assertEquals("the registration keeps its identity", serviceId, reference.getProperty("service.id"));
        GenerationResult r = generator.generate(request());
        assertTokens(r);
        assertEquals("opencl", r.backendId());
        prefer("ort-cpu", "opencl");
        awaitBackendOf("ort-cpu");
        assertEquals("ort-cpu", generator.generate(request()).backendId());
    }

    @Test
    public void backendBundleUpdatesAndFlipsUnderLoadFailNothing() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        AtomicInteger served = new AtomicInteger();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 3; c++) {
            Thread t = new Thread(() -> {
                while (running.get()) {
                    try {
                        GenerationResult r = generator.generate(request());
                        for (int i = 0; i < EXPECTED.length; i++) {
                            if (!java.util.Arrays.equals(EXPECTED[i], r.sequences().get(i).tokens())) {
                                problems.add("mismatch on " + r.backendId());
                            }
                        }
                        served.incrementAndGet();
                    } catch (RuntimeException e) {
                        problems.add(e.toString());
                    }
                }
            });
            t.start();
            clients.add(t);
        }
        try {
            for (int i = 0; i < 6; i++) {
                String from = generator.backendId();
                String to = from.equals("ort-cpu") ? "opencl" : "ort-cpu";
                prefer(to, from);
                if (i % 2 == 0) {
                    backendBundle(from).update();
                }
                awaitBackendOf(to);
                Thread.sleep(100);
            }
        } finally {
            running.set(false);
            for (Thread t : clients) {
                t.join();
            }
        }
        assertTrue("requests failed or changed during swaps: " + problems, problems.isEmpty());
        assertTrue("too few requests ran during the swaps: " + served.get(), served.get() >= 6);
    }

    @Test
    public void hundredStopStartCyclesLeaveNoLinkErrorsAndBoundedMemory() throws Exception {
        for (int i = 0; i < 10; i++) {
            cycle();
        }
        long before = rssMegabytes();
        for (int i = 0; i < 100; i++) {
            cycle();
        }
        long growth = rssMegabytes() - before;
        System.out.println("RSS growth over 100 stop/start cycles of both backend bundles: " + growth + " MB");
        assertTrue("resident memory grew " + growth + " MB over 100 cycles (bound " + RSS_BOUND_MB + " MB)", growth < RSS_BOUND_MB);
    }

    /**
     * Stops and starts both backend bundles (the model moves to opencl while ort-cpu is gone, and
     * back when it returns), then checks a generation.
     */
    private void cycle() throws Exception {
        Bundle opencl = backendBundle("opencl");
        opencl.stop();
        opencl.start();
        awaitBackendRegistered("opencl");
        Bundle cpu = backendBundle("ort-cpu");
        cpu.stop();
        // the engine moves models on its own thread: wait for this move, or a stale property would pass the next wait
        awaitBackendOf("opencl");
        cpu.start();
        awaitBackendRegistered("ort-cpu");
        awaitBackendOf("ort-cpu");
        assertTokens(generator.generate(request()));
    }

    private static GenerationRequest request() {
        return GenerationRequest.ofTokens(PROMPTS, SearchOptions.builder().maxLength(10).build());
    }

    private static void assertTokens(GenerationResult r) {
        for (int i = 0; i < EXPECTED.length; i++) {
            assertArrayEquals("row " + i + " on " + r.backendId(), EXPECTED[i], r.sequences().get(i).tokens());
        }
    }

    private void prefer(String first, String second) throws Exception {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("order", new String[] {first, second});
        configAdmin.getConfiguration("io.triptych.backends", "?").update(props);
    }

    private void awaitBackendOf(String backendId) throws InterruptedException {
        assertTrue("the model did not move to " + backendId + " (" + reference.getProperty("backend.note") + ")",
                waitUntil(() -> backendId.equals(reference.getProperty(ComputeBackend.PROPERTY_ID)), 30_000));
    }

    private void awaitBackendRegistered(String backendId) throws InterruptedException {
        waitUntil(() -> backendBundle(backendId) != null, 30_000);
        assertNotNull("backend " + backendId + " did not come back", backendBundle(backendId));
    }

    private Bundle backendBundle(String backendId) {
        try {
            var refs = context.getServiceReferences(ComputeBackend.class, "(backend.id=" + backendId + ")");
            return refs.isEmpty() ? null : refs.iterator().next().getBundle();
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
    }

    private static void stop(Bundle b) {
        try {
            b.stop();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static long rssMegabytes() throws Exception {
        System.gc();
        for (String line : Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D+", "")) / 1024;
            }
        }
        throw new AssertionError("no VmRSS in /proc/self/status");
    }
}
