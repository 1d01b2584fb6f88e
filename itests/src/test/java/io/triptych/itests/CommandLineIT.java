package io.triptych.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;

import io.triptych.itests.Distribution.Run;

/** The {@code triptych} command of the assembled distribution, run as a separate process. */
public class CommandLineIT {
    private Path home;

    @Before
    public void copyDistribution() throws Exception {
        home = Distribution.freshHome();
    }

    @After
    public void deleteCopy() throws Exception {
        Distribution.deleteTree(home);
    }

    private static List<Map<String, Object>> json(String text) {
        return new Gson().fromJson(text, new TypeToken<List<Map<String, Object>>>() { }.getType());
    }

    @Test
    public void backendsJsonListsOrtCpuAndOpenClAvailableAndOrtCudaUnavailableWithThePreciseReason() throws Exception {
        Run r = Distribution.run(home, "backends", "--json");
        assertEquals(r.err(), 0, r.exit());
        List<Map<String, Object>> rows = json(r.out());
        Map<String, Object> ortCpu = rows.stream().filter(b -> "ort-cpu".equals(b.get("id"))).findFirst().orElseThrow();
        assertEquals("available", ortCpu.get("status"));
        assertEquals("cpu", ortCpu.get("device"));
        assertEquals("available", rows.stream().filter(b -> "opencl".equals(b.get("id"))).findFirst().orElseThrow().get("status"));
        Map<String, Object> cuda = rows.stream().filter(b -> "ort-cuda".equals(b.get("id"))).findFirst().orElseThrow();
        assertEquals("unavailable", cuda.get("status"));
        assertEquals("cuda", cuda.get("device"));
        assertEquals(CudaUnavailableIT.NO_PROVIDER, cuda.get("reason"));
        assertEquals("no CUDA device may be listed as available here", 0,
                rows.stream().filter(b -> "cuda".equals(b.get("device")) && "available".equals(b.get("status"))).count());
    }

    @Test
    public void modelsListsDeployedAndFailedFoldersAndExitsZero() throws Exception {
        Path deploy = home.resolve("deploy/models");
        Distribution.copyFixture(deploy.resolve("gpt2"));
        Files.createDirectories(deploy.resolve("broken"));
        Files.writeString(deploy.resolve("broken/genai_config.json"), "{ not json");
        Run r = Distribution.run(home, "models", "--json");
        assertEquals(r.err(), 0, r.exit());
        List<Map<String, Object>> models = json(r.out());
        Map<String, Object> gpt2 = models.stream().filter(m -> "gpt2".equals(m.get("id"))).findFirst().orElseThrow();
        assertEquals("DEPLOYED", gpt2.get("state"));
        assertEquals("llm", gpt2.get("paradigm"));
        Map<String, Object> broken = models.stream().filter(m -> "broken".equals(m.get("id"))).findFirst().orElseThrow();
        assertEquals("FAILED", broken.get("state"));
        assertTrue(broken.get("reason").toString(), broken.get("reason").toString().startsWith("malformed genai_config.json"));

        Run table = Distribution.run(home, "models");
        assertEquals(0, table.exit());
        assertTrue(table.out(), table.out().lines().anyMatch(l -> l.startsWith("broken") && l.contains("FAILED") && l.contains("malformed")));
    }

    @Test
    public void badInputExitsTwoWithOneClearLine() throws Exception {
        Run unknownOption = Distribution.run(home, "models", "--no-such-option");
        assertEquals(2, unknownOption.exit());
        assertEquals(unknownOption.err(), 1, unknownOption.err().lines().count());
        assertTrue(unknownOption.err(), unknownOption.err().startsWith("triptych: Unknown option: '--no-such-option'"));

        Run badHome = Distribution.run(home, "backends", "--home", "/no/such/folder");
        assertEquals(2, badHome.exit());
        assertEquals("triptych: not a Triptych home (no bundles/ folder): /no/such/folder\n", badHome.err());

        Run noCommand = Distribution.run(home);
        assertEquals(2, noCommand.exit());
        assertTrue(noCommand.err(), noCommand.err().startsWith("triptych: missing command"));
    }

