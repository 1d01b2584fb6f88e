package io.triptych.api.denoiser;

import org.osgi.annotation.versioning.ConsumerType;

/** Told after every denoising step; called on the denoising thread. */
@ConsumerType
@FunctionalInterface
public interface ProgressListener {

    /**
     * @param step the step just finished, from 1
     * @param steps the number of steps of this run
     * @param timestep the scheduler timestep of the step
     */
    void onStep(int step, int steps, double timestep);
}
