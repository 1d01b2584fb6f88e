package io.triptych.engine.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.tensor.Tensor;
import io.triptych.api.tensor.TensorSpec;

class BackendBindingTest {

    /** A compiled model that only records whether it was closed. */
    static final class Recording implements CompiledModel {
        final String id;
        volatile boolean closed;

        Recording(String id) {
            this.id = id;
        }

        @Override public String backendId() { return id; }
        @Override public List<TensorSpec> inputs() { return List.of(); }
        @Override public List<TensorSpec> outputs() { return List.of(); }
        @Override public Map<String, Tensor> run(Map<String, ? extends Tensor> inputs, Set<String> outputNames) { return Map.of(); }
        @Override public void close() { closed = true; }
    }

    static BackendBinding.Compiled compiled(Recording m) {
        return new BackendBinding.Compiled(m.id, Map.of("model.onnx", m));
    }

    @Test
    void aReplacedModelClosesWhenItsLastRequestEnds() {
        BackendBinding binding = new BackendBinding();
        Recording cpu = new Recording("ort-cpu");
        Recording gpu = new Recording("ort-cuda");
        binding.bind(compiled(cpu));
        BackendBinding.Lease inFlight = binding.acquire();
        binding.bind(compiled(gpu));
        assertEquals("ort-cuda", binding.backendId());
        assertFalse(cpu.closed, "a request still runs on it");
        try (BackendBinding.Lease next = binding.acquire()) {
            assertSame(gpu, next.compiled().part("model.onnx"));
        }
        assertSame(cpu, inFlight.compiled().part("model.onnx"));
        inFlight.close();
        assertTrue(cpu.closed);
        assertFalse(gpu.closed);
    }

    @Test
    void withoutABackendRequestsFailWithTheReason() {
        BackendBinding binding = new BackendBinding();
        Recording cpu = new Recording("ort-cpu");
        binding.bind(compiled(cpu));
        binding.unbind("no compute backend can run model m: opencl lacks [com.microsoft:Attention]");
        assertTrue(cpu.closed);
        assertNull(binding.backendId());
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, binding::acquire);
        assertTrue(e.getMessage().contains("opencl lacks [com.microsoft:Attention]"), e.getMessage());
    }

    @Test
    void aRequestArrivingWhileBackendsAreSwappedWaitsForOne() throws Exception {
        BackendBinding binding = new BackendBinding();
        binding.unbind("no compute backend can run model m: none is registered", true);
        Recording cpu = new Recording("ort-cpu");
        Thread mover = new Thread(() -> {
            sleep(100);
            binding.bind(compiled(cpu));
        });
        mover.start();
        try (BackendBinding.Lease lease = binding.acquire()) {
            assertSame(cpu, lease.compiled().part("model.onnx"));
        }
        mover.join();
    }

    @Test
    void aCallWhoseBackendVanishedRunsAgainWhereTheModelMoved() throws Exception {
        BackendBinding binding = new BackendBinding();
        Recording lost = new Recording("opencl");
        binding.bind(compiled(lost));
        Recording cpu = new Recording("ort-cpu");
        Thread mover = new Thread(() -> {
            sleep(100);
            binding.bind(compiled(cpu));
        });
        List<String> tried = new ArrayList<>();
        try (BackendBinding.Lease lease = binding.acquire()) {
            mover.start();
            String ranOn = lease.call(parts -> {
                tried.add(parts.backendId());
                if (parts.backendId().equals("opencl")) {
                    throw new BackendUnavailableException("opencl device lost");
                }
                return parts.backendId();
            });
            assertEquals("ort-cpu", ranOn);
            assertEquals(List.of("opencl", "ort-cpu"), tried);
            assertSame(cpu, lease.compiled().part("model.onnx"));
        }
        mover.join();
        assertTrue(lost.closed, "the lost parts close once their last request left");
        assertFalse(cpu.closed);
    }

    @Test
    void aCallGivesUpWithTheReasonWhenNothingTakesOver() {
        BackendBinding binding = new BackendBinding(Duration.ofMillis(50));
        binding.bind(compiled(new Recording("opencl")));
        BackendBinding.Lease lease = binding.acquire();
        binding.unbind("no compute backend can run model m: none is registered");
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> lease.call(parts -> {
            throw new BackendUnavailableException("opencl device lost");
        }));
        assertTrue(e.getMessage().contains("went away and no other took over within 50 ms: no compute backend can run model m: none is registered"),
                e.getMessage());
        lease.close(); // already given up: closing again is harmless
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
