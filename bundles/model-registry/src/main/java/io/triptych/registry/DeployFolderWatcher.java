package io.triptych.registry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls the deploy folder. A sub-folder is (re)deployed once its contents (names, sizes,
 * modification times) look the same on two scans in a row, so a folder still being copied is
 * not read half-written; a sub-folder that disappears is withdrawn.
 */
final class DeployFolderWatcher {
    private static final Logger LOG = LoggerFactory.getLogger(DeployFolderWatcher.class);

    private final Path dir;
    private final long pollMillis;
    private final ModelRegistryImpl registry;
    private final String origin;
    private final Map<String, String> deployed = new HashMap<>();
    private final Map<String, String> seen = new HashMap<>();
    private ScheduledExecutorService executor;

    DeployFolderWatcher(Path dir, long pollMillis, ModelRegistryImpl registry) {
        this.dir = dir.toAbsolutePath().normalize();
        this.pollMillis = Math.max(50, pollMillis);
        this.registry = registry;
        this.origin = "folder:" + this.dir;
    }

    /** The origin of the models this watcher deploys. */
    String origin() {
        return origin;
    }

    void start() {
        scan(true);
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "triptych-deploy-watcher");
            t.setDaemon(true);
            return t;
        });
        executor.scheduleWithFixedDelay(() -> scan(false), pollMillis, pollMillis, TimeUnit.MILLISECONDS);
        LOG.info("watching {} for model folders", dir);
    }

    void stop() {
        if (executor != null) {
            executor.shutdownNow();
            try {
                executor.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** One scan; at start every folder present is deployed at once (nothing is being copied yet). */
    private void scan(boolean initial) {
        try {
            Map<String, String> now = fingerprints();
            for (Map.Entry<String, String> e : now.entrySet()) {
                String name = e.getKey();
                String print = e.getValue();
                boolean settled = initial || print.equals(seen.get(name));
                if (settled && !print.equals(deployed.get(name))) {
                    registry.put(ModelFolderLoader.load(dir.resolve(name), origin));
                    deployed.put(name, print);
                }
            }
            for (String name : new HashSet<>(deployed.keySet())) {
                if (!now.containsKey(name)) {
                    registry.remove(origin, name);
                    deployed.remove(name);
                }
            }
            seen.clear();
            seen.putAll(now);
        } catch (RuntimeException e) {
            LOG.warn("scan of {} failed", dir, e);
        }
    }

    private Map<String, String> fingerprints() {
        Map<String, String> prints = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return prints;
        }
        try (Stream<Path> children = Files.list(dir)) {
            for (Path child : (Iterable<Path>) children::iterator) {
                String name = child.getFileName().toString();
                if (!name.startsWith(".") && Files.isDirectory(child)) {
                    prints.put(name, fingerprint(child));
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot list {}: {}", dir, e.toString());
        }
        return prints;
    }

    private static String fingerprint(Path folder) {
        StringBuilder b = new StringBuilder();
        Set<String> lines = new java.util.TreeSet<>();
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
                lines.add(folder.relativize(f) + "|" + a.size() + "|" + a.lastModifiedTime().toMillis());
            }
        } catch (IOException e) {
            return "unreadable:" + e;
        }
        lines.forEach(l -> b.append(l).append('\n'));
        return b.toString();
    }
}
