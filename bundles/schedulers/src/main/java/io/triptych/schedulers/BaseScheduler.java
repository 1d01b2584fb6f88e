package io.triptych.schedulers;

import java.util.Arrays;
import java.util.List;

import io.triptych.api.InvalidRequestException;

/**
 * What diffusers' discrete-time schedulers share: the β schedule and ᾱ (float32, as torch keeps
 * them), the prediction type, the spacing of inference timesteps, and clipping / dynamic
 * thresholding of the predicted x₀.
 */
abstract class BaseScheduler implements Scheduler {
    /** What the model predicts. */
    enum Prediction {
        EPSILON, V_PREDICTION, SAMPLE;

        static Prediction of(String name, List<Prediction> supported, String className) {
            for (Prediction p : supported) {
                if (p.name().equalsIgnoreCase(name)) {
                    return p;
                }
            }
            throw new InvalidRequestException(className + " does not support prediction_type '" + name + "' (supported: "
                    + supported.stream().map(p -> p.name().toLowerCase()).toList() + ")");
        }
    }

    protected final SchedulerConfig config;
    protected final int trainSteps;
    protected final float[] alphasCumprod;
    protected final Prediction prediction;
    protected final String spacing;
    protected final int stepsOffset;
    private final boolean thresholding;
    private final float thresholdRatio;
    private final float sampleMaxValue;
    private final boolean clipSample;
    private final float clipRange;
    protected double[] timesteps = new double[0];
    protected int inferenceSteps;

    BaseScheduler(SchedulerConfig config, int defaultTrainSteps, String defaultSpacing, boolean defaultClip,
                  List<Prediction> predictions) {
        this.config = config;
        this.trainSteps = config.integer("num_train_timesteps", defaultTrainSteps);
        if (trainSteps < 2) {
            throw new InvalidRequestException("num_train_timesteps must be at least 2, not " + trainSteps);
        }
        if (config.bool("rescale_betas_zero_snr", false)) {
            throw new InvalidRequestException(className() + ": rescale_betas_zero_snr is not supported");
        }
        float[] betas = betas(config, trainSteps);
        float[] alphas = new float[trainSteps];
        for (int i = 0; i < trainSteps; i++) {
            alphas[i] = 1f - betas[i];
        }
        this.alphasCumprod = Numerics.cumprod(alphas);
        this.prediction = Prediction.of(config.string("prediction_type", "epsilon"), predictions, className());
        this.spacing = config.string("timestep_spacing", defaultSpacing);
        if (!List.of("linspace", "leading", "trailing").contains(spacing)) {
            throw new InvalidRequestException("timestep_spacing must be linspace, leading or trailing, not '" + spacing + "'");
        }
        this.stepsOffset = config.integer("steps_offset", 0);
        this.thresholding = config.bool("thresholding", false);
        this.thresholdRatio = (float) config.number("dynamic_thresholding_ratio", 0.995);
        this.sampleMaxValue = (float) config.number("sample_max_value", 1.0);
        this.clipSample = config.bool("clip_sample", defaultClip);
        this.clipRange = (float) config.number("clip_sample_range", 1.0);
    }

