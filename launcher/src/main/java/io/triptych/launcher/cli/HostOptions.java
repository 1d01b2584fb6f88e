package io.triptych.launcher.cli;

import java.nio.file.Files;
import java.nio.file.Path;

import io.triptych.api.InvalidRequestException;
import io.triptych.launcher.TriptychHost;
import picocli.CommandLine.Option;

/** Options every command that starts a host shares. */
final class HostOptions {

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
}