    @Test
    public void generateFromAModelFolderGivesOrtGenAisPublishedTokens() throws Exception {
        Path model = Distribution.copyFixture(Files.createTempDirectory("triptych-model").resolve("gpt2"));
        Run r = Distribution.run(home, "generate", "--model", model.toString(), "--input-ids", "0,0,0,52;0,0,195,731",
                "--max-length", "10", "--json");
        assertEquals(r.err(), 0, r.exit());
        Map<String, Object> result = new Gson().fromJson(r.out(), new TypeToken<Map<String, Object>>() { }.getType());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> sequences = (List<Map<String, Object>>) result.get("sequences");
        assertEquals(List.of(0.0, 0.0, 0.0, 52.0, 204.0, 204.0, 204.0, 204.0, 204.0, 204.0), sequences.get(0).get("tokens"));
        assertEquals(List.of(0.0, 0.0, 195.0, 731.0, 731.0, 114.0, 114.0, 114.0, 114.0, 114.0), sequences.get(1).get("tokens"));
        assertEquals("ort-cpu", result.get("backend"));

        Run outOfVocabulary = Distribution.run(home, "generate", "--model", model.toString(), "Hello world");
        assertEquals(2, outOfVocabulary.exit());
        assertEquals("triptych: token id 15496 in prompt 0 is outside the model's vocabulary of 1000 (valid ids: 0..999)\n",
                outOfVocabulary.err());
        Run badBeams = Distribution.run(home, "generate", "--model", model.toString(), "--input-ids", "0,52", "--num-beams", "0");
        assertEquals(2, badBeams.exit());
        assertEquals(badBeams.err(), 1, badBeams.err().lines().count());
        Distribution.deleteTree(model.getParent());
    }

