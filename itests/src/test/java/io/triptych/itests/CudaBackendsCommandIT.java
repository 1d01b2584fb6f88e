package io.triptych.itests;

import static org.junit.Assert.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;

import io.triptych.itests.Distribution.Run;

/** {@code triptych backends} of the assembled (CPU-only) distribution lists ort-cuda as unavailable, with the reason. */
public class CudaBackendsCommandIT {
    private Path home;

    @Before
    public void copyDistribution() throws Exception {
        home = Distribution.freshHome();
    }

    @After
    public void deleteCopy() throws Exception {
        Distribution.deleteTree(home);
    }

    @Test
    public void backendsJsonShowsOrtCudaUnavailableWithThePreciseReasonAndOrtCpuAvailable() throws Exception {
        Run r = Distribution.run(home, "backends", "--json");
        assertEquals(r.err(), 0, r.exit());
        List<Map<String, Object>> rows = new Gson().fromJson(r.out(), new TypeToken<List<Map<String, Object>>>() { }.getType());
        Map<String, Object> cuda = rows.stream().filter(b -> "ort-cuda".equals(b.get("id"))).findFirst().orElseThrow();
        assertEquals("unavailable", cuda.get("status"));
        assertEquals("cuda", cuda.get("device"));
        assertEquals(CudaUnavailableIT.NO_PROVIDER, cuda.get("reason"));
        assertEquals("available", rows.stream().filter(b -> "ort-cpu".equals(b.get("id"))).findFirst().orElseThrow().get("status"));
        assertEquals("no CUDA device may be listed as available here", 0,
                rows.stream().filter(b -> "cuda".equals(b.get("device")) && "available".equals(b.get("status"))).count());
    }
}
