package io.triptych.schedulers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.triptych.api.InvalidRequestException;

/**
 * diffusers' own scheduler tests (tests/schedulers/test_scheduler_*.py), with their published
 * sums and means of |sample|: the deterministic sample of shape [4, 3, 8, 8] holding
 * (256·c + 32·h + 4·w + b) / 768 at [b, c, h, w], the dummy model {@code sample · t / (t + 1)},
 * and {@code torch.manual_seed(0)} generators reproduced by {@link TorchGenerator}.
 */
class DiffusersFullLoopTest {

    private static NdArray dummySample(boolean flipped) {
        float[] d = new float[768];
        for (int b = 0; b < 4; b++) {
            for (int c = 0; c < 3; c++) {
                for (int h = 0; h < 8; h++) {
                    for (int w = 0; w < 8; w++) {
                        int idx = 256 * c + 32 * h + 4 * w + b;
                        d[((b * 3 + c) * 8 + h) * 8 + w] = (float) (flipped ? 767 - idx : idx) / 768f;
                    }
                }
            }
        }
        return NdArray.of(d, 4, 3, 8, 8);
    }

    private static NdArray model(NdArray sample, double t) {
        float[] s = sample.data();
        float[] out = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[i] * (float) t / (float) (t + 1);
        }
        return sample.with(out);
    }

    private static SchedulerConfig config(Map<String, ?> base, Object... more) {
        SchedulerConfig c = SchedulerConfig.of(base);
        for (int i = 0; i < more.length; i += 2) {
            c = c.with((String) more[i], more[i + 1]);
        }
        return c;
    }

    private static void assertSumMean(NdArray sample, double sum, double mean) {
        assertEquals(sum, sample.absSum(), 1e-2, "sum of |sample|");
        assertEquals(mean, sample.absMean(), 1e-3, "mean of |sample|");
    }

    // ---- DDIM: test_scheduler_ddim.py ----

    private static final Map<String, Object> DDIM = Map.of("num_train_timesteps", 1000, "beta_start", 0.0001, "beta_end", 0.02,
            "beta_schedule", "linear", "clip_sample", true);

    /** diffusers' full loop: 10 steps of the dummy model from the dummy sample; noise, where a scheduler takes any, from torch seed 0. */
    private static NdArray tenStepLoop(String className, SchedulerConfig c) {
        Scheduler s = Schedulers.create(className, c);
        s.setTimesteps(10);
        NoiseGenerator g = new TorchGenerator(0);
        NdArray sample = dummySample(false);
        for (double t : s.timesteps()) {
            sample = s.step(model(sample, t), t, sample, g).prevSample();
        }
        return sample;
    }

    @Test
    void ddimFullLoopNoNoise() {
        assertSumMean(tenStepLoop("DDIMScheduler", config(DDIM)), 172.0067, 0.223967);
    }

    @Test
    void ddimFullLoopVPrediction() {
        assertSumMean(tenStepLoop("DDIMScheduler", config(DDIM, "prediction_type", "v_prediction")), 52.5302, 0.0684);
    }

    @Test
    void ddimFullLoopSetAlphaToOne() {
        assertSumMean(tenStepLoop("DDIMScheduler", config(DDIM, "set_alpha_to_one", true, "beta_start", 0.01)), 149.8295, 0.1951);
        assertSumMean(tenStepLoop("DDIMScheduler", config(DDIM, "set_alpha_to_one", false, "beta_start", 0.01)), 149.0784, 0.1941);
    }

    @Test
    void ddimFullLoopWithNoise() {
        Scheduler s = Schedulers.create("DDIMScheduler", config(DDIM));
        s.setTimesteps(10);
        double[] ts = Arrays.copyOfRange(s.timesteps(), 8, 10);
        NdArray sample = s.addNoise(dummySample(false), dummySample(true), ts[0]);
        for (double t : ts) {
            sample = s.step(model(sample, t), t, sample, null).prevSample();
        }
        assertSumMean(sample, 354.5418, 0.4616);
    }

    @Test
    void ddimStepsOffsetAndVariance() {
        DDIMScheduler s = new DDIMScheduler(config(DDIM, "steps_offset", 1));
        s.setTimesteps(5);
        assertArrayEquals(new double[] {801, 601, 401, 201, 1}, s.timesteps());
        // test_variance: sigma_t² between training steps, through η = 1 on a zero model output
        assertEquals(0.02, new DDPMScheduler(config(DDIM)).variance(999, 998), 1e-5);
        assertEquals(0.00979, new DDPMScheduler(config(DDIM)).variance(487, 486), 1e-5);
    }

    // ---- DDPM: test_scheduler_ddpm.py (1000 steps, torch-seeded noise) ----

    private static final Map<String, Object> DDPM = Map.of("num_train_timesteps", 1000, "beta_start", 0.0001, "beta_end", 0.02,
            "beta_schedule", "linear", "variance_type", "fixed_small", "clip_sample", true);

    private static NdArray ddpmLoop(SchedulerConfig c, int tStart, boolean noised) {
        Scheduler s = Schedulers.create("DDPMScheduler", c);
        NoiseGenerator g = new TorchGenerator(0);
        double[] ts = Arrays.copyOfRange(s.timesteps(), tStart, s.timesteps().length);
        NdArray sample = dummySample(false);
        if (noised) {
            sample = s.addNoise(sample, dummySample(true), ts[0]);
        }
        for (double t : ts) {
            sample = s.step(model(sample, t), t, sample, g).prevSample();
        }
        return sample;
    }

    @Test
    void ddpmFullLoopNoNoise() {
        assertSumMean(ddpmLoop(config(DDPM), 0, false), 258.9606, 0.3372);
    }

    @Test
    void ddpmFullLoopVPrediction() {
        assertSumMean(ddpmLoop(config(DDPM, "prediction_type", "v_prediction"), 0, false), 202.0296, 0.2631);
    }

    @Test
    void ddpmFullLoopWithNoise() {
        assertSumMean(ddpmLoop(config(DDPM), 998, true), 387.9466, 0.5051);
    }

    @Test
    void ddpmVariance() {
        DDPMScheduler s = new DDPMScheduler(config(DDPM));
        assertEquals(0.0, s.variance(0, -1), 1e-5);
        assertEquals(0.00979, s.variance(487, 486), 1e-5);
        assertEquals(0.02, s.variance(999, 998), 1e-5);
    }

    // ---- Euler and Euler ancestral: test_scheduler_euler.py, test_scheduler_euler_ancestral.py (1100 train steps) ----

    private static final Map<String, Object> EULER = Map.of("num_train_timesteps", 1100, "beta_start", 0.0001, "beta_end", 0.02,
            "beta_schedule", "linear");

    /** The tests feed the scaled sample back as the step's sample, and so do we. */
    private static NdArray eulerLoop(String name, SchedulerConfig c, int tStart) {
        Scheduler s = Schedulers.create(name, c);
        s.setTimesteps(10);
        NoiseGenerator g = new TorchGenerator(0);
        NdArray sample = dummySample(false).scale(s.initNoiseSigma());
        double[] ts = Arrays.copyOfRange(s.timesteps(), tStart, 10);
        if (tStart > 0) {
            sample = s.addNoise(sample, dummySample(true), ts[0]);
        }
        for (double t : ts) {
            sample = s.scaleModelInput(sample, t);
            sample = s.step(model(sample, t), t, sample, g).prevSample();
        }
        return sample;
    }

    @Test
    void eulerFullLoopNoNoise() {
        assertSumMean(eulerLoop("EulerDiscreteScheduler", config(EULER), 0), 10.0807, 0.0131);
    }

    @Test
    void eulerFullLoopVPrediction() {
        assertSumMean(eulerLoop("EulerDiscreteScheduler", config(EULER, "prediction_type", "v_prediction"), 0), 0.0002, 2.2676e-06);
    }

    @Test
    void eulerFullLoopKarrasSigmas() {
        assertSumMean(eulerLoop("EulerDiscreteScheduler", config(EULER, "use_karras_sigmas", true), 0), 124.52299499511719, 0.16213932633399963);
    }

    @Test
    void eulerFullLoopWithNoise() {
        assertSumMean(eulerLoop("EulerDiscreteScheduler", config(EULER), 8), 57062.9297, 74.3007);
    }

    @Test
    void eulerAncestralFullLoopNoNoise() {
        assertSumMean(eulerLoop("EulerAncestralDiscreteScheduler", config(EULER), 0), 152.3192, 0.1983);
    }

    @Test
    void eulerAncestralFullLoopVPrediction() {
        assertSumMean(eulerLoop("EulerAncestralDiscreteScheduler", config(EULER, "prediction_type", "v_prediction"), 0), 108.4439, 0.1412);
    }

    @Test
    void eulerAncestralFullLoopWithNoise() {
        assertSumMean(eulerLoop("EulerAncestralDiscreteScheduler", config(EULER), 8), 56163.0508, 73.1290);
    }

    // ---- DPM-Solver++ multistep: test_scheduler_dpm_multi.py (published means) ----

    private static final Map<String, Object> DPM = Map.ofEntries(Map.entry("num_train_timesteps", 1000), Map.entry("beta_start", 0.0001),
            Map.entry("beta_end", 0.02), Map.entry("beta_schedule", "linear"), Map.entry("solver_order", 2),
            Map.entry("prediction_type", "epsilon"), Map.entry("thresholding", false), Map.entry("sample_max_value", 1.0),
            Map.entry("algorithm_type", "dpmsolver++"), Map.entry("solver_type", "midpoint"), Map.entry("lower_order_final", false),
            Map.entry("euler_at_final", false), Map.entry("final_sigmas_type", "sigma_min"));

    @Test
    void dpmFullLoopNoNoise() {
        assertEquals(0.3301, tenStepLoop("DPMSolverMultistepScheduler", config(DPM)).absMean(), 1e-3);
    }

    @Test
    void dpmFullLoopVPrediction() {
        assertEquals(0.2251, tenStepLoop("DPMSolverMultistepScheduler", config(DPM, "prediction_type", "v_prediction")).absMean(), 1e-3);
    }

    @Test
    void dpmFullLoopKarrasAndVPrediction() {
        NdArray x = tenStepLoop("DPMSolverMultistepScheduler", config(DPM, "prediction_type", "v_prediction", "use_karras_sigmas", true));
        assertEquals(0.2096, x.absMean(), 1e-3);
    }

    @Test
    void dpmFullLoopThresholding() {
        NdArray x = tenStepLoop("DPMSolverMultistepScheduler",
                config(DPM, "thresholding", true, "dynamic_thresholding_ratio", 0.87, "sample_max_value", 0.5));
        assertEquals(1.1364, x.absMean(), 1e-3);
    }

    @Test
    void dpmFullLoopWithNoise() {
        Scheduler s = Schedulers.create("DPMSolverMultistepScheduler", config(DPM));
        s.setTimesteps(10);
        double[] ts = Arrays.copyOfRange(s.timesteps(), 5, 10);
        NdArray sample = s.addNoise(dummySample(false), dummySample(true), ts[0]);
        for (double t : ts) {
            sample = s.step(model(sample, t), t, sample, null).prevSample();
        }
        assertSumMean(sample, 318.4111, 0.4146);
    }

    @Test
    void everySolverVariantStaysFinite() {
        for (String algorithm : new String[] {"dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++"}) {
            for (String type : new String[] {"midpoint", "heun"}) {
                for (int order = 1; order <= (algorithm.startsWith("sde") ? 2 : 3); order++) {
                    NdArray x = tenStepLoop("DPMSolverMultistepScheduler",
                            config(DPM, "algorithm_type", algorithm, "solver_type", type, "solver_order", order));
                    for (float v : x.data()) {
                        assertEquals(true, Float.isFinite(v), algorithm + " " + type + " order " + order);
                    }
                }
            }
        }
    }

    // ---- PNDM: test_scheduler_pndm.py (10 steps: 12 Runge–Kutta steps, then PLMS) ----

    private static final Map<String, Object> PNDM = Map.of("num_train_timesteps", 1000, "beta_start", 0.0001, "beta_end", 0.02,
            "beta_schedule", "linear");

    @Test
    void pndmFullLoopNoNoise() {
        assertSumMean(tenStepLoop("PNDMScheduler", config(PNDM)), 198.1318, 0.2580);
    }

    @Test
    void pndmFullLoopVPrediction() {
        assertSumMean(tenStepLoop("PNDMScheduler", config(PNDM, "prediction_type", "v_prediction")), 67.3986, 0.0878);
    }

    @Test
    void pndmFullLoopSetAlphaToOne() {
        assertSumMean(tenStepLoop("PNDMScheduler", config(PNDM, "set_alpha_to_one", true, "beta_start", 0.01)), 230.0399, 0.2995);
        assertSumMean(tenStepLoop("PNDMScheduler", config(PNDM, "set_alpha_to_one", false, "beta_start", 0.01)), 186.9482, 0.2434);
    }

    @Test
    void pndmTimesteps() {
        PNDMScheduler s = new PNDMScheduler(config(PNDM, "steps_offset", 1));
        s.setTimesteps(10);
        assertArrayEquals(new double[] {901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601, 601, 501, 401, 301, 201, 101, 1},
                s.timesteps());
        // Stable Diffusion v1: PLMS only, its first step evaluating the model twice at the second timestep
        s = new PNDMScheduler(config(PNDM, "steps_offset", 1, "skip_prk_steps", true));
        s.setTimesteps(10);
        assertArrayEquals(new double[] {901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1}, s.timesteps());
        s = new PNDMScheduler(config(PNDM, "skip_prk_steps", true, "timestep_spacing", "trailing"));
        s.setTimesteps(5);
        assertArrayEquals(new double[] {999, 799, 799, 599, 399, 199}, s.timesteps());
    }

    @Test
    void pndmFullLoopSkipPrkSteps() {
        // diffusers publishes no number for skip_prk_steps; these are from a float32 numpy
        // transcription of its step_plms, run on the same dummy sample and model
        assertSumMean(tenStepLoop("PNDMScheduler", config(PNDM, "skip_prk_steps", true)), 197.7155, 0.2574);
        assertSumMean(tenStepLoop("PNDMScheduler", config(PNDM, "skip_prk_steps", true, "steps_offset", 1)), 198.9698, 0.2591);
    }

    // ---- LMS: test_scheduler_lms.py (1100 train steps, the Euler tests' loop) ----

    @Test
    void lmsFullLoopNoNoise() {
        assertSumMean(eulerLoop("LMSDiscreteScheduler", config(EULER), 0), 1006.388, 1.31);
    }

    @Test
    void lmsFullLoopVPrediction() {
        assertSumMean(eulerLoop("LMSDiscreteScheduler", config(EULER, "prediction_type", "v_prediction"), 0), 0.0017, 2.2676e-06);
    }

    @Test
    void lmsFullLoopKarrasSigmas() {
        NdArray sample = eulerLoop("LMSDiscreteScheduler", config(EULER, "use_karras_sigmas", true), 0);
        assertEquals(3812.9927, sample.absSum(), 2e-2, "sum of |sample|");
        assertEquals(4.9648, sample.absMean(), 1e-3, "mean of |sample|");
    }

    @Test
    void lmsFullLoopWithNoise() {
        assertSumMean(eulerLoop("LMSDiscreteScheduler", config(EULER), 8), 27663.6895, 36.0204);
    }

    @Test
    void lmsCoefficientsAreTheIntegralsOfTheLagrangeBasis() {
        LMSDiscreteScheduler s = new LMSDiscreteScheduler(config(EULER));
        s.setTimesteps(10);
        for (int index = 0; index < 10; index++) {
            int nodes = Math.min(index + 1, 4);
            double sum = 0;
            for (int node = 0; node < nodes; node++) {
                sum += s.lmsCoefficient(nodes, index, node);
            }
            // the basis sums to 1, so the coefficients sum to the step in σ
            assertEquals(s.sigmas[index + 1] - s.sigmas[index], sum, 1e-6 * s.sigmas[index]);
        }
        // Adams–Bashforth on equal steps: 55/24, −59/24, 37/24, −9/24 of the step
        s.sigmas = new float[] {4, 3, 2, 1, 0};
        double[] ab4 = {55 / 24.0, -59 / 24.0, 37 / 24.0, -9 / 24.0};
        for (int node = 0; node < 4; node++) {
            assertEquals(-ab4[node], s.lmsCoefficient(4, 3, node), 1e-12);
        }
    }

    @Test
    void eulerAndLmsSigmaSpacings() {
        // on [0, 1] the beta schedule is scipy.stats.beta.ppf(1 - r, 0.6, 0.6) for r = 0, 0.1, …, 1
        double[] ppf = Numerics.betaSigmas(0, 1, 11);
        assertEquals(0.9604155944112192, ppf[1], 1e-12);
        assertEquals(0.5, ppf[5], 1e-12);
        assertEquals(0.03958440558878085, ppf[9], 1e-12);
        for (String schedule : new String[] {"karras", "exponential", "beta"}) {
            LMSDiscreteScheduler s = new LMSDiscreteScheduler(config(EULER, "use_" + schedule + "_sigmas", true));
            s.setTimesteps(10);
            double[] t = s.timesteps();
            assertEquals(1099, t[0], 1e-3, schedule);
            assertEquals(0, t[9], 1e-3, schedule);
            for (int i = 1; i < t.length; i++) {
                assertEquals(true, t[i] < t[i - 1], schedule + " timesteps descend");
            }
            // diffusers' Euler converts σ with the same helpers: the same schedule
            EulerDiscreteScheduler euler = new EulerDiscreteScheduler(config(EULER, "use_" + schedule + "_sigmas", true));
            euler.setTimesteps(10);
            assertArrayEquals(t, euler.timesteps(), schedule);
        }
        assertThrows(InvalidRequestException.class, () -> Schedulers.create("EulerDiscreteScheduler",
                config(EULER, "use_karras_sigmas", true, "use_exponential_sigmas", true)));
    }

    @Test
    void pndmAndLmsRejectInvalidConfigurations() {
        assertThrows(InvalidRequestException.class, () -> Schedulers.create("PNDMScheduler", config(PNDM, "prediction_type", "sample")));
        assertThrows(InvalidRequestException.class, () -> Schedulers.create("PNDMScheduler", config(PNDM, "timestep_spacing", "uniform")));
        assertThrows(InvalidRequestException.class, () -> Schedulers.create("PNDMScheduler", config(PNDM, "skip_prk_steps", "yes")));
        assertThrows(InvalidRequestException.class, () -> Schedulers.create("PNDMScheduler", config(PNDM, "beta_schedule", "sigmoid")));
        assertEquals("PNDMScheduler needs at least 2 inference steps unless skip_prk_steps is set",
                assertThrows(InvalidRequestException.class, () -> Schedulers.create("PNDMScheduler", config(PNDM)).setTimesteps(1)).getMessage());
        assertThrows(InvalidRequestException.class, () -> Schedulers.create("LMSDiscreteScheduler", config(EULER, "prediction_type", "v")));
        assertThrows(InvalidRequestException.class, () -> Schedulers.create("LMSDiscreteScheduler", config(EULER, "steps_offset", 0.5)));
        assertEquals("only one of use_karras_sigmas, use_exponential_sigmas and use_beta_sigmas can be set, not karras and beta",
                assertThrows(InvalidRequestException.class, () -> Schedulers.create("LMSDiscreteScheduler",
                        config(EULER, "use_karras_sigmas", true, "use_beta_sigmas", true))).getMessage());
        LMSDiscreteScheduler lms = new LMSDiscreteScheduler(config(EULER));
        lms.setTimesteps(10);
        double t = lms.timesteps()[0];
        assertThrows(InvalidRequestException.class, () -> lms.step(dummySample(false), t, dummySample(false), 0));
    }

    // ---- timestep spacing (diffusers' Table 2 of "Common Diffusion Noise Schedules...") ----

    @Test
    void timestepSpacings() {
        DDIMScheduler s = new DDIMScheduler(config(DDIM, "timestep_spacing", "trailing"));
        s.setTimesteps(10);
        assertArrayEquals(new double[] {999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, s.timesteps());
        s = new DDIMScheduler(config(DDIM, "timestep_spacing", "linspace"));
        s.setTimesteps(10);
        assertArrayEquals(new double[] {999, 888, 777, 666, 555, 444, 333, 222, 111, 0}, s.timesteps());
        s = new DDIMScheduler(config(DDIM));
        s.setTimesteps(10);
        assertArrayEquals(new double[] {900, 800, 700, 600, 500, 400, 300, 200, 100, 0}, s.timesteps());
        DPMSolverMultistepScheduler d = new DPMSolverMultistepScheduler(config(DPM));
        d.setTimesteps(10);
        assertArrayEquals(new double[] {999, 899, 799, 699, 599, 500, 400, 300, 200, 100}, d.timesteps());
    }

    @Test
    void badConfigurationsAreTypedErrors() {
        assertEquals("unknown scheduler 'HeunDiscreteScheduler' (supported: DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler, "
                        + "EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler, PNDMScheduler, LMSDiscreteScheduler)",
                assertThrows(InvalidRequestException.class, () -> Schedulers.create("HeunDiscreteScheduler", SchedulerConfig.empty())).getMessage());
        assertThrows(InvalidRequestException.class, () -> Schedulers.create("DDIMScheduler", config(DDIM, "beta_schedule", "sigmoid")));
        assertThrows(InvalidRequestException.class, () -> Schedulers.create("DDIMScheduler", config(DDIM, "num_train_timesteps", "many")));
        Scheduler s = Schedulers.create("DDIMScheduler", config(DDIM));
        assertEquals("the number of inference steps must be between 1 and num_train_timesteps (1000), not 0",
                assertThrows(InvalidRequestException.class, () -> s.setTimesteps(0)).getMessage());
    }

    @Test
    void readsDiffusersJson() {
        SchedulerConfig sd1 = SchedulerConfig.parse("""
                {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
                 "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
                 "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null}
                """);
        Scheduler pndm = Schedulers.create(sd1);
        assertEquals("PNDMScheduler", pndm.className());
        pndm.setTimesteps(50);
        assertEquals(51, pndm.timesteps().length);
        assertArrayEquals(new double[] {981, 961, 961, 941}, Arrays.copyOf(pndm.timesteps(), 4));
        assertEquals(1, pndm.timesteps()[50]);
        assertEquals(1.0, pndm.initNoiseSigma());
        Scheduler s = Schedulers.create(sd1.with(SchedulerConfig.CLASS_NAME, "EulerDiscreteScheduler"));
        s.setTimesteps(50);
        assertEquals(50, s.timesteps().length);
        assertEquals(14.6146, s.initNoiseSigma(), 1e-3);
    }
}
