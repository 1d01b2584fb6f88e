package io.triptych.engine.denoiser;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.ModelLoadException;
import io.triptych.api.denoiser.DenoiseRequest;
import io.triptych.api.denoiser.DenoiseResult;
import io.triptych.api.denoiser.Denoiser;
import io.triptych.api.denoiser.ProgressListener;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.api.tensor.TensorSpec;
import io.triptych.engine.support.BackendBinding;
import io.triptych.engine.support.ServedModel;
import io.triptych.schedulers.DDIMScheduler;
import io.triptych.schedulers.NdArray;
import io.triptych.schedulers.NoiseGenerator;
import io.triptych.schedulers.Scheduler;
import io.triptych.schedulers.Schedulers;
import io.triptych.tokenizers.HfTokenizer;

/**
 * The {@link Denoiser} of one diffusion pipeline ({@link Pipeline}): prompt encoding, the
 * scheduler loop with batched classifier-free guidance, img2img, decoding. Each request draws
 * its initial noise and its scheduler's step noise from one generator, as diffusers' PyTorch
 * pipelines do with one {@code torch.Generator}. Requests run concurrently; if the backend under
 * a request goes away, the request continues on the one the model moved to, from its current
 * latents. {@link #close()} waits for requests in flight.
 */
final class OnnxDenoiser extends ServedModel<Denoiser> implements Denoiser {
    static final int MAX_IMAGES = 64;

    private final Pipeline pipeline;
    private final HfTokenizer tokenizer;

    /**
     * Reads the pipeline folder and its tokenizer.
     *
     * @throws ModelLoadException if a part, the scheduler config or the tokenizer is missing or malformed
     */
    OnnxDenoiser(ModelDescriptor model) {
        super(model);
        this.pipeline = new Pipeline(model);
        this.tokenizer = pipeline.tokenizerFolder == null ? null : HfTokenizer.loadFolder(pipeline.tokenizerFolder);
    }

    @Override
    public Denoiser service() {
        return this;
    }

    @Override
    public List<ModelPart> parts() {
        return pipeline.parts();
    }

