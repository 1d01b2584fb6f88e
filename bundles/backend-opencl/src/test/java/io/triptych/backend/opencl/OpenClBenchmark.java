package io.triptych.backend.opencl;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Locale;

import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.model.ModelPart;
import io.triptych.backend.ortcpu.OrtCpuBackend;

/**
 * Per-token decoding latency of opencl against ort-cpu, measured side by side in one run on the
 * same models (greedy search, batch 1, cache fed back). Run from the module folder:
 *
 * <pre>
 * mvn -o -q test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -cp target/test-classes:target/classes:$(cat target/cp.txt) io.triptych.backend.opencl.OpenClBenchmark [tokens]
 * </pre>
 */
public final class OpenClBenchmark {

    private OpenClBenchmark() {
    }

    public static void main(String[] args) {
        int tokens = args.length > 0 ? Integer.parseInt(args[0]) : 48;
        Path[] models = {Reference.FIXTURES.resolve("tiny-random-gpt2-fp32/past.onnx"), GreedyDecodingTest.TINY_GPT};
        // ort-cpu with one thread (the engine tests' setting) and as the distribution configures it (one per core).
        ComputeBackend[] backends = {Reference.ORT, new OrtCpuBackend(0, 0, "ALL_OPT", 100), Reference.OPENCL};
        System.out.println("opencl device: " + Reference.OPENCL.deviceDescription());
        System.out.printf(Locale.ROOT, "%-32s %14s %14s %10s %16s %16s%n", "ms per token (batch 1, greedy)", "ort-cpu 1 thr",
                "ort-cpu auto", "opencl", "opencl/ort 1thr", "opencl/ort auto");
        for (Path file : models) {
            ModelPart part = Reference.part(file);
            double[] ms = new double[backends.length];
            for (int b = 0; b < backends.length; b++) {
                try (CompiledModel m = backends[b].compile(part)) {
                    ms[b] = perToken(m, tokens);
                }
            }
            System.out.printf(Locale.ROOT, "%-32s %14.3f %14.3f %10.3f %15.2fx %15.2fx%n",
                    file.getParent().getFileName() + "/" + file.getFileName(), ms[0], ms[1], ms[2], ms[2] / ms[0], ms[2] / ms[1]);
        }
        Reference.OPENCL.close();
    }

    /**
     * Milliseconds per decoded token: the fastest long generation minus the fastest short one
     * (minimums resist the noise of a shared machine), over five rounds after a warm-up.
     */
    private static double perToken(CompiledModel m, int tokens) {
        int[][] prompt = {{5, 17, 30, 42, 9, 11, 3, 8}};
        int shortLength = prompt[0].length + 2, longLength = shortLength + tokens;
        GreedyDecodingTest.greedy(m, prompt, longLength, new ArrayList<>());
        long fastestShort = Long.MAX_VALUE, fastestLong = Long.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long t0 = System.nanoTime();
            GreedyDecodingTest.greedy(m, prompt, shortLength, new ArrayList<>());
            long t1 = System.nanoTime();
            GreedyDecodingTest.greedy(m, prompt, longLength, new ArrayList<>());
            long t2 = System.nanoTime();
            fastestShort = Math.min(fastestShort, t1 - t0);
            fastestLong = Math.min(fastestLong, t2 - t1);
        }
        return (fastestLong - fastestShort) / 1e6 / tokens;
    }
}
