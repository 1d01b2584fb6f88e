package io.triptych.launcher;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.google.gson.GsonBuilder;

import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.backend.UnavailableBackend;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.api.model.ModelState;

/** The {@code models} and {@code backends} listings, as rows for a table or for JSON; shared by the CLI and the Gogo shell. */
public final class Listings {

    private Listings() {
    }

    /** Manifest header of an engine bundle naming the paradigm it serves ({@code llm}, {@code diffusion}, {@code jepa}). */
    static final String ENGINE_HEADER = "Triptych-Engine";
    /** How long a listing waits for engines to place the models they serve (they compile on their own threads). */
    private static final long ENGINE_WAIT_MILLIS = 20_000;

    /** One row per known model. */
    public static List<Map<String, Object>> models(TriptychHost host) {
        List<ModelDescriptor> models = host.models().models();
        awaitEngines(host, models);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (ModelDescriptor d : models) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", d.id());
            row.put("paradigm", d.paradigm() == null ? "?" : d.paradigm().id());
            row.put("state", d.state().name());
            row.put("origin", d.origin());
            if (d.state() == ModelState.FAILED) {
                row.put("reason", d.failureReason());
            } else {
                Map<String, Object> parts = new TreeMap<>();
                for (ModelPart p : d.parts().values()) {
                    parts.put(p.name(), Map.of("inputs", p.inputs().stream().map(Object::toString).toList(),
                            "outputs", p.outputs().stream().map(Object::toString).toList(),
                            "operators", p.operators().size()));
                }
                row.put("parts", parts);
                servingBackend(host, d.id(), row);
            }
            rows.add(row);
        }
        return rows;
    }

    /** Waits until every deployed model whose paradigm has an active engine is served (or the wait ends). */
    private static void awaitEngines(TriptychHost host, List<ModelDescriptor> models) {
        java.util.Set<String> served = new java.util.HashSet<>();
        for (org.osgi.framework.Bundle b : host.bundleContext().getBundles()) {
            String paradigm = b.getHeaders().get(ENGINE_HEADER);
            if (paradigm != null && b.getState() == org.osgi.framework.Bundle.ACTIVE) {
                served.add(paradigm.trim());
            }
        }
        long end = System.currentTimeMillis() + ENGINE_WAIT_MILLIS;
        for (ModelDescriptor d : models) {
            if (d.state() != ModelState.DEPLOYED || !served.contains(d.paradigm().id())) {
                continue;
            }
            while (engineService(host, d.id()) == null && System.currentTimeMillis() < end) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private static org.osgi.framework.ServiceReference<?> engineService(TriptychHost host, String modelId) {
        try {
            var refs = host.bundleContext().getServiceReferences((String) null, "(&(" + ModelDescriptor.PROPERTY_ID + "=" + modelId
                    + ")(!(objectClass=" + ModelDescriptor.class.getName() + ")))");
            return refs == null ? null : refs[0];
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            return null;
        }
    }

    /** The backend an engine serves the model on, and why it passed more preferred ones over. */
    private static void servingBackend(TriptychHost host, String modelId, Map<String, Object> row) {
        var ref = engineService(host, modelId);
        row.put("backend", ref == null ? null : ref.getProperty(ComputeBackend.PROPERTY_ID));
        row.put("backend_note", ref == null ? "no engine serves this model" : ref.getProperty("backend.note"));
    }

    /** One row per backend, available or not. */
    public static List<Map<String, Object>> backends(TriptychHost host) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (ComputeBackend b : host.backends()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", b.id());
            row.put("device", b.deviceKind().id());
            row.put("status", "available");
            row.put("score", b.score());
            row.put("description", b.deviceDescription());
            rows.add(row);
        }
        for (UnavailableBackend b : host.unavailableBackends()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", b.id());
            row.put("device", b.deviceKind().id());
            row.put("status", "unavailable");
            row.put("score", null);
            row.put("reason", b.reason());
            rows.add(row);
        }
        return rows;
    }

    public static String json(Object value) {
        return new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create().toJson(value);
    }

    /** A plain text table of the given columns; the last column is not padded. */
    public static String table(List<Map<String, Object>> rows, List<String> columns) {
        int[] widths = new int[columns.size()];
        for (int i = 0; i < columns.size(); i++) {
            widths[i] = columns.get(i).length();
            for (Map<String, Object> row : rows) {
                widths[i] = Math.max(widths[i], cell(row, columns.get(i)).length());
            }
        }
        StringBuilder b = new StringBuilder();
        appendLine(b, columns.stream().map(String::toUpperCase).toList(), widths);
        for (Map<String, Object> row : rows) {
            appendLine(b, columns.stream().map(c -> cell(row, c)).toList(), widths);
        }
        return b.toString();
    }

    private static void appendLine(StringBuilder b, List<String> cells, int[] widths) {
        for (int i = 0; i < cells.size(); i++) {
            String c = cells.get(i);
            b.append(i + 1 < cells.size() ? String.format("%-" + widths[i] + "s  ", c) : c);
        }
        b.append('\n');
    }

    private static String cell(Map<String, Object> row, String column) {
        Object v = row.get(column);
        if (v instanceof Map<?, ?> m) {
            return String.join(", ", m.keySet().stream().map(Object::toString).toList());
        }
        return v == null ? "" : v.toString();
    }

    /** The models table: the detail column holds the parts, or the failure reason; origins under the home are shortened. */
    public static String modelsTable(TriptychHost host) {
        List<Map<String, Object>> rows = models(host);
        String home = host.home() == null ? null : host.home() + java.io.File.separator;
        for (Map<String, Object> row : rows) {
            row.put("detail", row.containsKey("reason") ? row.get("reason")
                    : cell(row, "parts") + (row.get("backend_note") == null ? "" : " (" + row.get("backend_note") + ")"));
            if (home != null) {
                row.put("origin", row.get("origin").toString().replace(home, ""));
            }
        }
        return table(rows, List.of("id", "paradigm", "state", "backend", "origin", "detail"));
    }

    /** The backends table: the detail column holds the device, or why the backend is unavailable. */
    public static String backendsTable(TriptychHost host) {
        List<Map<String, Object>> rows = backends(host);
        for (Map<String, Object> row : rows) {
            row.put("detail", row.containsKey("reason") ? row.get("reason") : row.get("description"));
        }
        return table(rows, List.of("id", "device", "status", "score", "detail"));
    }
}
