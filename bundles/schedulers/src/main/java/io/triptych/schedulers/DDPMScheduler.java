package io.triptych.schedulers;

import java.util.List;

import io.triptych.api.InvalidRequestException;

/**
 * Denoising diffusion probabilistic models (Ho et al. 2020), as diffusers' {@code DDPMScheduler}:
 * ancestral sampling with the posterior variance ({@code variance_type} {@code fixed_small},
 * {@code fixed_small_log} or {@code fixed_large}; the learned variances need a model that
 * predicts them and are not supported). Defaults: 1000 training
 * steps, linear β 0.0001–0.02, {@code clip_sample} true, {@code leading} spacing. Before
 * {@link #setTimesteps} it steps through every training timestep.
 */
public final class DDPMScheduler extends BaseScheduler {
    private final String varianceType;

    public DDPMScheduler(SchedulerConfig config) {
        super(config, 1000, "leading", true, List.of(Prediction.EPSILON, Prediction.SAMPLE, Prediction.V_PREDICTION));
        this.varianceType = config.string("variance_type", "fixed_small");
        if (!List.of("fixed_small", "fixed_small_log", "fixed_large").contains(varianceType)) {
            throw new InvalidRequestException("DDPMScheduler: variance_type '" + varianceType
                    + "' is not supported (fixed_small, fixed_small_log, fixed_large)");
        }
        timesteps = new double[trainSteps];
        for (int i = 0; i < trainSteps; i++) {
            timesteps[i] = trainSteps - 1 - i;
        }
        inferenceSteps = trainSteps;
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        inferenceSteps = steps;
        timesteps = integerTimesteps(steps);
    }

    /** The timestep after {@code t} in the schedule, −1 after the last. */
    private int previousTimestep(int t) {
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == t) {
                return i == timesteps.length - 1 ? -1 : (int) timesteps[i + 1];
            }
        }
        return t - trainSteps / inferenceSteps;
    }

    @Override
    public StepOutput step(NdArray modelOutput, double timestep, NdArray sample, NoiseGenerator generator) {
        requireSameShape(modelOutput, sample, "the model output");
        int t = trainIndex(timestep);
        int prevT = previousTimestep(t);
        float alphaProd = alphasCumprod[t];
        float alphaProdPrev = prevT >= 0 ? alphasCumprod[prevT] : 1f;
        float betaProd = 1f - alphaProd;
        float betaProdPrev = 1f - alphaProdPrev;
        float currentAlpha = alphaProd / alphaProdPrev;
        float currentBeta = 1f - currentAlpha;

        float[] m = modelOutput.data();
        float[] s = sample.data();
        float[] x0 = new float[s.length];
        float sa = sqrt(alphaProd);
        float sb = sqrt(betaProd);
        for (int i = 0; i < x0.length; i++) {
            x0[i] = switch (prediction) {
                case EPSILON -> (s[i] - sb * m[i]) / sa;
                case SAMPLE -> m[i];
                case V_PREDICTION -> sa * s[i] - sb * m[i];
            };
        }
        NdArray predOriginal = clipOrThreshold(sample.with(x0));
        float[] x0c = predOriginal.data();

        float x0Coeff = sqrt(alphaProdPrev) * currentBeta / betaProd;
        float sampleCoeff = sqrt(currentAlpha) * betaProdPrev / betaProd;
        float[] prev = new float[s.length];
        for (int i = 0; i < prev.length; i++) {
            prev[i] = x0Coeff * x0c[i] + sampleCoeff * s[i];
        }
        if (t > 0) {
            if (generator == null) {
                throw new InvalidRequestException("DDPMScheduler needs a noise generator");
            }
            float[] noise = generator.randn(prev.length);
            float std = varianceType.equals("fixed_small_log") ? variance(t, prevT) : sqrt(variance(t, prevT));
            for (int i = 0; i < prev.length; i++) {
                prev[i] = prev[i] + std * noise[i];
            }
        }
        return new StepOutput(sample.with(prev), predOriginal);
    }

    /** diffusers' {@code _get_variance}: the posterior variance β̃ₜ (clamped to 1e-20), or βₜ for {@code fixed_large}. */
    float variance(int t, int prevT) {
        float alphaProd = alphasCumprod[t];
        float alphaProdPrev = prevT >= 0 ? alphasCumprod[prevT] : 1f;
        float currentBeta = 1f - alphaProd / alphaProdPrev;
        float v = Math.max((1f - alphaProdPrev) / (1f - alphaProd) * currentBeta, 1e-20f);
        return switch (varianceType) {
            case "fixed_small_log" -> (float) Math.exp(0.5f * (float) Math.log(v));
            case "fixed_large" -> currentBeta;
            default -> v;
        };
    }

    @Override
    public NdArray addNoise(NdArray original, NdArray noise, double timestep) {
        return noiseAt(alphasCumprod[trainIndex(timestep)], original, noise);
    }

    /** √ᾱ·x₀ + √(1−ᾱ)·ε, as the ᾱ-parameterised schedulers noise. */
    static NdArray noiseAt(float alphaProd, NdArray original, NdArray noise) {
        requireSameShape(noise, original, "the noise");
        float a = sqrt(alphaProd);
        float b = sqrt(1f - alphaProd);
        float[] o = original.data();
        float[] n = noise.data();
        float[] out = new float[o.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = a * o[i] + b * n[i];
        }
        return original.with(out);
    }
}