    @Test
    public void denoiseIsReproducibleBySeedAndRejectsBadOptions() throws Exception {
        Path pipeline = copyTree(Path.of("../bundles/engine-denoiser/src/test/resources/tiny-sd"), Files.createTempDirectory("triptych-sd").resolve("tiny-sd"));
        Path a = pipeline.resolveSibling("a.png");
        Path b = pipeline.resolveSibling("b.png");
        Run first = Distribution.run(home, "denoise", "--model", pipeline.toString(), "--prompt", "a red circle", "--steps", "8",
                "--seed", "3", "--out", a.toString(), "--json");
        assertEquals(first.err(), 0, first.exit());
        Map<String, Object> json = new Gson().fromJson(first.out(), new TypeToken<Map<String, Object>>() { }.getType());
        assertEquals(List.of(a.toString()), json.get("images"));
        Run second = Distribution.run(home, "denoise", "--model", pipeline.toString(), "--prompt", "a red circle", "--steps", "8",
                "--seed", "3", "--out", b.toString());
        assertEquals(second.err(), 0, second.exit());
        assertTrue("same seed, same PNG", java.util.Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(b)));
        Run badSteps = Distribution.run(home, "denoise", "--model", pipeline.toString(), "--prompt", "x", "--steps", "0", "--out", a.toString());
        assertEquals(2, badSteps.exit());
        assertEquals(badSteps.err(), 1, badSteps.err().lines().count());
        Distribution.deleteTree(pipeline.getParent());
    }

    @Test
    public void aModelItsEngineCannotReadFailsWithTheEnginesReason() throws Exception {
        // the registry reads the folder, the denoiser cannot: CLIP's vocab.json without merges.txt
        Path pipeline = copyTree(Path.of("../bundles/engine-denoiser/src/test/resources/tiny-sd"), Files.createTempDirectory("triptych-sd").resolve("no-merges"));
        Files.delete(pipeline.resolve("tokenizer/tokenizer.json"));
        Files.writeString(pipeline.resolve("tokenizer/vocab.json"), "{\"a</w>\": 0}");
        Run r = Distribution.run(home, "denoise", "--model", pipeline.toString(), "--prompt", "a red circle", "--out", pipeline.resolveSibling("x.png").toString());
        assertEquals(r.err(), 2, r.exit());
        assertEquals("triptych: model 'no-merges' failed to load: missing " + pipeline.resolve("tokenizer/merges.txt")
                + " (a CLIP tokenizer needs vocab.json and merges.txt)\n", r.err());
        Distribution.deleteTree(pipeline.getParent());
    }

    @Test
    public void predictRanksTheRightLabelFirstWithTheBundledVlJepa() throws Exception {
        Path image = Path.of("../bundles/engine-predictor/src/test/resources/renders/blue_square.png").toAbsolutePath();
        Run r = Distribution.run(home, "predict", "--image", image.toString(), "--labels", "a red circle,a blue square,a green triangle");
        assertEquals(r.err(), 0, r.exit());
        assertTrue(r.out(), r.out().startsWith("a blue square"));
        Run missing = Distribution.run(home, "predict", "--image", "/no/such.png", "--labels", "a,b");
        assertEquals(2, missing.exit());
        assertEquals(missing.err(), 1, missing.err().lines().count());
    }

    private static Path copyTree(Path from, Path to) throws java.io.IOException {
        try (var files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return to;
    }

    @Test
    public void versionAndHelpExitZero() throws Exception {
        Run v = Distribution.run(home, "--version");
        assertEquals(0, v.exit());
        assertTrue(v.out(), v.out().startsWith("triptych " + System.getProperty("triptych.version", "")));
        Run h = Distribution.run(home, "models", "--help");
        assertEquals(0, h.exit());
        assertTrue(h.out(), h.out().contains("--json"));
    }

    @Test
    public void serveDeploysADroppedFolderWithinTwoSecondsAndStopsOnSigterm() throws Exception {
        var storageBefore = Distribution.felixStorageFolders();
        Process serve = Distribution.command(home, "serve").start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        pump(serve.getInputStream(), lines);
        pump(serve.getErrorStream(), lines);
        try {
            assertTrue("serve did not announce itself", awaitLine(lines, "triptych serving from", 60_000) >= 0);
            long dropped = System.nanoTime();
            Distribution.copyFixture(home.resolve("deploy/models/dropped"));
            long waited = awaitLine(lines, "deployed model dropped", 20_000);
            assertTrue("model not deployed", waited >= 0);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - dropped);
            assertTrue("deployed after " + millis + " ms", millis < 2000);

            // Bundles dropped into deploy/ are installed; a model bundle's model comes and goes with it.
            Path jar = Files.copy(Distribution.modelBundle("io.triptych.itest.jarred", "models/jarred"), home.resolve("deploy/jarred.jar"));
            assertTrue("model bundle dropped into deploy/ not deployed", awaitLine(lines, "deployed model jarred", 20_000) >= 0);
            Files.delete(jar);
            assertTrue("model bundle removed from deploy/ not withdrawn", awaitLine(lines, "withdrew model jarred", 20_000) >= 0);

            serve.destroy(); // SIGTERM
            assertTrue("serve did not stop within 20 s of SIGTERM", serve.waitFor(20, TimeUnit.SECONDS));
        } finally {
            serve.destroyForcibly();
        }
        assertEquals("framework storage left behind", java.util.Set.of(), Distribution.leftBehind(storageBefore));
    }

    private static void pump(java.io.InputStream in, BlockingQueue<String> into) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    into.add(line);
                }
            } catch (java.io.IOException ignored) {
                // the process ended
            }
        });
        t.setDaemon(true);
        t.start();
    }

    /** Waits for a line containing {@code text}; returns the milliseconds waited, or -1. */
    private static long awaitLine(BlockingQueue<String> lines, String text, long timeoutMillis) throws InterruptedException {
        long start = System.currentTimeMillis();
        long end = start + timeoutMillis;
        while (System.currentTimeMillis() < end) {
            String line = lines.poll(end - System.currentTimeMillis(), TimeUnit.MILLISECONDS);
            if (line != null && line.contains(text)) {
                return System.currentTimeMillis() - start;
            }
        }
        return -1;
    }
}
