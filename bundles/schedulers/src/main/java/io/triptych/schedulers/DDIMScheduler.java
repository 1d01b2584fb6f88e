package io.triptych.schedulers;

import java.util.List;

import io.triptych.api.InvalidRequestException;

/**
 * Denoising diffusion implicit models (Song et al. 2020), as diffusers' {@code DDIMScheduler}.
 * η (the noise weight, {@link #eta(double)}) defaults to 0, a deterministic sampler.
 * {@code set_alpha_to_one} picks ᾱ = 1 or ᾱ₀ for the step past the last timestep. Defaults:
 * 1000 training steps, linear β 0.0001–0.02, {@code clip_sample} true, {@code leading} spacing.
 */
public final class DDIMScheduler extends BaseScheduler {
    private final float finalAlphaCumprod;
    private double eta;
    private boolean useClippedModelOutput;

    public DDIMScheduler(SchedulerConfig config) {
        super(config, 1000, "leading", true, List.of(Prediction.EPSILON, Prediction.SAMPLE, Prediction.V_PREDICTION));
        this.finalAlphaCumprod = config.bool("set_alpha_to_one", true) ? 1f : alphasCumprod[0];
    }

    /** Sets η, the weight of fresh noise per step (0 deterministic, 1 like DDPM); a step argument in diffusers. */
    public DDIMScheduler eta(double value) {
        if (!(value >= 0)) {
            throw new InvalidRequestException("eta must be ≥ 0, not " + value);
        }
        this.eta = value;
        return this;
    }

    /** Re-derives ε from the clipped x₀ (diffusers' {@code use_clipped_model_output}). */
    public DDIMScheduler useClippedModelOutput(boolean value) {
        this.useClippedModelOutput = value;
        return this;
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        inferenceSteps = steps;
        timesteps = integerTimesteps(steps);
    }

    @Override
    public StepOutput step(NdArray modelOutput, double timestep, NdArray sample, NoiseGenerator generator) {
        requireTimesteps();
        requireSameShape(modelOutput, sample, "the model output");
        int t = trainIndex(timestep);
        // as diffusers: the previous timestep is one stride back, whatever the spacing
        int prevT = t - trainSteps / inferenceSteps;
        float alphaProd = alphasCumprod[t];
        float alphaProdPrev = prevT >= 0 ? alphasCumprod[prevT] : finalAlphaCumprod;
        float betaProd = 1f - alphaProd;
        float sa = sqrt(alphaProd);
        float sb = sqrt(betaProd);

        float[] m = modelOutput.data();
        float[] s = sample.data();
        float[] x0 = new float[s.length];
        float[] eps = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            switch (prediction) {
                case EPSILON -> {
                    x0[i] = (s[i] - sb * m[i]) / sa;
                    eps[i] = m[i];
                }
                case SAMPLE -> {
                    x0[i] = m[i];
                    eps[i] = (s[i] - sa * x0[i]) / sb;
                }
                case V_PREDICTION -> {
                    x0[i] = sa * s[i] - sb * m[i];
                    eps[i] = sa * m[i] + sb * s[i];
                }
            }
        }
        NdArray predOriginal = clipOrThreshold(sample.with(x0));
        float[] x0c = predOriginal.data();

        float variance = (1f - alphaProdPrev) / betaProd * (1f - alphaProd / alphaProdPrev);
        float std = (float) eta * sqrt(variance);
        if (useClippedModelOutput) {
            for (int i = 0; i < s.length; i++) {
                eps[i] = (s[i] - sa * x0c[i]) / sb;
            }
        }
        float direction = sqrt(1f - alphaProdPrev - std * std);
        float sap = sqrt(alphaProdPrev);
        float[] prev = new float[s.length];
        for (int i = 0; i < prev.length; i++) {
            prev[i] = sap * x0c[i] + direction * eps[i];
        }
        if (eta > 0) {
            if (generator == null) {
                throw new InvalidRequestException("DDIMScheduler with eta > 0 needs a noise generator");
            }
            float[] noise = generator.randn(prev.length);
            for (int i = 0; i < prev.length; i++) {
                prev[i] = prev[i] + std * noise[i];
            }
        }
        return new StepOutput(sample.with(prev), predOriginal);
    }

    @Override
    public NdArray addNoise(NdArray original, NdArray noise, double timestep) {
        return DDPMScheduler.noiseAt(alphasCumprod[trainIndex(timestep)], original, noise);
    }
}
