package io.triptych.schedulers;

import java.util.ArrayList;
import java.util.List;

import io.triptych.api.InvalidRequestException;

/**
 * Pseudo numerical methods for diffusion models (Liu et al. 2022, F-PNDM), as diffusers'
 * {@code PNDMScheduler}: three Runge–Kutta steps of four model evaluations each warm up a
 * fourth-order linear multistep (PLMS) method, or with {@code skip_prk_steps} (Stable Diffusion
 * v1's configuration) PLMS starts at once, its first step a second-order one that evaluates the
 * model twice at the same timestep. {@code set_alpha_to_one} picks ᾱ = 1 or ᾱ₀ past the last
 * timestep. Defaults: 1000 training steps, linear β 0.0001–0.02, {@code leading} spacing;
 * predictions epsilon and v_prediction.
 *
 * <p>As in diffusers, the method's position is a step counter: the steps must come in the order
 * of {@link #timesteps()}, and each one moves back {@code num_train_timesteps / steps} training
 * steps (half that within a Runge–Kutta step) whatever the spacing.
 */
public final class PNDMScheduler extends BaseScheduler {
    private static final float SIXTH = (float) (1.0 / 6);
    private static final float THIRD = (float) (1.0 / 3);
    private static final float TWENTY_FOURTH = (float) (1.0 / 24);

    private final boolean skipPrk;
    private final float finalAlphaCumprod;
    private int prkSteps;
    private int counter;
    /** The model outputs PLMS combines (at most four), oldest first. */
    private final List<float[]> ets = new ArrayList<>();
    /** The Runge–Kutta sum of model outputs so far; null for zero. */
    private float[] curModelOutput;
    /** The sample a Runge–Kutta step (or the first PLMS step) started from. */
    private float[] curSample;

    public PNDMScheduler(SchedulerConfig config) {
        super(config, 1000, "leading", false, List.of(Prediction.EPSILON, Prediction.V_PREDICTION));
        this.skipPrk = config.bool("skip_prk_steps", false);
        this.finalAlphaCumprod = config.bool("set_alpha_to_one", false) ? 1f : alphasCumprod[0];
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[] ascending = Numerics.reverse(integerTimesteps(steps));
        int n = ascending.length;
        double[] prk;
        double[] plms;
        if (skipPrk) {
            prk = new double[0];
            // every timestep, the second-to-last one twice, noisiest first
            plms = new double[n + (n > 1 ? 1 : 0)];
            int k = 0;
            plms[k++] = ascending[n - 1];
            for (int i = n - 2; i >= 0; i--) {
                plms[k++] = ascending[i];
                if (i == n - 2) {
                    plms[k++] = ascending[i];
                }
            }
        } else {
            // each of the last four timesteps t, noisiest first, as t, t + δ/2, t + δ/2, t+δ of the Runge–Kutta step to it
            int half = trainSteps / steps / 2;
            int m = Math.min(4, n);
            prk = new double[Math.max(4 * m - 4, 0)];
            for (int j = 0; j < prk.length; j++) {
                int i = prk.length - 1 - j;
                int point = (i + 1) / 2;
                prk[j] = ascending[n - m + point / 2] + (point % 2) * half;
            }
            plms = new double[Math.max(n - 3, 0)];
            for (int j = 0; j < plms.length; j++) {
                plms[j] = ascending[plms.length - 1 - j];
            }
            if (prk.length + plms.length == 0) {
                throw new InvalidRequestException("PNDMScheduler needs at least 2 inference steps unless skip_prk_steps is set");
            }
        }
        timesteps = new double[prk.length + plms.length];
        System.arraycopy(prk, 0, timesteps, 0, prk.length);
        System.arraycopy(plms, 0, timesteps, prk.length, plms.length);
        prkSteps = prk.length;
        inferenceSteps = steps;
        counter = 0;
        ets.clear();
        curModelOutput = null;
        curSample = null;
    }

    /**
     * The next step: Runge–Kutta while the warm-up lasts, then PLMS. {@code predOriginalSample}
     * (which diffusers leaves out) is the x₀ this step's model output implies at {@code t}.
     */
    @Override
    public StepOutput step(NdArray modelOutput, double t, NdArray sample, NoiseGenerator generator) {
        requireTimesteps();
        requireSameShape(modelOutput, sample, "the model output");
        int timestep = trainIndex(t);
        float[] prev = counter < prkSteps
                ? stepPrk(modelOutput.data(), timestep, sample.data())
                : stepPlms(modelOutput.data(), timestep, sample.data());
        counter++;
        return new StepOutput(sample.with(prev), sample.with(predictOriginal(modelOutput.data(), timestep, sample.data())));
    }

