package io.triptych.engine.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.SearchOptions;
import io.triptych.backend.opencl.OpenClBackend;

/** The engine on the opencl backend, where the key/value cache lives in device memory. */
class OpenClGeneratorTest {
    static final OpenClBackend OPENCL = OpenClBackend.open("", "", "PREFER_GPU", 50);

    @AfterAll
    static void close() {
        OPENCL.close();
    }

    @Test
    void reorderingMovesTheCacheRowsOnTheDevice() {
        OnnxGenerator g = OnnxGeneratorTest.tinyGpt2();
        try {
            OnnxGeneratorTest.assertReorderMovesCacheRows(g, OPENCL);
        } finally {
            g.close();
        }
    }

    @Test
    void beamSearchReordersTheCacheOnTheDeviceAndGivesOrtGenAisTokens() {
        OnnxGenerator g = OnnxGeneratorTest.tinyGpt2();
        try {
            // the guard fails any read of the cache back to the host
            OnnxGeneratorTest.bind(g, OPENCL, OnnxGeneratorTest.HostReadGuard::new);
            OnnxGeneratorTest.assertOrtGenAisBeamSearch(g);
            assertEquals("opencl", g.generate(GenerationRequest.ofTokens(java.util.List.of(new int[] {0, 52}),
                    SearchOptions.builder().maxLength(4).numBeams(2).build())).backendId());
        } finally {
            g.close();
        }
    }
}
