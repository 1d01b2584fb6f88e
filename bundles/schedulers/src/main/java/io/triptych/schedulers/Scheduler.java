package io.triptych.schedulers;

/**
 * A diffusion scheduler with the semantics of the diffusers class it is named after. Stateful like
 * diffusers' (multistep history, step index): use one instance per sampling loop, never
 * concurrently, and call {@link #setTimesteps} before each loop.
 *
 * <p>Timesteps are doubles because some schedulers use fractional ones (Euler); integer
 * schedules hold whole numbers.
 */
public interface Scheduler {

    /** The diffusers class name, e.g. {@code DDIMScheduler}. */
    String className();

    /** The configuration this scheduler was built from (given values; defaults are the class's). */
    SchedulerConfig config();

    /** How many model evaluations a step consumes (1 for the schedulers here). */
    default int order() {
        return 1;
    }

    /**
     * Chooses the inference timesteps and resets the loop state.
     *
     * @throws io.triptych.api.InvalidRequestException if {@code steps} is out of range
     */
    void setTimesteps(int steps);

    /** The timesteps of the loop, noisiest first; a copy. */
    double[] timesteps();

    /** The standard deviation of the initial noise (multiply fresh Gaussian noise by it). */
    double initNoiseSigma();

    /** Scales the model input for timestep {@code t} (identity for DDPM/DDIM/DPM-Solver). */
    NdArray scaleModelInput(NdArray sample, double t);

    /**
     * Predicts the sample at the previous timestep from the model output at {@code t}.
     *
     * @param generator noise for stochastic schedulers; may be {@code null} for deterministic ones
     */
    StepOutput step(NdArray modelOutput, double t, NdArray sample, NoiseGenerator generator);

    /** Noises clean samples to the level of timestep {@code t} (img2img, training-style noising). */
    NdArray addNoise(NdArray original, NdArray noise, double t);
}
