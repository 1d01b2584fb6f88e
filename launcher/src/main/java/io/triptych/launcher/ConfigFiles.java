package io.triptych.launcher;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.triptych.api.InvalidRequestException;

/** Reads {@code .properties} and FileInstall-style {@code .cfg} files with {@code ${name}} substitution. */
final class ConfigFiles {
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([^}]+)}");

    /** The property FileInstall stores in a configuration to remember the file it came from. */
    static final String FILEINSTALL_FILENAME = "felix.fileinstall.filename";

    private ConfigFiles() {
    }

    static Map<String, String> read(Path file, UnaryOperator<String> lookup) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new InvalidRequestException("cannot read configuration " + file + ": " + e.getMessage());
        }
        Map<String, String> out = new java.util.TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            out.put(key, substitute(p.getProperty(key), lookup));
        }
        return out;
    }

    /** The {@code .cfg} files of a folder for plain PIDs (factory configurations, {@code a-b.cfg}, are left to FileInstall). */
    static List<Path> singletonConfigs(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".cfg") && !f.getFileName().toString().contains("-"))
                    .sorted().toList();
        } catch (IOException e) {
            throw new InvalidRequestException("cannot list configuration folder " + dir + ": " + e.getMessage());
        }
    }

    static String pid(Path cfg) {
        String name = cfg.getFileName().toString();
        return name.substring(0, name.length() - ".cfg".length());
    }

    /** The configuration dictionary FileInstall would make of the file, so that it sees nothing to change. */
    static Dictionary<String, Object> dictionary(Path cfg, UnaryOperator<String> lookup) {
        Dictionary<String, Object> d = new Hashtable<>();
        read(cfg, lookup).forEach(d::put);
        d.put(FILEINSTALL_FILENAME, cfg.toAbsolutePath().toFile().toURI().toString());
        return d;
    }

    static String substitute(String value, UnaryOperator<String> lookup) {
        Matcher m = VARIABLE.matcher(value);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String v = lookup.apply(m.group(1));
            m.appendReplacement(b, Matcher.quoteReplacement(v == null ? "" : v));
        }
        return m.appendTail(b).toString();
    }
}
