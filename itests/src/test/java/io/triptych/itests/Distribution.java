package io.triptych.itests;

import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/** The assembled distribution: fresh copies of it as Triptych homes, and its command line run as a user would. */
final class Distribution {
    static final Path DIST = Path.of(System.getProperty("triptych.dist"));
    static final Path GPT2 = Path.of(System.getProperty("triptych.fixtures"), "tiny-random-gpt2-fp32");

    /** What a command printed and returned. */
    record Run(int exit, String out, String err) {
    }

    private Distribution() {
    }

    /** A private copy of the distribution, so that tests can change deploy/ and conf/. */
    static Path freshHome() throws IOException {
        assertTrue("distribution not built: " + DIST, Files.isRegularFile(DIST.resolve("bin/triptych")));
        Path home = Files.createTempDirectory("triptych-home");
        try (Stream<Path> files = Files.walk(DIST)) {
            for (Path src : (Iterable<Path>) files::iterator) {
                Path dst = home.resolve(DIST.relativize(src).toString());
                if (Files.isDirectory(src)) {
                    Files.createDirectories(dst);
                } else {
                    Files.copy(src, dst, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        return home;
    }

    /** Copies the fixture model into {@code target}, appearing at once (as a finished copy would). */
    static Path copyFixture(Path target) throws IOException {
        assertTrue("fixture missing: " + GPT2, Files.isDirectory(GPT2));
        Path tmp = Files.createDirectories(target.resolveSibling("." + target.getFileName()));
        for (String f : new String[] {"genai_config.json", "past.onnx", "tokenizer.json"}) {
            Files.copy(GPT2.resolve(f), tmp.resolve(f));
        }
        return Files.move(tmp, target);
    }

    /** A model bundle jar holding the fixture in {@code folder}, named by its Triptych-Model header. */
    static Path modelBundle(String bsn, String folder) throws IOException {
        Path jar = Files.createTempFile("model-bundle", ".jar");
        Manifest mf = new Manifest();
        Attributes a = mf.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", bsn);
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue(io.triptych.api.model.ModelRegistry.MODEL_HEADER, folder);
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, mf)) {
            for (String f : new String[] {"genai_config.json", "past.onnx", "tokenizer.json"}) {
                j.putNextEntry(new JarEntry(folder + "/" + f));
                j.write(Files.readAllBytes(GPT2.resolve(f)));
                j.closeEntry();
            }
        }
        return jar;
    }

    static ProcessBuilder command(Path home, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(home.resolve("bin/triptych").toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        // the same temp folder as this JVM's, where felixStorageFolders looks
        pb.environment().put("TRIPTYCH_JAVA_OPTS", "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
        return pb;
    }

    static Run run(Path home, String... args) throws IOException, InterruptedException {
        Path out = Files.createTempFile("triptych-out", ".txt");
        Path err = Files.createTempFile("triptych-err", ".txt");
        Process p = command(home, args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("triptych " + String.join(" ", args) + " did not finish in 120 s");
        }
        Run r = new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    /** The framework storage folders of hosts on this machine, in the temp folder. */
    static java.util.Set<Path> felixStorageFolders() throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("triptych-felix")).collect(java.util.stream.Collectors.toSet());
        }
    }

    /** The storage folders that appeared since {@code before} and are still there. */
    static java.util.Set<Path> leftBehind(java.util.Set<Path> before) throws IOException {
        java.util.Set<Path> now = felixStorageFolders();
        now.removeAll(before);
        return now;
    }

    static void deleteTree(Path root) throws IOException {
        if (Files.exists(root)) {
            try (Stream<Path> files = Files.walk(root)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
