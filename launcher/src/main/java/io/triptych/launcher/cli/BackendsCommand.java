package io.triptych.launcher.cli;

import java.util.concurrent.Callable;

import io.triptych.launcher.Listings;
import io.triptych.launcher.TriptychHost;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "backends", mixinStandardHelpOptions = true,
        description = "Lists the compute backends: id, device, status, score, and why an unavailable one is not.")
final class BackendsCommand implements Callable<Integer> {

    @Mixin
    HostOptions host;

    @Override
    public Integer call() {
        try (TriptychHost h = host.builder().start()) {
            System.out.print(host.json ? Listings.json(Listings.backends(h)) + "\n" : Listings.backendsTable(h));
        }
        return 0;
    }
}
