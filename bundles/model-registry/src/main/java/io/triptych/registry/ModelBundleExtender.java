package io.triptych.registry;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.List;
import java.util.stream.Stream;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.util.tracker.BundleTracker;
import org.osgi.util.tracker.BundleTrackerCustomizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.triptych.api.ModelLoadException;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelRegistry;

/**
 * The extender: deploys the folders named by a bundle's {@code Triptych-Model} header while the
 * bundle is active. Files are copied out of the jar into this bundle's data area, because ONNX
 * Runtime and tokenizers read files, not bundle entries.
 */
final class ModelBundleExtender implements BundleTrackerCustomizer<List<ModelDescriptor>> {
    private static final Logger LOG = LoggerFactory.getLogger(ModelBundleExtender.class);

    private final BundleContext context;
    private final ModelRegistryImpl registry;
    private final BundleTracker<List<ModelDescriptor>> tracker;

    ModelBundleExtender(BundleContext context, ModelRegistryImpl registry) {
        this.context = context;
        this.registry = registry;
        this.tracker = new BundleTracker<>(context, Bundle.ACTIVE, this);
    }

    void open() {
        tracker.open();
    }

    void close() {
        tracker.close();
    }

    @Override
    public List<ModelDescriptor> addingBundle(Bundle bundle, BundleEvent event) {
        String header = bundle.getHeaders().get(ModelRegistry.MODEL_HEADER);
        if (header == null) {
            return null;
        }
        String origin = "bundle:" + bundle.getSymbolicName() + "/" + bundle.getVersion();
        List<ModelDescriptor> deployed = new ArrayList<>();
        for (String entry : header.split(",")) {
            String folder = entry.trim().replaceAll("^/+|/+$", "");
            if (folder.isEmpty()) {
                continue;
            }
            String id = folder.substring(folder.lastIndexOf('/') + 1);
            Path target = extractionDir(bundle, id);
            ModelDescriptor d;
            try {
                extract(bundle, folder, target);
                d = ModelFolderLoader.load(target, origin);
            } catch (ModelLoadException e) {
                d = ModelDescriptor.failed(id, null, target, origin, e.getMessage());
            }
            deployed.add(registry.put(d));
        }
        return deployed;
    }

    @Override
    public void modifiedBundle(Bundle bundle, BundleEvent event, List<ModelDescriptor> models) {
    }

    @Override
    public void removedBundle(Bundle bundle, BundleEvent event, List<ModelDescriptor> models) {
        for (ModelDescriptor d : models) {
            registry.remove(d.origin(), d.id());
        }
        deleteTree(context.getDataFile("bundles/" + bundle.getBundleId()).toPath());
    }

    private Path extractionDir(Bundle bundle, String id) {
        return context.getDataFile("bundles/" + bundle.getBundleId() + "/" + id).toPath();
    }

    private static void extract(Bundle bundle, String folder, Path target) {
        Enumeration<URL> urls = bundle.findEntries(folder, "*", true);
        if (urls == null) {
            throw new ModelLoadException("bundle " + bundle.getSymbolicName() + " has no folder " + folder
                    + " named by its " + ModelRegistry.MODEL_HEADER + " header");
        }
        deleteTree(target);
        String prefix = "/" + folder + "/";
        try {
            while (urls.hasMoreElements()) {
                URL url = urls.nextElement();
                String path = url.getPath();
                if (path.endsWith("/") || !path.startsWith(prefix)) {
                    continue;
                }
                Path file = target.resolve(path.substring(prefix.length()));
                Files.createDirectories(file.getParent());
                try (InputStream in = url.openStream()) {
                    Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot extract " + folder + " from bundle " + bundle.getSymbolicName() + ": " + e, e);
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.warn("cannot delete {}: {}", root, e.toString());
        }
    }
}
