package io.triptych.schedulers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.triptych.api.InvalidRequestException;

/**
 * Schedulers that walk a list of noise levels σ (one per timestep, plus a final one) and keep
 * their position in it, as diffusers' {@code _step_index}: it is found from the first timestep
 * seen (the second match when a timestep repeats) and advances by one per step.
 */
abstract class SigmaScheduler extends BaseScheduler {
    /** σ per inference step plus the final σ, float32 as diffusers stores them. */
    protected float[] sigmas;
    private int stepIndex = -1;

    SigmaScheduler(SchedulerConfig config, int defaultTrainSteps, String defaultSpacing, List<Prediction> predictions) {
        super(config, defaultTrainSteps, defaultSpacing, false, predictions);
    }

    /** √((1 − ᾱ)/ᾱ) per training step, float32. */
    protected float[] trainSigmas() {
        float[] s = new float[trainSteps];
        for (int i = 0; i < trainSteps; i++) {
            s[i] = sqrt((1f - alphasCumprod[i]) / alphasCumprod[i]);
        }
        return s;
    }

    /** Inference timesteps and their σs, noisiest first. */
    protected record Schedule(double[] timesteps, double[] sigmas) {
    }

    /**
     * The σ spacing a configuration asks for — {@code karras}, {@code exponential} or {@code beta}
     * ({@code use_karras_sigmas}, {@code use_exponential_sigmas}, {@code use_beta_sigmas}, at most
     * one) — or {@code null} for σs interpolated at the timesteps.
     *
     * @throws InvalidRequestException if more than one is set
     */
    protected static String sigmaSpacing(SchedulerConfig config) {
        List<String> chosen = new ArrayList<>();
        for (String spacing : List.of("karras", "exponential", "beta")) {
            if (config.bool("use_" + spacing + "_sigmas", false)) {
                chosen.add(spacing);
            }
        }
        if (chosen.size() > 1) {
            throw new InvalidRequestException("only one of use_karras_sigmas, use_exponential_sigmas and use_beta_sigmas can be set, not "
                    + String.join(" and ", chosen));
        }
        return chosen.isEmpty() ? null : chosen.get(0);
    }

    /**
     * The Euler and LMS schedules: timesteps by the spacing rounded to float32, σ interpolated
     * linearly at them from the training σs; with a σ {@code spacing}, that spacing between the
     * interpolated ends (or the configuration's {@code sigma_min}/{@code sigma_max}) and each
     * timestep moved to its σ's fractional training step.
     */
    protected Schedule floatSchedule(int steps, String spacing) {
        double[] t = eulerTimesteps(steps);
        for (int i = 0; i < t.length; i++) {
            t[i] = (float) t[i];
        }
        float[] train = trainSigmas();
        double[] s = Numerics.interp(t, train);
        if (spacing != null) {
            double min = config.number("sigma_min", s[s.length - 1]);
            double max = config.number("sigma_max", s[0]);
            s = switch (spacing) {
                case "karras" -> Numerics.karrasSigmas(min, max, steps);
                case "exponential" -> Numerics.exponentialSigmas(min, max, steps);
                default -> Numerics.betaSigmas(min, max, steps);
            };
            float[] logSigmas = logOf(train);
            for (int i = 0; i < s.length; i++) {
                t[i] = (float) Numerics.sigmaToT(s[i], logSigmas);
            }
        }
        return new Schedule(t, s);
    }

    /** log σ per element, float32, for {@link Numerics#sigmaToT}. */
    protected static float[] logOf(float[] sigmas) {
        float[] l = new float[sigmas.length];
        for (int i = 0; i < sigmas.length; i++) {
            l[i] = (float) Math.log(sigmas[i]);
        }
        return l;
    }

    protected void resetStepIndex() {
        stepIndex = -1;
    }

    /** The position of {@code t} in the schedule, found on first use. */
    protected int stepIndex(double t) {
        requireTimesteps();
        if (stepIndex < 0) {
            stepIndex = indexForTimestep(t);
        }
        return stepIndex;
    }

    protected void advance() {
        stepIndex++;
    }

    protected int indexForTimestep(double t) {
        int first = -1;
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == t) {
                if (first >= 0) {
                    return i;
                }
                first = i;
            }
        }
        if (first < 0) {
            throw new InvalidRequestException(className() + ": timestep " + t + " is not in the schedule");
        }
        return first;
    }

    /**
     * Starts a sampling loop at timesteps {@code t} over the σs {@code s} (noisiest first, rounded to
     * float32) followed by the final σ {@code last}.
     */
    protected void startLoop(double[] t, double[] s, float last) {
        sigmas = Arrays.copyOf(toFloats(s), s.length + 1);
        sigmas[s.length] = last;
        timesteps = t;
        inferenceSteps = t.length;
        resetStepIndex();
    }

    protected static float[] toFloats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }

    /** x₀ from an Euler step's model output at noise level σ (epsilon or v-prediction, as diffusers). */
    protected float[] predictOriginal(float[] m, float[] s, float sigma) {
        float[] x0 = new float[s.length];
        float cOut = -sigma / sqrt(sigma * sigma + 1f);
        float cSkipDen = sigma * sigma + 1f;
        for (int i = 0; i < s.length; i++) {
            x0[i] = switch (prediction) {
                case EPSILON -> s[i] - sigma * m[i];
                case V_PREDICTION -> m[i] * cOut + s[i] / cSkipDen;
                case SAMPLE -> m[i];
            };
        }
        return x0;
    }

    @Override
    public NdArray scaleModelInput(NdArray sample, double t) {
        float sigma = sigmas[stepIndex(t)];
        float d = sqrt(sigma * sigma + 1f);
        float[] s = sample.data();
        float[] out = new float[s.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = s[i] / d;
        }
        return sample.with(out);
    }

    @Override
    public double initNoiseSigma() {
        float max = 0;
        for (float s : sigmas) {
            max = Math.max(max, s);
        }
        return spacing.equals("leading") ? sqrt(max * max + 1f) : max;
    }

    /** x + σ·ε at the σ of {@code t} (diffusers' {@code add_noise} for σ-parameterised schedulers). */
    @Override
    public NdArray addNoise(NdArray original, NdArray noise, double t) {
        requireTimesteps();
        requireSameShape(noise, original, "the noise");
        float sigma = sigmas[indexForTimestep(t)];
        float[] o = original.data();
        float[] n = noise.data();
        float[] out = new float[o.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = o[i] + n[i] * sigma;
        }
        return original.with(out);
    }

    /** The inference timesteps for Euler-type spacing (float, not rounded for {@code linspace}), noisiest first. */
    protected double[] eulerTimesteps(int n) {
        return switch (spacing) {
            case "linspace" -> Numerics.reverse(Numerics.npLinspace(0, trainSteps - 1, n));
            case "leading" -> {
                double[] t = new double[n];
                int ratio = trainSteps / n;
                for (int i = 0; i < n; i++) {
                    t[i] = (double) (n - 1 - i) * ratio + stepsOffset;
                }
                yield t;
            }
            default -> {
                double[] t = Numerics.round(Numerics.npArange(trainSteps, 0, -(double) trainSteps / n));
                for (int i = 0; i < t.length; i++) {
                    t[i] -= 1;
                }
                yield t;
            }
        };
    }
}