    private float[] stepPrk(float[] m, int t, float[] s) {
        int prevT = t - (counter % 2 == 1 ? 0 : trainSteps / inferenceSteps / 2);
        int from = (int) timesteps[counter / 4 * 4];
        float[] output = m;
        switch (counter % 4) {
            case 0 -> {
                curModelOutput = add(curModelOutput, SIXTH, m);
                ets.add(m);
                curSample = s;
            }
            case 1, 2 -> curModelOutput = add(curModelOutput, THIRD, m);
            default -> {
                output = add(curModelOutput, SIXTH, m);
                curModelOutput = null;
            }
        }
        return previousSample(curSample != null ? curSample : s, from, prevT, output);
    }

    private float[] stepPlms(float[] m, int t, float[] s) {
        if (!skipPrk && ets.size() < 3) {
            throw new IllegalStateException("PNDMScheduler runs PLMS only after its 12 Runge–Kutta steps");
        }
        int stride = trainSteps / inferenceSteps;
        int prevT = t - stride;
        int from = t;
        if (counter != 1) {
            if (ets.size() == 4) {
                ets.remove(0);
            }
            ets.add(m);
        } else {
            // the second evaluation of the first step: back to its start, with the mean slope
            prevT = t;
            from = trainIndex(t + stride);
        }
        int n = ets.size();
        float[] sampleFrom = s;
        if (n == 1 && counter == 0) {
            curSample = s;
            return previousSample(s, from, prevT, m);
        }
        float[] output = new float[m.length];
        if (n == 1 && counter == 1) {
            float[] e1 = ets.get(0);
            for (int i = 0; i < output.length; i++) {
                output[i] = (m[i] + e1[i]) / 2f;
            }
            sampleFrom = curSample;
            curSample = null;
        } else if (n == 2) {
            float[] e1 = ets.get(1);
            float[] e2 = ets.get(0);
            for (int i = 0; i < output.length; i++) {
                output[i] = (3f * e1[i] - e2[i]) / 2f;
            }
        } else if (n == 3) {
            float[] e1 = ets.get(2);
            float[] e2 = ets.get(1);
            float[] e3 = ets.get(0);
            for (int i = 0; i < output.length; i++) {
                output[i] = (23f * e1[i] - 16f * e2[i] + 5f * e3[i]) / 12f;
            }
        } else {
            float[] e1 = ets.get(3);
            float[] e2 = ets.get(2);
            float[] e3 = ets.get(1);
            float[] e4 = ets.get(0);
            for (int i = 0; i < output.length; i++) {
                output[i] = TWENTY_FOURTH * (55f * e1[i] - 59f * e2[i] + 37f * e3[i] - 9f * e4[i]);
            }
        }
        return previousSample(sampleFrom, from, prevT, output);
    }

    /** {@code sum + weight·m}, float32; a null sum is zero. */
    private static float[] add(float[] sum, float weight, float[] m) {
        float[] out = new float[m.length];
        for (int i = 0; i < out.length; i++) {
            float w = weight * m[i];
            out[i] = sum == null ? w : sum[i] + w;
        }
        return out;
    }

    /** Formula (9) of the PNDM paper: the sample at {@code prevT} from the one at {@code t} and the combined model output. */
    private float[] previousSample(float[] s, int t, int prevT, float[] m) {
        float alphaProd = alphasCumprod[t];
        float alphaProdPrev = prevT >= 0 ? alphasCumprod[trainIndex(prevT)] : finalAlphaCumprod;
        float betaProd = 1f - alphaProd;
        float betaProdPrev = 1f - alphaProdPrev;
        float[] eps = m;
        if (prediction == Prediction.V_PREDICTION) {
            float sa = sqrt(alphaProd);
            float sb = sqrt(betaProd);
            eps = new float[m.length];
            for (int i = 0; i < eps.length; i++) {
                eps[i] = sa * m[i] + sb * s[i];
            }
        }
        float sampleCoeff = sqrt(alphaProdPrev / alphaProd);
        float denominator = alphaProd * sqrt(betaProdPrev) + sqrt(alphaProd * betaProd * alphaProdPrev);
        float delta = alphaProdPrev - alphaProd;
        float[] prev = new float[s.length];
        for (int i = 0; i < prev.length; i++) {
            prev[i] = sampleCoeff * s[i] - delta * eps[i] / denominator;
        }
        return prev;
    }

    private float[] predictOriginal(float[] m, int t, float[] s) {
        float sa = sqrt(alphasCumprod[t]);
        float sb = sqrt(1f - alphasCumprod[t]);
        float[] x0 = new float[s.length];
        for (int i = 0; i < x0.length; i++) {
            x0[i] = prediction == Prediction.V_PREDICTION ? sa * s[i] - sb * m[i] : (s[i] - sb * m[i]) / sa;
        }
        return x0;
    }

    @Override
    public NdArray addNoise(NdArray original, NdArray noise, double t) {
        return DDPMScheduler.noiseAt(alphasCumprod[trainIndex(t)], original, noise);
    }
}
