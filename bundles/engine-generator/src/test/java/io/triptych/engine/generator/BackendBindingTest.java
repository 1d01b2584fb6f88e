package io.triptych.engine.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        boolean closed;

        Recording(String id) {
            this.id = id;
        }

        @Override public String backendId() { return id; }
        @Override public List<TensorSpec> inputs() { return List.of(); }
        @Override public List<TensorSpec> outputs() { return List.of(); }
        @Override public Map<String, Tensor> run(Map<String, ? extends Tensor> inputs, Set<String> outputNames) { return Map.of(); }
        @Override public void close() { closed = true; }
    }

    @Test
    void aReplacedModelClosesWhenItsLastRequestEnds() {
        BackendBinding binding = new BackendBinding();
        Recording cpu = new Recording("ort-cpu");
        Recording gpu = new Recording("ort-cuda");
        binding.bind(cpu);
        BackendBinding.Lease inFlight = binding.acquire();
        binding.bind(gpu);
        assertEquals("ort-cuda", binding.backendId());
        assertFalse(cpu.closed, "a request still runs on it");
        try (BackendBinding.Lease next = binding.acquire()) {
            assertSame(gpu, next.model());
        }
        assertSame(cpu, inFlight.model());
        inFlight.close();
        assertTrue(cpu.closed);
        assertFalse(gpu.closed);
    }

    @Test
    void withoutABackendRequestsFailWithTheReason() {
        BackendBinding binding = new BackendBinding();
        Recording cpu = new Recording("ort-cpu");
        binding.bind(cpu);
        binding.unbind("no compute backend can run model m: opencl lacks [com.microsoft:Attention]");
        assertTrue(cpu.closed);
        assertNull(binding.backendId());
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, binding::acquire);
        assertTrue(e.getMessage().contains("opencl lacks [com.microsoft:Attention]"), e.getMessage());
    }
}
