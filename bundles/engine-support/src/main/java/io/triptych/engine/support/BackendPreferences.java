package io.triptych.engine.support;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.backend.ComputeBackend;

/**
 * Which backend a model should run on: a model's pin first, then the configured order, then the
 * remaining backends by score (highest first). Backends never named still serve as fallbacks, so a
 * preference can never leave a model without a backend that could run it.
 *
 * @param order backend ids, most preferred first
 * @param pins backend id per model id
 */
public record BackendPreferences(List<String> order, Map<String, String> pins) {

    /** No preference: backends by score. */
    public static final BackendPreferences NONE = new BackendPreferences(List.of(), Map.of());

    public BackendPreferences {
        order = List.copyOf(order);
        pins = Map.copyOf(pins);
    }

    /**
     * Parses the configuration form. Each value may itself be a comma-separated list, as a
     * {@code .cfg} file writes it ({@code order=ort-cuda,opencl,ort-cpu}).
     *
     * @param order backend ids, most preferred first
     * @param pins entries {@code modelId=backendId}
     * @throws InvalidRequestException on a malformed pin
     */
    public static BackendPreferences parse(String[] order, String[] pins) {
        List<String> o = new ArrayList<>();
        for (String id : split(order)) {
            if (!o.contains(id)) {
                o.add(id);
            }
        }
        Map<String, String> p = new LinkedHashMap<>();
        for (String pin : split(pins)) {
            int eq = pin.indexOf('=');
            if (eq <= 0 || eq == pin.length() - 1) {
                throw new InvalidRequestException("backend pin '" + pin + "' is not of the form model=backend");
            }
            p.put(pin.substring(0, eq).trim(), pin.substring(eq + 1).trim());
        }
        return new BackendPreferences(o, p);
    }

    private static List<String> split(String[] values) {
        List<String> out = new ArrayList<>();
        for (String v : values == null ? new String[0] : values) {
            for (String item : v.split(",")) {
                if (!item.isBlank()) {
                    out.add(item.trim());
                }
            }
        }
        return out;
    }

    /** The configuration form of the pins, {@code modelId=backendId}. */
    public String[] pinEntries() {
        return pins.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toArray(String[]::new);
    }

    /** These preferences with {@code backendId} first in the order. */
    public BackendPreferences preferring(String backendId) {
        List<String> o = new ArrayList<>(order);
        o.remove(backendId);
        o.add(0, backendId);
        return new BackendPreferences(o, pins);
    }

    /** These preferences with {@code modelId} pinned to {@code backendId}. */
    public BackendPreferences pinning(String modelId, String backendId) {
        Map<String, String> p = new LinkedHashMap<>(pins);
        p.put(modelId, backendId);
        return new BackendPreferences(order, p);
    }

    /** The backends in the order a model should try them. */
    public List<ComputeBackend> rank(String modelId, List<ComputeBackend> backends) {
        String pinned = pins.get(modelId);
        List<ComputeBackend> ranked = new ArrayList<>(backends);
        ranked.sort(Comparator.comparingInt((ComputeBackend b) -> b.id().equals(pinned) ? -1 : rankInOrder(b.id()))
                .thenComparing(Comparator.comparingInt(ComputeBackend::score).reversed())
                .thenComparing(ComputeBackend::id));
        return ranked;
    }

    private int rankInOrder(String backendId) {
        int i = order.indexOf(backendId);
        return i < 0 ? order.size() : i;
    }
}
