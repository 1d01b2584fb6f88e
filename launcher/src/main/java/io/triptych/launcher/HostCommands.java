package io.triptych.launcher;

import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

/**
 * Gogo shell commands {@code triptych:models}, {@code triptych:backends} and {@code triptych:use}.
 * Registered from the host side, so they print exactly what the command line prints; Gogo calls
 * them by reflection.
 */
public final class HostCommands {
    private final TriptychHost host;

    private HostCommands(TriptychHost host) {
        this.host = host;
    }

    static void register(TriptychHost host) {
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("osgi.command.scope", "triptych");
        props.put("osgi.command.function", new String[] {"models", "backends", "use"});
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

    /** Puts a backend first in the preferences of every model: {@code triptych:use opencl}. */
    public String use(String backendId) {
        Map<String, Object> prefs = host.backendPreferences();
        List<String> order = new ArrayList<>(List.of((String[]) prefs.getOrDefault("order", new String[0])));
        order.remove(backendId);
        order.add(0, backendId);
        prefs.put("order", order.toArray(String[]::new));
        host.configure(TriptychHost.BACKENDS_PID, prefs);
        return "backend order: " + order;
    }

    /** Pins one model to a backend: {@code triptych:use opencl tiny-gpt}. */
    public String use(String backendId, String modelId) {
        Map<String, Object> prefs = host.backendPreferences();
        List<String> pins = new ArrayList<>();
        for (String pin : (String[]) prefs.getOrDefault("pins", new String[0])) {
            if (!pin.startsWith(modelId + "=")) {
                pins.add(pin);
            }
        }
        pins.add(modelId + "=" + backendId);
        prefs.put("pins", pins.toArray(String[]::new));
        host.configure(TriptychHost.BACKENDS_PID, prefs);
        return "backend pins: " + pins;
    }
}
