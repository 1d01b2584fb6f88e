package io.triptych.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.Test;

import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelState;
import io.triptych.launcher.TriptychHost;

/** The embedding API: a host inside this JVM, its services used directly, and a clean stop. */
public class EmbeddingIT {

    @Test
    public void hostStartsFromAFolderServesAndStopsWithoutLeaks() throws Exception {
        Path home = Distribution.freshHome();
        Distribution.copyFixture(home.resolve("deploy/models/gpt2"));
        Set<Thread> before = new HashSet<>(Thread.getAllStackTraces().keySet());
        var storageBefore = Distribution.felixStorageFolders();

        try (TriptychHost host = TriptychHost.builder().home(home).start()) {
            ModelDescriptor gpt2 = host.models().get("gpt2");
            assertEquals(ModelState.DEPLOYED, gpt2.state());
            ComputeBackend backend = host.service(ComputeBackend.class, "(backend.id=ort-cpu)", Duration.ofSeconds(5));
            try (var compiled = backend.compile(gpt2.part("past.onnx"))) {
                assertEquals("ort-cpu", compiled.backendId());
                assertEquals(8, compiled.inputs().size());
            }
            host.configure("io.triptych.backend.ortcpu", java.util.Map.of("intraOpThreads", "1"));
        }

        // Every thread the host started must end. JOCL's reference-release threads (daemon, one per
        // non-blocking transfer in flight) end 10 s after their last transfer, so wait that long.
        List<Thread> leaked = List.of();
        for (int i = 0; i < 200; i++) {
            leaked = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && !before.contains(t) && !t.getName().equals("process reaper"))
                    .collect(Collectors.toList());
            if (leaked.isEmpty()) {
                break;
            }
            Thread.sleep(100);
        }
        assertTrue("threads left running: " + leaked, leaked.isEmpty());
        assertEquals("framework storage left behind", java.util.Set.of(), Distribution.leftBehind(storageBefore));
        Distribution.deleteTree(home);
    }
}
