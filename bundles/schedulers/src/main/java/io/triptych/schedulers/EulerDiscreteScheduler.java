package io.triptych.schedulers;

import java.util.List;

import io.triptych.api.InvalidRequestException;

/**
 * Euler's method on the probability-flow ODE (Karras et al. 2022, Algorithm 2), as diffusers'
 * {@code EulerDiscreteScheduler}: σ interpolated linearly at fractional timesteps, or Karras,
 * exponential or Beta σ ({@code use_karras_sigmas}, {@code use_exponential_sigmas},
 * {@code use_beta_sigmas}, with optional {@code sigma_min}/{@code sigma_max}); the last σ is 0
 * or σ_min ({@code final_sigmas_type}). Stochastic churn ({@link #churn}) defaults to none; the
 * step still draws (and discards) noise from the generator, as diffusers does, so shared
 * generators stay in step with Python. Defaults: 1000 training steps, linear β, {@code linspace}.
 */
public final class EulerDiscreteScheduler extends SigmaScheduler {
    /** {@code karras}, {@code exponential}, {@code beta}, or {@code null} for interpolated σs. */
    private final String sigmaSpacing;
    private final String finalSigmas;
    private final boolean continuousTimesteps;
    private double sChurn;
    private double sTmin;
    private double sTmax = Double.POSITIVE_INFINITY;
    private double sNoise = 1.0;

    public EulerDiscreteScheduler(SchedulerConfig config) {
        super(config, 1000, "linspace", List.of(Prediction.EPSILON, Prediction.V_PREDICTION, Prediction.SAMPLE));
        this.sigmaSpacing = sigmaSpacing(config);
        this.finalSigmas = config.string("final_sigmas_type", "zero");
        if (!List.of("zero", "sigma_min").contains(finalSigmas)) {
            throw new InvalidRequestException("final_sigmas_type must be zero or sigma_min, not '" + finalSigmas + "'");
        }
        String interpolation = config.string("interpolation_type", "linear");
        if (!interpolation.equals("linear")) {
            throw new InvalidRequestException("EulerDiscreteScheduler: interpolation_type '" + interpolation + "' is not supported (linear)");
        }
        String timestepType = config.string("timestep_type", "discrete");
        if (!List.of("discrete", "continuous").contains(timestepType)) {
            throw new InvalidRequestException("timestep_type must be discrete or continuous, not '" + timestepType + "'");
        }
        this.continuousTimesteps = timestepType.equals("continuous") && prediction == Prediction.V_PREDICTION;
        setTimesteps(trainSteps);
        inferenceSteps = 0;
    }

    /** Sets the churn of Karras et al.'s stochastic sampler (diffusers' {@code s_churn}, {@code s_tmin}, {@code s_tmax}, {@code s_noise}). */
    public EulerDiscreteScheduler churn(double churn, double tmin, double tmax, double noise) {
        this.sChurn = churn;
        this.sTmin = tmin;
        this.sTmax = tmax;
        this.sNoise = noise;
        return this;
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        Schedule schedule = floatSchedule(steps, sigmaSpacing);
        startLoop(schedule.timesteps(), schedule.sigmas(), finalSigmas.equals("zero") ? 0f : trainSigmas()[0]);
        if (continuousTimesteps) {
            for (int i = 0; i < timesteps.length; i++) {
                timesteps[i] = 0.25f * (float) Math.log(sigmas[i]);
            }
        }
    }

    @Override
    public StepOutput step(NdArray modelOutput, double t, NdArray sample, NoiseGenerator generator) {
        requireSameShape(modelOutput, sample, "the model output");
        int index = stepIndex(t);
        float sigma = sigmas[index];
        float gamma = sTmin <= sigma && sigma <= sTmax ? (float) Math.min(sChurn / (sigmas.length - 1), Math.sqrt(2) - 1) : 0f;
        float[] s = sample.data();
        float[] noise = generator == null ? null : generator.randn(s.length);
        float sigmaHat = sigma * (gamma + 1f);
        if (gamma > 0) {
            if (noise == null) {
                throw new InvalidRequestException("EulerDiscreteScheduler with churn needs a noise generator");
            }
            float[] churned = new float[s.length];
            float add = sqrt(sigmaHat * sigmaHat - sigma * sigma);
            for (int i = 0; i < s.length; i++) {
                churned[i] = s[i] + noise[i] * (float) sNoise * add;
            }
            s = churned;
        }
        float[] x0 = predictOriginal(modelOutput.data(), s, prediction == Prediction.EPSILON ? sigmaHat : sigma);
        float dt = sigmas[index + 1] - sigmaHat;
        float[] prev = new float[s.length];
        for (int i = 0; i < prev.length; i++) {
            float derivative = (s[i] - x0[i]) / sigmaHat;
            prev[i] = s[i] + derivative * dt;
        }
        advance();
        return new StepOutput(sample.with(prev), sample.with(x0));
    }
}
