package io.triptych.tokenizers.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes DJL's tokenizer natives load inside OSGi (STACK.md pitfall 4): DJL finds its version file
 * and library through the thread context class loader, and extracts the library to a cache folder
 * whose path must be new for every class loader of this bundle, or a refreshed bundle fails with
 * "already loaded in another classloader".
 */
public final class DjlNatives {
    private static final Logger LOG = LoggerFactory.getLogger(DjlNatives.class);
    private static boolean configured;

    private DjlNatives() {
    }

    /** Runs a DJL call with this bundle's class loader as the context loader, configuring DJL on first use. */
    public static <T> T call(Callable<T> djlCall) throws Exception {
        configure();
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(DjlNatives.class.getClassLoader());
        try {
            return djlCall.call();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private static synchronized void configure() {
        if (configured) {
            return;
        }
        configured = true;
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        Path cache = cacheDir();
        System.setProperty("DJL_CACHE_DIR", cache.toString());
        System.setProperty("ENGINE_CACHE_DIR", cache.toString());
        LOG.debug("DJL tokenizer natives cached in {}", cache);
    }

    /**
     * In OSGi: a folder in the bundle's data area named after this class loader, older ones deleted
     * (an unlinked library stays mapped for the loader that uses it). Outside OSGi there is one
     * loader, so one fixed folder in the temporary directory is reused across runs.
     */
    private static Path cacheDir() {
        Bundle bundle = FrameworkUtil.getBundle(DjlNatives.class);
        BundleContext context = bundle == null ? null : bundle.getBundleContext();
        if (context == null || context.getDataFile("") == null) {
            return Path.of(System.getProperty("java.io.tmpdir"), "triptych-djl-cache");
        }
        Path root = context.getDataFile("djl").toPath();
        String mine = "loader-" + Integer.toHexString(System.identityHashCode(DjlNatives.class.getClassLoader()));
        try {
            Files.createDirectories(root);
            try (Stream<Path> old = Files.list(root)) {
                old.filter(p -> !p.getFileName().toString().equals(mine)).forEach(DjlNatives::deleteTree);
            }
        } catch (IOException e) {
            LOG.warn("cannot prepare the DJL cache in {}: {}", root, e.toString());
        }
        return root.resolve(mine);
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.debug("cannot delete {}: {}", dir, e.toString());
        }
    }
}
