package io.triptych.launcher.cli;

import java.util.concurrent.Callable;

import io.triptych.launcher.Listings;
import io.triptych.launcher.TriptychHost;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "models", mixinStandardHelpOptions = true,
        description = "Lists the models the host finds (model bundles and deploy/models/), deployed or FAILED with the reason.")
final class ModelsCommand implements Callable<Integer> {

    @Mixin
    HostOptions host;

    @Override
    public Integer call() {
        try (TriptychHost h = host.builder().start()) {
            System.out.print(host.json ? Listings.json(Listings.models(h)) + "\n" : Listings.modelsTable(h));
        }
        return 0;
    }
}