    /** β per training step: {@code trained_betas}, or {@code linear}, {@code scaled_linear}, {@code squaredcos_cap_v2}. */
    static float[] betas(SchedulerConfig config, int n) {
        double[] trained = config.numbers("trained_betas");
        if (trained != null) {
            if (trained.length != n) {
                throw new InvalidRequestException("trained_betas has " + trained.length + " values, not num_train_timesteps = " + n);
            }
            float[] b = new float[n];
            for (int i = 0; i < n; i++) {
                b[i] = (float) trained[i];
            }
            return b;
        }
        double start = config.number("beta_start", 0.0001);
        double end = config.number("beta_end", 0.02);
        String schedule = config.string("beta_schedule", "linear");
        switch (schedule) {
            case "linear":
                return Numerics.torchLinspace(start, end, n);
            case "scaled_linear": {
                float[] b = Numerics.torchLinspace(Math.sqrt(start), Math.sqrt(end), n);
                for (int i = 0; i < n; i++) {
                    b[i] = b[i] * b[i];
                }
                return b;
            }
            case "squaredcos_cap_v2": {
                // the Improved DDPM cosine schedule, β capped at 0.999, computed in Python floats
                float[] b = new float[n];
                for (int i = 0; i < n; i++) {
                    double t1 = (double) i / n;
                    double t2 = (double) (i + 1) / n;
                    b[i] = (float) Math.min(1 - cosineAlphaBar(t2) / cosineAlphaBar(t1), 0.999);
                }
                return b;
            }
            default:
                throw new InvalidRequestException("beta_schedule must be linear, scaled_linear or squaredcos_cap_v2, not '" + schedule + "'");
        }
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    @Override
    public String className() {
        return getClass().getSimpleName();
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    /** ᾱ per training step (float32), for callers that need the raw schedule. */
    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    @Override
    public NdArray scaleModelInput(NdArray sample, double t) {
        return sample;
    }

    protected void checkSteps(int steps) {
        if (steps < 1 || steps > trainSteps) {
            throw new InvalidRequestException("the number of inference steps must be between 1 and num_train_timesteps ("
                    + trainSteps + "), not " + steps);
        }
    }

    /** The integer timesteps of DDPM and DDIM for {@link #spacing}, noisiest first. */
    protected double[] integerTimesteps(int n) {
        double[] t;
        switch (spacing) {
            case "linspace" -> t = Numerics.reverse(Numerics.round(Numerics.npLinspace(0, trainSteps - 1, n)));
            case "leading" -> {
                int ratio = trainSteps / n;
                t = new double[n];
                for (int i = 0; i < n; i++) {
                    t[i] = (double) (n - 1 - i) * ratio + stepsOffset;
                }
            }
            default -> {
                t = Numerics.round(Numerics.npArange(trainSteps, 0, -(double) trainSteps / n));
                for (int i = 0; i < t.length; i++) {
                    t[i] -= 1;
                }
            }
        }
        return t;
    }

    /** Whether dynamic thresholding of x₀ is on. */
    protected boolean thresholding() {
        return thresholding;
    }

    /** Clips x₀ to ±{@code clip_sample_range} or applies dynamic thresholding, as configured. */
    protected NdArray clipOrThreshold(NdArray x0) {
        if (thresholding) {
            return threshold(x0);
        }
        return clipSample ? clip(x0, clipRange) : x0;
    }

    protected static NdArray clip(NdArray x, float range) {
        float[] out = new float[x.size()];
        float[] d = x.data();
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.min(Math.max(d[i], -range), range);
        }
        return x.with(out);
    }

    /**
     * Dynamic thresholding (Imagen, Saharia et al. 2022): per batch item, s = the
     * {@code dynamic_thresholding_ratio} quantile of |x₀|, clamped to [1, {@code sample_max_value}]
     * (max wins, as torch.clamp); x₀ is clamped to ±s and divided by s.
     */
    protected NdArray threshold(NdArray x0) {
        int batch = x0.batch();
        int per = x0.size() / Math.max(batch, 1);
        float[] in = x0.data();
        float[] out = new float[in.length];
        for (int b = 0; b < batch; b++) {
            float[] abs = new float[per];
            for (int i = 0; i < per; i++) {
                abs[i] = Math.abs(in[b * per + i]);
            }
            float s = Math.min(Math.max(Numerics.quantile(abs, thresholdRatio), 1f), sampleMaxValue);
            for (int i = 0; i < per; i++) {
                out[b * per + i] = Math.min(Math.max(in[b * per + i], -s), s) / s;
            }
        }
        return x0.with(out);
    }

    protected static void requireSameShape(NdArray a, NdArray b, String what) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new InvalidRequestException(what + " has shape " + Arrays.toString(a.shape()) + ", the sample "
                    + Arrays.toString(b.shape()));
        }
    }

    protected int trainIndex(double t) {
        int i = (int) t;
        if (i != t || i < 0 || i >= trainSteps) {
            throw new InvalidRequestException(className() + ": timestep " + t + " is not a training step in [0, " + trainSteps + ")");
        }
        return i;
    }

    protected void requireTimesteps() {
        if (inferenceSteps == 0) {
            throw new IllegalStateException("call setTimesteps before stepping " + className());
        }
    }

    protected static float sqrt(float v) {
        return (float) Math.sqrt(v);
    }
}
