package io.triptych.engine.denoiser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.triptych.api.CancelledException;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.Paradigm;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.denoiser.DenoiseRequest;
import io.triptych.api.denoiser.DenoiseResult;
import io.triptych.api.denoiser.NoiseSource;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.backend.ortcpu.OrtCpuBackend;
import io.triptych.engine.support.BackendBinding;
import io.triptych.onnx.OnnxModelReader;

/**
 * Pipeline mechanics on a tiny random-weight diffusers ONNX folder (src/test/resources/tiny-sd,
 * written by models/test-pipeline/make_tiny_pipeline.py): latents [b, 4, 8, 8], 64×64 images,
 * an int64 [batch] timestep, a DDIMScheduler config. The weights are random, so the tests check
 * mechanics and determinism, not pictures.
 */
class OnnxDenoiserTest {
    static final OrtCpuBackend ORT = new OrtCpuBackend(1, 1, "ALL_OPT", 100);
    static OnnxDenoiser denoiser;

    static Path tinySd() {
        try {
            return Path.of(OnnxDenoiserTest.class.getResource("/tiny-sd/model_index.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A descriptor as the registry makes it, and a denoiser bound to ORT-CPU as the engine binds it. */
    static OnnxDenoiser load(Path folder) {
        Map<String, ModelPart> parts = new HashMap<>();
        for (String p : List.of(Pipeline.TEXT_ENCODER, Pipeline.UNET, Pipeline.VAE_DECODER, Pipeline.VAE_ENCODER)) {
            if (java.nio.file.Files.exists(folder.resolve(p))) {
                parts.put(p, OnnxModelReader.read(folder.resolve(p), p));
            }
        }
        OnnxDenoiser d = new OnnxDenoiser(ModelDescriptor.deployed(folder.getFileName().toString(), Paradigm.DIFFUSION, folder, "test", parts));
        Map<String, CompiledModel> compiled = new HashMap<>();
        for (ModelPart part : d.parts()) {
            compiled.put(part.name(), ORT.compile(part));
        }
        BackendBinding.Compiled c = new BackendBinding.Compiled(ORT.id(), compiled);
        d.warm(c);
        d.binding().bind(c);
        return d;
    }

    @BeforeAll
    static void setUp() {
        denoiser = load(tinySd());
    }

    @AfterAll
    static void tearDown() {
        denoiser.close();
    }

    static byte[] png(BufferedImage image) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(image, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static DenoiseRequest.Builder request() {
        return DenoiseRequest.builder("a red circle").steps(6).seed(1);
    }

    @Test
    void drawsTheRequestedImagesAndReportsEveryStep() {
        List<double[]> steps = new ArrayList<>();
        DenoiseResult r = denoiser.denoise(request().imageCount(2).build(), (s, n, t) -> steps.add(new double[] {s, n, t}));
        assertEquals(2, r.images().size());
        assertEquals(64, r.images().get(0).getWidth());
        assertEquals(64, r.images().get(0).getHeight());
        assertEquals("ort-cpu", r.backendId());
        // DDIM, 6 steps, leading spacing (stride 1000 // 6 = 166), steps_offset 1
        assertEquals(6, steps.size());
        assertArrayEquals(new double[] {1, 6, 831}, steps.get(0));
        assertArrayEquals(new double[] {6, 6, 1}, steps.get(5));
        assertTrue(r.denoiseNanos() > 0 && r.encodeNanos() > 0 && r.decodeNanos() > 0);
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherImage() {
        byte[] a = png(denoiser.denoise(request().build()).images().get(0));
        byte[] b = png(denoiser.denoise(request().build()).images().get(0));
        byte[] c = png(denoiser.denoise(request().seed(2).build()).images().get(0));
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
        byte[] numpy = png(denoiser.denoise(request().noiseSource(NoiseSource.NUMPY).build()).images().get(0));
        assertFalse(java.util.Arrays.equals(a, numpy));
    }

    @Test
    void guidanceAndNegativePromptChangeTheImage() {
        byte[] guided = png(denoiser.denoise(request().guidanceScale(7.5).build()).images().get(0));
        byte[] unguided = png(denoiser.denoise(request().guidanceScale(1).build()).images().get(0));
        byte[] negative = png(denoiser.denoise(request().guidanceScale(7.5).negativePrompt("blue square").build()).images().get(0));
        byte[] rescaled = png(denoiser.denoise(request().guidanceScale(7.5).guidanceRescale(0.7).build()).images().get(0));
        assertFalse(java.util.Arrays.equals(guided, unguided));
        assertFalse(java.util.Arrays.equals(guided, negative));
        assertFalse(java.util.Arrays.equals(guided, rescaled));
    }

    @Test
    void everySchedulerRuns() {
        for (String s : io.triptych.schedulers.Schedulers.names()) {
            DenoiseResult r = denoiser.denoise(request().scheduler(s).build());
            assertEquals(1, r.images().size(), s);
        }
    }

    @Test
    void imageToImageRunsTheStrengthsShareOfSteps() {
        BufferedImage start = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        List<Integer> seen = new ArrayList<>();
        DenoiseResult r = denoiser.denoise(request().steps(10).initImage(start, 0.5).build(), (s, n, t) -> seen.add(n));
        assertEquals(1, r.images().size());
        assertEquals(5, seen.size());
        assertEquals(5, seen.get(0));
    }

    @Test
    void cancellationStopsBetweenSteps() {
        DenoiseRequest req = request().steps(20).build();
        List<Integer> seen = new ArrayList<>();
        assertThrows(CancelledException.class, () -> denoiser.denoise(req, (s, n, t) -> {
            seen.add(s);
            if (s == 3) {
                req.cancellation().cancel();
            }
        }));
        assertEquals(List.of(1, 2, 3), seen);
    }

    @Test
    void badRequestsAreTypedErrors() {
        assertEquals("steps must be at least 1, not 0",
                assertThrows(InvalidRequestException.class, () -> denoiser.denoise(request().steps(0).build())).getMessage());
        assertEquals("strength must be in (0, 1], not 1.5", assertThrows(InvalidRequestException.class,
                () -> denoiser.denoise(request().initImage(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB), 1.5).build())).getMessage());
        assertEquals("unknown scheduler 'HeunDiscreteScheduler' (supported: DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler, "
                        + "EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler, PNDMScheduler, LMSDiscreteScheduler)",
                assertThrows(InvalidRequestException.class, () -> denoiser.denoise(request().scheduler("HeunDiscreteScheduler").build())).getMessage());
        assertThrows(InvalidRequestException.class, () -> denoiser.denoise(request().imageCount(0).build()));
        assertThrows(InvalidRequestException.class, () -> denoiser.denoise(request().guidanceRescale(2).build()));
        assertThrows(InvalidRequestException.class, () -> denoiser.denoise(request().noiseSource(NoiseSource.NUMPY).seed(-1).build()));
    }

    /** A UNet whose backend vanishes after a few steps; it moves the pipeline to fresh parts first, as the engine would. */
    static final class VanishingUnet implements CompiledModel {
        private final CompiledModel real;
        private final int runs;
        private final Runnable onVanish;
        private int done;

        VanishingUnet(CompiledModel real, int runs, Runnable onVanish) {
            this.real = real;
            this.runs = runs;
            this.onVanish = onVanish;
        }

        @Override public String backendId() { return "vanishing"; }
        @Override public List<io.triptych.api.tensor.TensorSpec> inputs() { return real.inputs(); }
        @Override public List<io.triptych.api.tensor.TensorSpec> outputs() { return real.outputs(); }
        @Override public void close() { real.close(); }

        @Override
        public Map<String, io.triptych.api.tensor.Tensor> run(Map<String, ? extends io.triptych.api.tensor.Tensor> in, java.util.Set<String> names) {
            if (++done > runs) {
                onVanish.run();
                throw new io.triptych.api.BackendUnavailableException("device lost");
            }
            return real.run(in, names);
        }
    }

    @Test
    void aRunWhoseBackendVanishesMidwayContinuesFromItsLatentsToTheSameImage() {
        byte[] undisturbed = png(denoiser.denoise(request().build()).images().get(0));
        OnnxDenoiser d = load(tinySd());
        try {
            Map<String, CompiledModel> parts = new HashMap<>();
            for (ModelPart part : d.parts()) {
                parts.put(part.name(), ORT.compile(part));
            }
            Map<String, CompiledModel> fresh = new HashMap<>();
            for (ModelPart part : d.parts()) {
                fresh.put(part.name(), ORT.compile(part));
            }
            // warm-up runs the UNet once; the request's third UNet call fails
            parts.put(Pipeline.UNET, new VanishingUnet(parts.get(Pipeline.UNET), 3,
                    () -> d.binding().bind(new BackendBinding.Compiled(ORT.id(), fresh))));
            d.binding().bind(new BackendBinding.Compiled("vanishing", parts));
            List<Integer> steps = new ArrayList<>();
            DenoiseResult r = d.denoise(request().build(), (s, n, t) -> steps.add(s));
            assertEquals(ORT.id(), r.backendId());
            assertEquals(List.of(1, 2, 3, 4, 5, 6), steps, "every step is reported once");
            assertArrayEquals(undisturbed, png(r.images().get(0)));
        } finally {
            d.close();
        }
    }
}
