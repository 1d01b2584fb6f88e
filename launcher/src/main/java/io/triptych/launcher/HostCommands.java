package io.triptych.launcher;

import java.util.Dictionary;
import java.util.Hashtable;

/**
 * Gogo shell commands {@code triptych:models} and {@code triptych:backends}. Registered from the
 * host side, so they print exactly what the command line prints; Gogo calls them by reflection.
 */
public final class HostCommands {
    private final TriptychHost host;

    private HostCommands(TriptychHost host) {
        this.host = host;
    }

    static void register(TriptychHost host) {
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("osgi.command.scope", "triptych");
        props.put("osgi.command.function", new String[] {"models", "backends"});
        host.bundleContext().registerService(HostCommands.class, new HostCommands(host), props);
    }

    /** Lists the models, deployed and failed. */
    public String models() {
        return Listings.modelsTable(host);
    }

    /** Lists the backends, available and not. */
    public String backends() {
        return Listings.backendsTable(host);
    }
}