    /** One UNet evaluation on zero latents: a backend that compiles but cannot run the UNet fails here, before traffic moves. */
    @Override
    public void warm(BackendBinding.Compiled compiled) {
        Map<String, Tensor> in = new HashMap<>();
        in.put("sample", Tensor.allocate(DType.FLOAT32, 1, pipeline.channels, pipeline.height, pipeline.width));
        in.put("timestep", timestep(1, 1));
        if (pipeline.textConditioned) {
            TensorSpec ehs = pipeline.unet.input("encoder_hidden_states");
            long[] shape = ehs.shape();
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shape[i] > 0 ? shape[i] : i == 0 ? 1 : i == 1 ? pipeline.maxTokens : 1;
            }
            if (shape[shape.length - 1] == 1 && ehs.shape()[shape.length - 1] < 0) {
                return; // hidden size unknown until the text encoder runs: compiling was the check
            }
            in.put("encoder_hidden_states", Tensor.allocate(DType.FLOAT32, shape));
        }
        compiled.part(Pipeline.UNET).run(in).values().forEach(Tensor::close);
    }

    @Override
    public DenoiseResult denoise(DenoiseRequest request, ProgressListener listener) {
        return withOpen(() -> {
            Scheduler scheduler = validate(request);
            try (Run run = new Run()) {
                return run.denoise(request, scheduler, listener);
            }
        });
    }

    /** Frees the tokenizer once the last request has left. */
    @Override
    protected void release() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    /** Checks every option; returns the request's scheduler with its timesteps set. */
    private Scheduler validate(DenoiseRequest r) {
        if (r.steps() < 1) {
            throw new InvalidRequestException("steps must be at least 1, not " + r.steps());
        }
        if (r.imageCount() < 1 || r.imageCount() > MAX_IMAGES) {
            throw new InvalidRequestException("the image count must be between 1 and " + MAX_IMAGES + ", not " + r.imageCount());
        }
        if (!Double.isFinite(r.guidanceScale())) {
            throw new InvalidRequestException("the guidance scale must be a finite number, not " + r.guidanceScale());
        }
        if (!(r.guidanceRescale() >= 0 && r.guidanceRescale() <= 1)) {
            throw new InvalidRequestException("the guidance rescale must be in [0, 1], not " + r.guidanceRescale());
        }
        if (r.initImage() != null) {
            if (!(r.strength() > 0 && r.strength() <= 1)) {
                throw new InvalidRequestException("strength must be in (0, 1], not " + r.strength());
            }
            if (pipeline.vaeDecoder != null && pipeline.vaeEncoder == null) {
                throw new InvalidRequestException("model " + model().id() + " has no vae_encoder, so it cannot start from an image");
            }
        }
        Scheduler s;
        try {
            s = Schedulers.create(r.scheduler() != null ? r.scheduler()
                    : pipeline.scheduler.className() != null ? pipeline.scheduler.className() : "", pipeline.scheduler);
        } catch (InvalidRequestException e) {
            throw new InvalidRequestException((r.scheduler() == null ? "the pipeline's scheduler config: " : "") + e.getMessage(), e);
        }
        s.setTimesteps(r.steps());
        if (s instanceof DDIMScheduler) {
            ((DDIMScheduler) s).eta(0);
        }
        return s;
    }

    /** The timestep input for {@code batch} items, with the graph's dtype and rank. */
    private Tensor timestep(double t, int batch) {
        TensorSpec spec = pipeline.timestep;
        long[] shape = spec.rank() == 0 ? new long[0] : new long[] {spec.shape()[0] > 0 ? spec.shape()[0] : batch};
        int n = (int) Tensor.elementCount(shape);
        return switch (spec.dtype()) {
            case INT64 -> {
                long[] v = new long[n];
                Arrays.fill(v, (long) t);
                yield Tensor.of(v, shape);
            }
            case INT32 -> {
                int[] v = new int[n];
                Arrays.fill(v, (int) t);
                yield Tensor.of(v, shape);
            }
            default -> {
                float[] v = new float[n];
                Arrays.fill(v, (float) t);
                yield Tensor.of(v, shape);
            }
        };
    }

    /** One request: its lease on compiled parts, moved to another backend if its own goes away. */
    private final class Run implements AutoCloseable {
        private final BackendBinding.Lease lease = binding().acquire();

        /** Runs a part and returns its first (or named) output, copied to the host. */
        private NdArray run(String part, Map<String, Tensor> inputs, String output) {
            return lease.call(parts -> {
                Map<String, Tensor> out = parts.part(part).run(inputs);
                try {
                    Tensor t = output != null ? out.get(output) : out.values().iterator().next();
                    return NdArray.of(t.toFloatArray(), Arrays.stream(t.shape()).mapToInt(Math::toIntExact).toArray());
                } finally {
                    out.values().forEach(Tensor::close);
                }
            });
        }

        DenoiseResult denoise(DenoiseRequest r, Scheduler scheduler, ProgressListener listener) {
            NoiseGenerator generator;
            try {
                generator = NoiseGenerator.create(r.noiseSource(), r.seed());
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException(e.getMessage(), e);
            }
            int n = r.imageCount();
            boolean guided = r.guidanceScale() > 1 && pipeline.textConditioned;
            int[] shape = {n, pipeline.channels, pipeline.height, pipeline.width};
            int size = n * pipeline.channels * pipeline.height * pipeline.width;

            long t0 = System.nanoTime();
            Tensor text = pipeline.textConditioned ? encodePrompts(r, n, guided) : null;
            long t1 = System.nanoTime();

            double[] timesteps = scheduler.timesteps();
            NdArray latents;
            if (r.initImage() == null) {
                latents = NdArray.of(generator.randn(size), shape).scale(scheduler.initNoiseSigma());
            } else {
                int keep = Math.min((int) (r.steps() * r.strength()), r.steps());
                timesteps = Arrays.copyOfRange(timesteps, Math.max(r.steps() - keep, 0), timesteps.length);
                if (timesteps.length == 0) {
                    throw new InvalidRequestException("strength " + r.strength() + " leaves no step of " + r.steps() + "; raise either");
                }
                NdArray init = encodeImage(r.initImage(), shape);
                latents = scheduler.addNoise(init, NdArray.of(generator.randn(size), shape), timesteps[0]);
            }
            for (int i = 0; i < timesteps.length; i++) {
                r.cancellation().throwIfCancelled();
                double t = timesteps[i];
                NdArray input = scheduler.scaleModelInput(latents, t);
                int batch = guided ? 2 * n : n;
                float[] x = guided ? concat(input.data(), input.data()) : input.data();
                Map<String, Tensor> in = new HashMap<>();
                in.put("sample", Tensor.of(x, batch, shape[1], shape[2], shape[3]));
                in.put("timestep", timestep(t, batch));
                if (text != null) {
                    in.put("encoder_hidden_states", text);
                }
                float[] out = run(Pipeline.UNET, in, pipeline.unetOutput).data();
                if (guided) {
                    out = Guidance.apply(out, n, (float) r.guidanceScale(), (float) r.guidanceRescale());
                }
                latents = scheduler.step(NdArray.of(out, shape), t, latents, generator).prevSample();
                listener.onStep(i + 1, timesteps.length, t);
            }
            long t2 = System.nanoTime();
            List<BufferedImage> images = decode(latents);
            long t3 = System.nanoTime();
            return new DenoiseResult(images, r.seed(), lease.compiled().backendId(), t1 - t0, t2 - t1, t3 - t2);
        }

        /** Hidden states for [negative × n, prompt × n] (guided) or [prompt × n]. */
        private Tensor encodePrompts(DenoiseRequest r, int n, boolean guided) {
            int len = pipeline.maxTokens;
            List<String> prompts = guided ? List.of(r.negativePrompt(), r.prompt()) : List.of(r.prompt());
            long[] ids = new long[prompts.size() * len];
            for (int p = 0; p < prompts.size(); p++) {
                long[] row = tokens(prompts.get(p), len);
                System.arraycopy(row, 0, ids, p * len, len);
            }
            Tensor input;
            if (pipeline.inputIdsType == DType.INT32) {
                int[] i32 = new int[ids.length];
                for (int i = 0; i < ids.length; i++) {
                    i32[i] = (int) ids[i];
                }
                input = Tensor.of(i32, prompts.size(), len);
            } else {
                input = Tensor.of(ids, prompts.size(), len);
            }
            float[] hidden = run(Pipeline.TEXT_ENCODER, Map.of("input_ids", input), null).data();
            int per = hidden.length / prompts.size();
            float[] batch = new float[prompts.size() * n * per];
            for (int p = 0; p < prompts.size(); p++) {
                for (int k = 0; k < n; k++) {
                    System.arraycopy(hidden, p * per, batch, (p * n + k) * per, per);
                }
            }
            return Tensor.of(batch, prompts.size() * n, len, per / len);
        }

        /** CLIP-style ids: bos, the text's tokens, eos, then padding; the text is cut to fit. */
        private long[] tokens(String text, int len) {
            int bos = specialId("bos_token");
            int eos = specialId("eos_token");
            int pad = specialId("pad_token");
            int[] body = tokenizer.encode(text);
            long[] row = new long[len];
            int at = 0;
            if (bos >= 0) {
                row[at++] = bos;
            }
            int room = len - at - (eos >= 0 ? 1 : 0);
            for (int i = 0; i < Math.min(room, body.length); i++) {
                row[at++] = body[i];
            }
            if (eos >= 0) {
                row[at++] = eos;
            }
            int filler = pad >= 0 ? pad : Math.max(eos, 0);
            while (at < len) {
                row[at++] = filler;
            }
            return row;
        }

        private int specialId(String key) {
            return tokenizer.specialToken(key).map(token -> tokenizer.tokenId(token).orElse(-1)).orElse(-1);
        }

        /** The start image as latents (VAE encoder × scaling factor) or as pixels in [−1, 1], repeated per image. */
        private NdArray encodeImage(BufferedImage image, int[] shape) {
            int n = shape[0];
            int per = shape[1] * shape[2] * shape[3];
            float[] one;
            if (pipeline.vaeDecoder == null) {
                one = Images.toArray(image, shape[2], shape[3]);
            } else {
                int h = shape[2] * 8;
                int w = shape[3] * 8;
                float[] latent = run(Pipeline.VAE_ENCODER, Map.of("sample", Tensor.of(Images.toArray(image, h, w), 1, 3, h, w)), null).data();
                if (latent.length != per) {
                    throw new InvalidRequestException("the VAE encoder made " + latent.length + " latent values, the UNet takes " + per);
                }
                one = new float[per];
                for (int i = 0; i < per; i++) {
                    one[i] = latent[i] * pipeline.scalingFactor;
                }
            }
            float[] all = new float[n * per];
            for (int k = 0; k < n; k++) {
                System.arraycopy(one, 0, all, k * per, per);
            }
            return NdArray.of(all, shape);
        }

        private List<BufferedImage> decode(NdArray latents) {
            int[] s = latents.shape();
            int per = s[1] * s[2] * s[3];
            List<BufferedImage> images = new ArrayList<>();
            for (int k = 0; k < s[0]; k++) {
                float[] item = Arrays.copyOfRange(latents.data(), k * per, (k + 1) * per);
                if (pipeline.vaeDecoder == null) {
                    images.add(Images.toImage(item, 0, s[2], s[3]));
                    continue;
                }
                for (int i = 0; i < per; i++) {
                    item[i] = item[i] / pipeline.scalingFactor;
                }
                NdArray pixels = run(Pipeline.VAE_DECODER, Map.of("latent_sample", Tensor.of(item, 1, s[1], s[2], s[3])), null);
                int[] ps = pixels.shape();
                if (ps.length != 4 || ps[1] != 3) {
                    throw new ModelLoadException(Pipeline.VAE_DECODER + " must decode to [1, 3, height, width], not " + Arrays.toString(ps));
                }
                images.add(Images.toImage(pixels.data(), 0, ps[2], ps[3]));
            }
            return images;
        }

        @Override
        public void close() {
            lease.close();
        }
    }

    private static float[] concat(float[] a, float[] b) {
        float[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
