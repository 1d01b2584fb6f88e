package io.triptych.launcher.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import java.util.Map;
import java.util.stream.Collectors;

import org.osgi.framework.ServiceReference;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.ModelLoadException;
import io.triptych.api.Paradigm;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelState;
import io.triptych.launcher.TriptychHost;
import picocli.CommandLine.Option;

/** Options every command that starts a host shares. */
final class HostOptions {
    private static final Duration SERVICE_WAIT = Duration.ofSeconds(30);
    private static final Duration SERVICE_POLL = Duration.ofMillis(100);


    @Option(names = "--home", paramLabel = "DIR",
            description = "Triptych home: bundles/, models/, conf/, deploy/ (default: the installation, or the system property triptych.home).")
    Path home;

    @Option(names = "--json", description = "Print machine-readable JSON instead of text.")
    boolean json;

    Path home() {
        Path h = home != null ? home : Path.of(System.getProperty(TriptychHost.HOME_PROPERTY, "."));
        if (!Files.isDirectory(h.resolve("bundles"))) {
            throw new InvalidRequestException("not a Triptych home (no bundles/ folder): " + h.toAbsolutePath().normalize());
        }
        return h;
    }

    TriptychHost.Builder builder() {
        return TriptychHost.builder().home(home());
    }

    /** A builder whose backend preferences put {@code backendId} first (when given). */
    TriptychHost.Builder backendPreference(String backendId) {
        TriptychHost.Builder b = builder();
        if (backendId != null) {
            b.configuration(TriptychHost.BACKENDS_PID, Map.of("order", new String[] {backendId}));
        }
        return b;
    }

    /**
     * The engine service of a model, deploying a folder first. FAILED models, models of another
     * paradigm, engines that do not serve the model and a backend that cannot run it are typed
     * errors with their reason.
     *
     * @param model a deployed model's id, or a model folder
     * @param backendId the backend the model must run on, or {@code null}
     */
    <T> T modelService(TriptychHost h, Class<T> type, Paradigm paradigm, String model, String backendId) {
        Path folder = Path.of(model);
        String id = model;
        if (Files.isDirectory(folder)) {
            ModelDescriptor d = h.models().deploy(folder);
            if (d.state() == ModelState.FAILED) {
                throw new ModelLoadException("model folder " + folder + " failed to load: " + d.failureReason());
            }
            id = d.id();
        }
        ModelDescriptor d = h.models().get(id);
        if (d.paradigm() != paradigm) {
            throw new InvalidRequestException("model " + id + " is a " + d.paradigm().id() + " model, not a " + paradigm.id() + " model");
        }
        T service = awaitService(h, type, id);
        requireBackend(h, type, id, backendId);
        return service;
    }

    /** The model's engine service, once it is placed; fails at once with the reason if the engine rejects the model meanwhile. */
    private static <T> T awaitService(TriptychHost h, Class<T> type, String id) {
        long deadline = System.nanoTime() + SERVICE_WAIT.toNanos();
        while (true) {
            try {
                return h.service(type, "(" + ModelDescriptor.PROPERTY_ID + "=" + id + ")", SERVICE_POLL);
            } catch (BackendUnavailableException notYet) {
                h.models().get(id); // a model the engine could not read is FAILED now: ModelLoadException with the reason
                if (System.nanoTime() > deadline) {
                    throw new BackendUnavailableException("no engine served model " + id + " within " + SERVICE_WAIT.toSeconds() + " s");
                }
            }
        }
    }

    /**
     * Checks that the model's service runs on {@code backendId} (when given), else fails with
     * the engine's reason for passing that backend over.
     */
    void requireBackend(TriptychHost h, Class<?> serviceType, String modelId, String backendId) {
        if (backendId == null) {
            return;
        }
        ServiceReference<?> ref;
        try {
            var refs = h.bundleContext().getServiceReferences(serviceType.getName(), "(" + ModelDescriptor.PROPERTY_ID + "=" + modelId + ")");
            ref = refs == null ? null : refs[0];
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new InvalidRequestException("malformed model id " + modelId);
        }
        Object running = ref == null ? null : ref.getProperty(ComputeBackend.PROPERTY_ID);
        if (!backendId.equals(running)) {
            Object note = ref == null ? null : ref.getProperty("backend.note");
            throw new BackendUnavailableException("model " + modelId + " cannot run on " + backendId + " (it runs on "
                    + (running == null ? "no backend" : running) + ")" + (note == null ? ": no backend '" + backendId + "' is registered ("
                    + h.backends().stream().map(ComputeBackend::id).collect(Collectors.joining(", ")) + ")" : ": " + note));
        }
    }
}
