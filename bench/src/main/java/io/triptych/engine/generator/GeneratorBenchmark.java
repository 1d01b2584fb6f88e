package io.triptych.engine.generator;

import java.nio.IntBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.triptych.api.Paradigm;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.GenerationResult;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.backend.ortcpu.OrtCpuBackend;
import io.triptych.engine.support.BackendBinding;
import io.triptych.onnx.OnnxModelReader;

/**
 * Prompt and decode tokens/s of the engine's greedy search against a bare ONNX Runtime greedy loop
 * (same model, same session options, KV cache fed back as ORT values), measured side by side in one
 * run, printed as a ratio. Run from the project root after {@code mvn -B -q install -DskipTests}:
 * {@code mvn -q -f bench/pom.xml exec:java@generate -Dexec.args="[model folder] [prompt length] [max length] [rounds]"}
 * (defaults: the tiny GPT-2 fixture, 64, 256, 20). The bare loop is written for that fixture's layout
 * (ORT GenAI {@code gpt2} type: {@code past.onnx}, int32 inputs, combined {@code past_i} cache).
 */
public final class GeneratorBenchmark {
    private GeneratorBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path folder = Path.of(args.length > 0 ? args[0] : System.getProperty("triptych.fixtures", "../shared/fixtures") + "/tiny-random-gpt2-fp32");
        int promptLength = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int maxLength = args.length > 2 ? Integer.parseInt(args[2]) : 256;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 20;
        int[] prompt = new int[promptLength];
        for (int i = 0; i < promptLength; i++) {
            int t = (i * 37 + 11) % 900;
            prompt[i] = t == 98 ? 99 : t; // 98 is the fixture's pad token, which the engine masks and the bare loop does not
        }
        OnnxGenerator engine = new OnnxGenerator(ModelDescriptor.deployed(folder.getFileName().toString(), Paradigm.LLM, folder, "bench",
                Map.of("past.onnx", OnnxModelReader.read(folder.resolve("past.onnx"), "past.onnx"))));
        OrtCpuBackend backend = new OrtCpuBackend(1, 1, "ALL_OPT", 100);
        Map<String, CompiledModel> parts = new HashMap<>();
        for (ModelPart part : engine.parts()) {
            parts.put(part.name(), backend.compile(part));
        }
        engine.binding().bind(new BackendBinding.Compiled(backend.id(), parts));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = env.createSession(folder.resolve("past.onnx").toString(), options)) {
                SearchOptions greedy = SearchOptions.builder().maxLength(maxLength).build();
                long[] engineTimes = new long[2];
                long[] bareTimes = new long[2];
                int[] engineTokens = null;
                int[] bareTokens = null;
                for (int round = -3; round < rounds; round++) { // three warm-up rounds
                    GenerationResult r = engine.generate(GenerationRequest.ofTokens(List.of(prompt), greedy));
                    long[] bare = new long[2];
                    bareTokens = bareGreedy(env, session, prompt, maxLength, bare);
                    engineTokens = r.sequences().get(0).tokens();
                    if (round >= 0) {
                        engineTimes[0] += r.promptNanos();
                        engineTimes[1] += r.decodeNanos();
                        bareTimes[0] += bare[0];
                        bareTimes[1] += bare[1];
                    }
                }
                if (!java.util.Arrays.equals(engineTokens, bareTokens)) {
                    throw new IllegalStateException("the engine and the bare loop disagree");
                }
                int decoded = maxLength - promptLength - 1;
                double enginePrompt = promptLength * rounds / (engineTimes[0] / 1e9);
                double bareP = promptLength * rounds / (bareTimes[0] / 1e9);
                double engineDecode = decoded * rounds / (engineTimes[1] / 1e9);
                double bareD = decoded * rounds / (bareTimes[1] / 1e9);
                System.out.printf("model %s, prompt %d tokens, max_length %d, %d rounds, greedy, batch 1, ort-cpu 1 thread%n",
                        folder.getFileName(), promptLength, maxLength, rounds);
                System.out.printf("prompt tokens/s: engine %.0f, bare ORT %.0f, ratio %.3f%n", enginePrompt, bareP, enginePrompt / bareP);
                System.out.printf("decode tokens/s: engine %.0f, bare ORT %.0f, ratio %.3f%n", engineDecode, bareD, engineDecode / bareD);
            }
        } finally {
            engine.close();
        }
    }

    /** The plainest greedy loop on ONNX Runtime: int32 inputs, presents fed back as pasts. */
    private static int[] bareGreedy(OrtEnvironment env, OrtSession session, int[] prompt, int maxLength, long[] nanos) throws Exception {
        int[] tokens = java.util.Arrays.copyOf(prompt, maxLength);
        int length = prompt.length;
        Map<String, OnnxTensor> past = new HashMap<>();
        for (int i = 0; i < 5; i++) {
            past.put("past_" + i, OnnxTensor.createTensor(env, java.nio.FloatBuffer.allocate(0), new long[] {2, 1, 4, 0, 8}));
        }
        int fed = 0;
        while (length < maxLength) {
            long start = System.nanoTime();
            int step = length - fed;
            int[] ids = java.util.Arrays.copyOfRange(tokens, fed, length);
            int[] positions = new int[step];
            for (int i = 0; i < step; i++) {
                positions[i] = fed + i;
            }
            int[] mask = new int[length];
            java.util.Arrays.fill(mask, 1);
            Map<String, OnnxTensor> in = new HashMap<>(past);
            in.put("input_ids", OnnxTensor.createTensor(env, IntBuffer.wrap(ids), new long[] {1, step}));
            in.put("position_ids", OnnxTensor.createTensor(env, IntBuffer.wrap(positions), new long[] {1, step}));
            in.put("attention_mask", OnnxTensor.createTensor(env, IntBuffer.wrap(mask), new long[] {1, length}));
            OrtSession.Result result = session.run(in);
            float[][][] logits = (float[][][]) result.get("logits").orElseThrow().getValue();
            float[] last = logits[0][step - 1];
            int best = 0;
            for (int v = 1; v < last.length; v++) {
                if (last[v] > last[best]) {
                    best = v;
                }
            }
            in.get("input_ids").close();
            in.get("position_ids").close();
            in.get("attention_mask").close();
            past.values().forEach(OnnxTensor::close);
            past.clear();
            for (int i = 0; i < 5; i++) {
                past.put("past_" + i, (OnnxTensor) result.get("present_" + i).orElseThrow());
            }
            result.get("logits").ifPresent(OnnxValue::close);
            tokens[length++] = best;
            fed = length - 1;
            nanos[fed == prompt.length ? 0 : 1] += System.nanoTime() - start;
        }
        past.values().forEach(OnnxTensor::close);
        return tokens;
    }
}
