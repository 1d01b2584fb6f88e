package io.triptych.schedulers;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.ModelLoadException;

/**
 * The values of a diffusers {@code scheduler_config.json} (keys as diffusers spells them, e.g.
 * {@code num_train_timesteps}, {@code beta_schedule}, {@code timestep_spacing}). Only the values
 * given are held; each scheduler applies its own class's defaults for the rest, as diffusers does.
 * Immutable.
 */
public final class SchedulerConfig {
    /** The key naming the scheduler class in diffusers' files. */
    public static final String CLASS_NAME = "_class_name";
    private static final Gson GSON = new Gson();

    private final Map<String, JsonElement> values;

    private SchedulerConfig(Map<String, JsonElement> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    /** An empty configuration: every value takes the scheduler's default. */
    public static SchedulerConfig empty() {
        return new SchedulerConfig(new LinkedHashMap<>());
    }

    /** A configuration of Java values (numbers, booleans, strings, lists, {@code null}). */
    public static SchedulerConfig of(Map<String, ?> values) {
        SchedulerConfig c = empty();
        for (Map.Entry<String, ?> e : values.entrySet()) {
            c = c.with(e.getKey(), e.getValue());
        }
        return c;
    }

    /**
     * Parses JSON text.
     *
     * @throws InvalidRequestException if it is not a JSON object
     */
    public static SchedulerConfig parse(String json) {
        try {
            return fromJson(JsonParser.parseString(json));
        } catch (JsonParseException e) {
            throw new InvalidRequestException("malformed scheduler config: " + (e.getCause() != null ? e.getCause() : e).getMessage(), e);
        }
    }

    /**
     * Reads a {@code scheduler_config.json}.
     *
     * @throws ModelLoadException if the file cannot be read or is not a JSON object
     */
    public static SchedulerConfig read(Path file) {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return fromJson(JsonParser.parseReader(r));
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (JsonParseException | InvalidRequestException e) {
            throw new ModelLoadException("malformed " + file + ": " + (e.getCause() != null ? e.getCause() : e).getMessage(), e);
        }
    }

    private static SchedulerConfig fromJson(JsonElement root) {
        if (!root.isJsonObject()) {
            throw new InvalidRequestException("a scheduler config must be a JSON object");
        }
        Map<String, JsonElement> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : ((JsonObject) root).entrySet()) {
            m.put(e.getKey(), e.getValue());
        }
        return new SchedulerConfig(m);
    }

    /** A copy with one value set ({@code null} sets JSON null, which means "the default"). */
    public SchedulerConfig with(String key, Object value) {
        Map<String, JsonElement> m = new LinkedHashMap<>(values);
        m.put(key, GSON.toJsonTree(value));
        return new SchedulerConfig(m);
    }

    /** The keys given. */
    public Set<String> keys() {
        return values.keySet();
    }

    /** The diffusers class name ({@value #CLASS_NAME}), or {@code null}. */
    public String className() {
        return string(CLASS_NAME, null);
    }

    /** Whether {@code key} is given with a non-null value. */
    public boolean has(String key) {
        JsonElement e = values.get(key);
        return e != null && !e.isJsonNull();
    }

    /** An integer value, or {@code fallback} when absent or null. */
    public int integer(String key, int fallback) {
        JsonPrimitive p = primitive(key);
        if (p == null) {
            return fallback;
        }
        if (!p.isNumber() || p.getAsDouble() != Math.rint(p.getAsDouble())) {
            throw invalid(key, "an integer");
        }
        return p.getAsInt();
    }

    /** A number, or {@code fallback} when absent or null. */
    public double number(String key, double fallback) {
        JsonPrimitive p = primitive(key);
        if (p == null) {
            return fallback;
        }
        if (p.isNumber()) {
            return p.getAsDouble();
        }
        // Python writes infinities into JSON as -Infinity / Infinity
        if (p.isString() && p.getAsString().matches("-?Infinity")) {
            return p.getAsString().startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        throw invalid(key, "a number");
    }

    /** A boolean, or {@code fallback} when absent or null. */
    public boolean bool(String key, boolean fallback) {
        JsonPrimitive p = primitive(key);
        if (p == null) {
            return fallback;
        }
        if (!p.isBoolean()) {
            throw invalid(key, "true or false");
        }
        return p.getAsBoolean();
    }

    /** A string, or {@code fallback} when absent or null. */
    public String string(String key, String fallback) {
        JsonPrimitive p = primitive(key);
        if (p == null) {
            return fallback;
        }
        if (!p.isString()) {
            throw invalid(key, "a string");
        }
        return p.getAsString();
    }

    /** A list of numbers, or {@code null} when absent or null. */
    public double[] numbers(String key) {
        JsonElement e = values.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonArray()) {
            throw invalid(key, "a list of numbers");
        }
        double[] a = new double[e.getAsJsonArray().size()];
        for (int i = 0; i < a.length; i++) {
            JsonElement v = e.getAsJsonArray().get(i);
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) {
                throw invalid(key, "a list of numbers");
            }
            a[i] = v.getAsDouble();
        }
        return a;
    }

    private JsonPrimitive primitive(String key) {
        JsonElement e = values.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive()) {
            throw invalid(key, "a single value");
        }
        return e.getAsJsonPrimitive();
    }

    private InvalidRequestException invalid(String key, String expected) {
        return new InvalidRequestException("scheduler config '" + key + "' must be " + expected + ", not " + values.get(key));
    }

    @Override
    public String toString() {
        return GSON.toJson(values);
    }
}
