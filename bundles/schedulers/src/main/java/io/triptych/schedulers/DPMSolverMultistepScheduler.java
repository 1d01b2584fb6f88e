package io.triptych.schedulers;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;

import io.triptych.api.InvalidRequestException;

/**
 * DPM-Solver and DPM-Solver++ multistep (Lu et al. 2022), as diffusers'
 * {@code DPMSolverMultistepScheduler}: {@code algorithm_type} dpmsolver++ (default), dpmsolver,
 * sde-dpmsolver++ or sde-dpmsolver; {@code solver_order} 1–3 (2 by default; 3 not with the SDE
 * variants); {@code solver_type} midpoint or heun; {@code lower_order_final} (true) and
 * {@code euler_at_final} for stability with few steps; Karras σ; {@code final_sigmas_type}
 * zero (default) or sigma_min; {@code lambda_min_clipped}; dynamic thresholding. Defaults: 1000
 * training steps, linear β, {@code linspace} spacing.
 */
public final class DPMSolverMultistepScheduler extends SigmaScheduler {
    private final String algorithm;
    private final boolean sde;
    private final boolean plusPlus;
    private final int solverOrder;
    private final boolean heun;
    private final boolean lowerOrderFinal;
    private final boolean eulerAtFinal;
    private final boolean karras;
    private final String finalSigmas;
    private final double lambdaMinClipped;
    /** The converted model outputs of the last {@code solverOrder} steps, newest last. */
    private final Deque<float[]> history = new ArrayDeque<>();
    private int lowerOrderNums;

    public DPMSolverMultistepScheduler(SchedulerConfig config) {
        super(config, 1000, "linspace", List.of(Prediction.EPSILON, Prediction.V_PREDICTION, Prediction.SAMPLE));
        this.algorithm = config.string("algorithm_type", "dpmsolver++");
        if (!List.of("dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++").contains(algorithm)) {
            throw new InvalidRequestException("algorithm_type must be dpmsolver, dpmsolver++, sde-dpmsolver or sde-dpmsolver++, not '" + algorithm + "'");
        }
        this.sde = algorithm.startsWith("sde-");
        this.plusPlus = algorithm.endsWith("++");
        this.solverOrder = config.integer("solver_order", 2);
        if (solverOrder < 1 || solverOrder > 3 || sde && solverOrder == 3) {
            throw new InvalidRequestException("solver_order must be 1, 2 or 3 (at most 2 for " + algorithm + "), not " + solverOrder);
        }
        String solverType = config.string("solver_type", "midpoint");
        if (!List.of("midpoint", "heun").contains(solverType)) {
            throw new InvalidRequestException("solver_type must be midpoint or heun, not '" + solverType + "'");
        }
        this.heun = solverType.equals("heun");
        this.lowerOrderFinal = config.bool("lower_order_final", true);
        this.eulerAtFinal = config.bool("euler_at_final", false);
        this.karras = config.bool("use_karras_sigmas", false);
        this.finalSigmas = config.string("final_sigmas_type", "zero");
        if (!List.of("zero", "sigma_min").contains(finalSigmas)) {
            throw new InvalidRequestException("final_sigmas_type must be zero or sigma_min, not '" + finalSigmas + "'");
        }
        this.lambdaMinClipped = config.number("lambda_min_clipped", Double.NEGATIVE_INFINITY);
        String variance = config.string("variance_type", null);
        if (variance != null) {
            throw new InvalidRequestException("DPMSolverMultistepScheduler: variance_type '" + variance + "' is not supported");
        }
        sigmas = trainSigmas();
    }

    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    @Override
    public NdArray scaleModelInput(NdArray sample, double t) {
        return sample;
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        int lastTimestep = trainSteps - clippedIndex();
        double[] t = switch (spacing) {
            case "linspace" -> {
                double[] all = Numerics.reverse(Numerics.round(Numerics.npLinspace(0, lastTimestep - 1, steps + 1)));
                yield Arrays.copyOf(all, steps);
            }
            case "leading" -> {
                int ratio = lastTimestep / (steps + 1);
                double[] l = new double[steps];
                for (int i = 0; i < steps; i++) {
                    l[i] = (double) (steps - i) * ratio + stepsOffset;
                }
                yield l;
            }
            default -> {
                double[] l = Numerics.round(Numerics.npArange(lastTimestep, 0, -(double) trainSteps / steps));
                for (int i = 0; i < l.length; i++) {
                    l[i] -= 1;
                }
                yield l;
            }
        };
        float[] train = trainSigmas();
        double[] s;
        double last;
        if (karras) {
            float[] logSigmas = logOf(train);
            s = Numerics.karrasSigmas(train[0], train[train.length - 1], steps);
            t = new double[s.length];
            for (int i = 0; i < s.length; i++) {
                t[i] = Math.rint(Numerics.sigmaToT(s[i], logSigmas));
            }
            last = finalSigmas.equals("zero") ? 0 : s[s.length - 1];
        } else {
            s = Numerics.interp(t, train);
            last = finalSigmas.equals("zero") ? 0 : train[0];
        }
        startLoop(t, s, (float) last);
        history.clear();
        lowerOrderNums = 0;
    }

