package io.triptych.schedulers;

import java.util.ArrayList;
import java.util.List;

import io.triptych.api.InvalidRequestException;

/**
 * Linear multistep sampling on the probability-flow ODE in σ (Katherine Crowson's k-diffusion
 * {@code sample_lms}), as diffusers' {@code LMSDiscreteScheduler}: each step integrates the
 * Lagrange polynomial through the last {@code order} derivatives (4 by default, fewer while
 * fewer steps have been taken) from σ to the next σ. σ is interpolated linearly at fractional
 * timesteps, or follows Karras et al. ({@code use_karras_sigmas}), an exponential
 * ({@code use_exponential_sigmas}) or a Beta(0.6, 0.6) ({@code use_beta_sigmas}) schedule between
 * the same end points (or {@code sigma_min}/{@code sigma_max}); the last σ is 0. Defaults: 1000 training steps, linear β, {@code linspace}
 * spacing; predictions epsilon, v_prediction and sample.
 */
public final class LMSDiscreteScheduler extends SigmaScheduler {
    /** diffusers' default {@code order} argument of {@code step}. */
    public static final int DEFAULT_ORDER = 4;

    /** {@code karras}, {@code exponential}, {@code beta}, or {@code null} for interpolated σs. */
    private final String sigmaSpacing;
    /** The ODE derivatives of the last steps, oldest first. */
    private final List<float[]> derivatives = new ArrayList<>();

    public LMSDiscreteScheduler(SchedulerConfig config) {
        super(config, 1000, "linspace", List.of(Prediction.EPSILON, Prediction.V_PREDICTION, Prediction.SAMPLE));
        this.sigmaSpacing = sigmaSpacing(config);
        setTimesteps(trainSteps);
        inferenceSteps = 0;
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        Schedule schedule = floatSchedule(steps, sigmaSpacing);
        startLoop(schedule.timesteps(), schedule.sigmas(), 0f);
        derivatives.clear();
    }

    /** A step of order {@value #DEFAULT_ORDER}, diffusers' default. */
    @Override
    public StepOutput step(NdArray modelOutput, double t, NdArray sample, NoiseGenerator generator) {
        return step(modelOutput, t, sample, DEFAULT_ORDER);
    }

    /**
     * A step combining up to {@code order} derivatives, as diffusers' {@code step(..., order)}.
     *
     * @throws InvalidRequestException if {@code order} is less than 1
     */
    public StepOutput step(NdArray modelOutput, double t, NdArray sample, int order) {
        if (order < 1) {
            throw new InvalidRequestException("the LMS order must be at least 1, not " + order);
        }
        requireSameShape(modelOutput, sample, "the model output");
        int index = stepIndex(t);
        float sigma = sigmas[index];
        float[] s = sample.data();
        float[] x0 = predictOriginal(modelOutput.data(), s, sigma);
        float[] derivative = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            derivative[i] = (s[i] - x0[i]) / sigma;
        }
        derivatives.add(derivative);
        while (derivatives.size() > order) {
            derivatives.remove(0);
        }
        // as diffusers: the coefficients are those of min(step + 1, order) nodes, even when fewer
        // derivatives were kept (a loop that started mid-schedule), and pair with the newest first
        int nodes = Math.min(index + 1, order);
        int terms = Math.min(nodes, derivatives.size());
        float[] sum = null;
        for (int j = 0; j < terms; j++) {
            float c = (float) lmsCoefficient(nodes, index, j);
            float[] d = derivatives.get(derivatives.size() - 1 - j);
            float[] next = new float[s.length];
            for (int i = 0; i < next.length; i++) {
                float term = c * d[i];
                next[i] = sum == null ? term : sum[i] + term;
            }
            sum = next;
        }
        float[] prev = new float[s.length];
        for (int i = 0; i < prev.length; i++) {
            prev[i] = s[i] + sum[i];
        }
        advance();
        return new StepOutput(sample.with(prev), sample.with(x0));
    }

    /**
     * ∫ from σ[index] to σ[index + 1] of the Lagrange basis polynomial that is 1 at σ[index − node]
     * and 0 at the other σ[index − k], k &lt; {@code nodes}. diffusers integrates it numerically
     * ({@code scipy.integrate.quad}); its degree is below {@code nodes}, so we integrate the
     * expanded polynomial exactly, in powers of τ − σ[index] to keep the small terms. The
     * differences of nodes in the denominator are float32, as diffusers computes them.
     */
    double lmsCoefficient(int nodes, int index, int node) {
        double origin = sigmas[index];
        double[] poly = {1};
        double denominator = 1;
        for (int k = 0; k < nodes; k++) {
            if (k == node) {
                continue;
            }
            double root = sigmas[index - k] - origin;
            double[] next = new double[poly.length + 1];
            for (int p = 0; p < poly.length; p++) {
                next[p + 1] += poly[p];
                next[p] -= root * poly[p];
            }
            poly = next;
            denominator *= sigmas[index - node] - sigmas[index - k];
        }
        double h = sigmas[index + 1] - origin;
        double integral = 0;
        double power = h;
        for (int p = 0; p < poly.length; p++) {
            integral += poly[p] * power / (p + 1);
            power *= h;
        }
        return integral / denominator;
    }
}
