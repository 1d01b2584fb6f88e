package io.triptych.launcher.cli;

import java.util.concurrent.Callable;

import io.triptych.launcher.TriptychHost;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Runs a long-lived host: the Gogo shell on the terminal (try 'triptych:models'), model folders "
                + "dropped into deploy/models/ are deployed at run time, bundles dropped into deploy/ are installed. "
                + "Ctrl-C or SIGTERM stops it cleanly.")
final class ServeCommand implements Callable<Integer> {

    @Mixin
    HostOptions host;

    @Override
    public Integer call() throws InterruptedException {
        TriptychHost h = host.builder().watch(true).interactiveShell(System.console() != null).start();
        Runtime.getRuntime().addShutdownHook(new Thread(h::close, "triptych-shutdown"));
        System.out.println("triptych serving from " + h.home() + ": " + h.models().models().size() + " models, "
                + h.backends().size() + " backends; watching " + h.home().resolve("deploy") + ". Ctrl-C stops.");
        h.awaitStop();
        return 0;
    }
}