    /** How many of the lowest-λ training steps {@code lambda_min_clipped} cuts off. */
    private int clippedIndex() {
        int below = 0;
        for (int i = 0; i < trainSteps; i++) {
            float alpha = sqrt(alphasCumprod[i]);
            float sigma = sqrt(1f - alphasCumprod[i]);
            float lambda = (float) Math.log(alpha) - (float) Math.log(sigma);
            if (lambda < lambdaMinClipped) {
                below++;
            }
        }
        return below;
    }

    /** α_t and σ_t of a noise level σ (VP parameterisation): 1/√(σ²+1) and σ·α_t, in float32. */
    private static float[] alphaSigma(float sigma) {
        float alpha = 1f / sqrt(sigma * sigma + 1f);
        return new float[] {alpha, sigma * alpha};
    }

    private static float lambda(float[] alphaSigma) {
        return (float) Math.log(alphaSigma[0]) - (float) Math.log(alphaSigma[1]);
    }

    @Override
    public StepOutput step(NdArray modelOutput, double t, NdArray sample, NoiseGenerator generator) {
        requireSameShape(modelOutput, sample, "the model output");
        int index = stepIndex(t);
        int n = timesteps.length;
        boolean lastStep = index == n - 1;
        boolean lowerFinal = lastStep && (eulerAtFinal || lowerOrderFinal && n < 15 || finalSigmas.equals("zero"));
        boolean lowerSecond = index == n - 2 && lowerOrderFinal && n < 15;

        float[] s = sample.data();
        float[] converted = convert(modelOutput.data(), s, sigmas[index], sample);
        if (history.size() == solverOrder) {
            history.removeFirst();
        }
        history.addLast(converted);
        float[] noise = null;
        if (sde) {
            if (generator == null) {
                throw new InvalidRequestException(algorithm + " needs a noise generator");
            }
            noise = generator.randn(s.length);
        }
        int order = solverOrder == 1 || lowerOrderNums < 1 || lowerFinal ? 1
                : solverOrder == 2 || lowerOrderNums < 2 || lowerSecond ? 2 : 3;
        float[] prev = update(order, index, s, noise);
        if (lowerOrderNums < solverOrder) {
            lowerOrderNums++;
        }
        advance();
        return new StepOutput(sample.with(prev), plusPlus ? sample.with(converted) : null);
    }

    /**
     * diffusers' {@code convert_model_output}: x₀ for DPM-Solver++, ε for DPM-Solver; only dynamic
     * thresholding applies (never clip_sample).
     */
    private float[] convert(float[] m, float[] s, float sigma, NdArray like) {
        float[] as = alphaSigma(sigma);
        float alpha = as[0];
        float sig = as[1];
        float[] out = new float[s.length];
        if (plusPlus) {
            for (int i = 0; i < s.length; i++) {
                out[i] = switch (prediction) {
                    case EPSILON -> (s[i] - sig * m[i]) / alpha;
                    case SAMPLE -> m[i];
                    case V_PREDICTION -> alpha * s[i] - sig * m[i];
                };
            }
            return thresholding() ? threshold(like.with(out)).data() : out;
        }
        for (int i = 0; i < s.length; i++) {
            out[i] = switch (prediction) {
                case EPSILON -> m[i];
                case SAMPLE -> (s[i] - alpha * m[i]) / sig;
                case V_PREDICTION -> alpha * m[i] + sig * s[i];
            };
        }
        if (thresholding()) {
            float[] x0 = new float[s.length];
            for (int i = 0; i < s.length; i++) {
                x0[i] = (s[i] - sig * out[i]) / alpha;
            }
            float[] th = threshold(like.with(x0)).data();
            for (int i = 0; i < s.length; i++) {
                out[i] = (s[i] - alpha * th[i]) / sig;
            }
        }
        return out;
    }

