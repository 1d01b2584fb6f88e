package io.triptych.engine.denoiser;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.triptych.api.Paradigm;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.denoiser.DenoiseRequest;
import io.triptych.api.denoiser.DenoiseResult;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.backend.ortcpu.OrtCpuBackend;
import io.triptych.engine.support.BackendBinding;
import io.triptych.onnx.OnnxModelReader;

/**
 * Denoising steps/s of the engine (scheduler, batched classifier-free guidance, everything but the
 * text encoding and decoding) against a bare ONNX Runtime loop that only calls the UNet on a
 * [uncond, cond] batch and combines the guidance, measured side by side in one run on the same
 * model. Run from the project root after {@code mvn -B -q install -DskipTests}:
 * {@code mvn -q -f bench/pom.xml exec:java@denoise -Dexec.args="[pipeline folder] [steps] [rounds]"}
 * (defaults: our tiny-diffusion, 20 steps, 5 rounds).
 */
public final class DenoiserBenchmark {
    private DenoiserBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path folder = Path.of(args.length > 0 ? args[0] : "bundles/models/tiny-diffusion/src/main/resources/models/tiny-diffusion").toAbsolutePath();
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;

        Map<String, ModelPart> parts = new HashMap<>();
        for (String p : List.of(Pipeline.TEXT_ENCODER, Pipeline.UNET, Pipeline.VAE_DECODER, Pipeline.VAE_ENCODER)) {
            if (Files.exists(folder.resolve(p))) {
                parts.put(p, OnnxModelReader.read(folder.resolve(p), p));
            }
        }
        OrtCpuBackend ort = new OrtCpuBackend(1, 1, "ALL_OPT", 100);
        double engine;
        try (OnnxDenoiser d = new OnnxDenoiser(ModelDescriptor.deployed(folder.getFileName().toString(), Paradigm.DIFFUSION, folder, "bench", parts))) {
            Map<String, CompiledModel> compiled = new HashMap<>();
            for (ModelPart part : d.parts()) {
                compiled.put(part.name(), ort.compile(part));
            }
            d.binding().bind(new BackendBinding.Compiled(ort.id(), compiled));
            DenoiseRequest request = DenoiseRequest.builder("a red circle").steps(steps).guidanceScale(4).seed(1).build();
            d.denoise(request);
            long nanos = 0;
            for (int r = 0; r < rounds; r++) {
                DenoiseResult result = d.denoise(request);
                nanos += result.denoiseNanos();
            }
            engine = (double) steps * rounds * 1e9 / nanos;
        }
        double bare = bareUnetLoop(folder.resolve(Pipeline.UNET), steps, rounds);
        System.out.printf(Locale.ROOT, "pipeline %s, %d steps, guidance batch 2, %d rounds, ort-cpu 1 thread%n", folder.getFileName(), steps, rounds);
        System.out.printf(Locale.ROOT, "steps/s: engine %.1f, bare ORT UNet loop %.1f, ratio %.3f%n", engine, bare, engine / bare);
    }

    /** Calls the UNet {@code steps} times on a batch of two and combines the guidance; nothing else. */
    private static double bareUnetLoop(Path unet, int steps, int rounds) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            try (OrtSession session = env.createSession(unet.toString(), options)) {
                Map<String, long[]> shapes = new HashMap<>();
                Map<String, OnnxJavaType> types = new HashMap<>();
                for (NodeInfo n : session.getInputInfo().values()) {
                    TensorInfo t = (TensorInfo) n.getInfo();
                    long[] s = t.getShape();
                    for (int i = 0; i < s.length; i++) {
                        s[i] = s[i] > 0 ? s[i] : i == 0 ? 2 : 16; // batch 2; other dynamic dims (text length) 16
                    }
                    shapes.put(n.getName(), s);
                    types.put(n.getName(), t.type);
                }
                long[] sampleShape = shapes.get("sample");
                int n = (int) (sampleShape[1] * sampleShape[2] * sampleShape[3]);
                float[] latents = new float[n];
                Random random = new Random(1);
                for (int i = 0; i < n; i++) {
                    latents[i] = (float) random.nextGaussian();
                }
                long[] hiddenShape = shapes.get("encoder_hidden_states");
                float[] hidden = new float[(int) (hiddenShape[0] * hiddenShape[1] * hiddenShape[2])];
                long start = 0;
                for (int r = -1; r < rounds; r++) {
                    if (r == 0) {
                        start = System.nanoTime();
                    }
                    for (int step = 0; step < steps; step++) {
                        float[] batch = new float[2 * n];
                        System.arraycopy(latents, 0, batch, 0, n);
                        System.arraycopy(latents, 0, batch, n, n);
                        Map<String, OnnxTensor> in = new HashMap<>();
                        in.put("sample", OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(batch), new long[] {2, sampleShape[1], sampleShape[2], sampleShape[3]}));
                        in.put("encoder_hidden_states", OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(hidden), hiddenShape));
                        long t = 999 - step * (1000L / steps);
                        long[] tShape = shapes.get("timestep");
                        in.put("timestep", types.get("timestep") == OnnxJavaType.INT64
                                ? OnnxTensor.createTensor(env, ByteBuffer.allocateDirect(8 * (tShape.length == 0 ? 1 : 2)).order(ByteOrder.nativeOrder())
                                        .putLong(0, t).putLong(tShape.length == 0 ? 0 : 8, t), tShape, OnnxJavaType.INT64)
                                : OnnxTensor.createTensor(env, ByteBuffer.allocateDirect(4 * (tShape.length == 0 ? 1 : 2)).order(ByteOrder.nativeOrder())
                                        .putFloat(0, t).putFloat(tShape.length == 0 ? 0 : 4, t), tShape, OnnxJavaType.FLOAT));
                        try (OrtSession.Result out = session.run(in)) {
                            float[] noise = new float[2 * n];
                            ((OnnxTensor) out.get(0)).getFloatBuffer().get(noise);
                            for (int i = 0; i < n; i++) {
                                float guided = noise[i] + 4f * (noise[n + i] - noise[i]);
                                latents[i] -= 0.05f * guided;
                            }
                        } finally {
                            in.values().forEach(OnnxTensor::close);
                        }
                    }
                }
                return (double) steps * rounds * 1e9 / (System.nanoTime() - start);
            }
        }
    }
}