    /** One multistep update of the given order from step {@code index} to {@code index + 1}. */
    private float[] update(int order, int index, float[] s, float[] noise) {
        float[] at = alphaSigma(sigmas[index + 1]);
        float[] a0 = alphaSigma(sigmas[index]);
        float alphaT = at[0];
        float sigmaT = at[1];
        float lambdaT = lambda(at);
        float lambda0 = lambda(a0);
        float h = lambdaT - lambda0;
        Iterator<float[]> newestFirst = history.descendingIterator();
        float[] m0 = newestFirst.next();
        float[] d1 = null;
        float[] d2 = null;
        if (order >= 2) {
            float[] m1 = newestFirst.next();
            float lambda1 = lambda(alphaSigma(sigmas[index - 1]));
            float r0 = (lambda0 - lambda1) / h;
            if (order == 2) {
                d1 = scaledDifference(1f / r0, m0, m1);
            } else {
                float[] m2 = newestFirst.next();
                float lambda2 = lambda(alphaSigma(sigmas[index - 2]));
                float r1 = (lambda1 - lambda2) / h;
                float[] d10 = scaledDifference(1f / r0, m0, m1);
                float[] d11 = scaledDifference(1f / r1, m1, m2);
                float k1 = r0 / (r0 + r1);
                float k2 = 1f / (r0 + r1);
                d1 = new float[s.length];
                d2 = new float[s.length];
                for (int i = 0; i < s.length; i++) {
                    float diff = d10[i] - d11[i];
                    d1[i] = d10[i] + k1 * diff;
                    d2[i] = k2 * diff;
                }
            }
        }
        // x_t = cs·x + c0·D0 + c1·D1 + c2·D2 + cn·noise, coefficients as diffusers computes them
        float cs;
        float c0;
        float c1 = 0;
        float c2 = 0;
        float cn = 0;
        float alphaS = a0[0];
        float sigmaS = a0[1];
        float expNegH = (float) Math.exp(-h);
        float expH = (float) Math.exp(h);
        if (!sde && plusPlus) {
            cs = sigmaT / sigmaS;
            c0 = -(alphaT * (expNegH - 1f));
            if (order == 2) {
                c1 = heun ? alphaT * ((expNegH - 1f) / h + 1f) : -(0.5f * (alphaT * (expNegH - 1f)));
            } else if (order == 3) {
                c1 = alphaT * ((expNegH - 1f) / h + 1f);
                c2 = -(alphaT * ((expNegH - 1f + h) / (h * h) - 0.5f));
            }
        } else if (!sde) {
            cs = alphaT / alphaS;
            c0 = -(sigmaT * (expH - 1f));
            if (order == 2) {
                c1 = heun ? -(sigmaT * ((expH - 1f) / h - 1f)) : -(0.5f * (sigmaT * (expH - 1f)));
            } else if (order == 3) {
                c1 = -(sigmaT * ((expH - 1f) / h - 1f));
                c2 = -(sigmaT * ((expH - 1f - h) / (h * h) - 0.5f));
            }
        } else if (plusPlus) {
            float exp2 = (float) Math.exp(-2f * h);
            cs = sigmaT / sigmaS * expNegH;
            c0 = alphaT * (1f - exp2);
            if (order == 2) {
                c1 = heun ? alphaT * ((1f - exp2) / (-2f * h) + 1f) : 0.5f * (alphaT * (1f - exp2));
            }
            cn = sigmaT * sqrt(1f - exp2);
        } else {
            cs = alphaT / alphaS;
            c0 = -(2f * (sigmaT * (expH - 1f)));
            if (order == 2) {
                c1 = heun ? -(2f * (sigmaT * ((expH - 1f) / h - 1f))) : -(sigmaT * (expH - 1f));
            }
            cn = sigmaT * sqrt((float) Math.exp(2f * h) - 1f);
        }
        float[] x = new float[s.length];
        for (int i = 0; i < x.length; i++) {
            float v = cs * s[i] + c0 * m0[i];
            if (d1 != null) {
                v = v + c1 * d1[i];
            }
            if (d2 != null) {
                v = v + c2 * d2[i];
            }
            if (noise != null) {
                v = v + cn * noise[i];
            }
            x[i] = v;
        }
        return x;
    }

    private static float[] scaledDifference(float k, float[] a, float[] b) {
        float[] d = new float[a.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = k * (a[i] - b[i]);
        }
        return d;
    }

    /** α_t·x + σ_t·ε at the σ of {@code t}. */
    @Override
    public NdArray addNoise(NdArray original, NdArray noise, double t) {
        requireTimesteps();
        requireSameShape(noise, original, "the noise");
        float[] as = alphaSigma(sigmas[indexForTimestep(t)]);
        float[] o = original.data();
        float[] n = noise.data();
        float[] out = new float[o.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = as[0] * o[i] + as[1] * n[i];
        }
        return original.with(out);
    }
}
