package io.triptych.schedulers;

/**
 * The result of one scheduler step, as diffusers' {@code SchedulerOutput}.
 *
 * @param prevSample the sample at the previous (less noisy) timestep: the next loop input
 * @param predOriginalSample the denoised sample x₀ predicted at this step, for previews
 */
public record StepOutput(NdArray prevSample, NdArray predOriginalSample) {
}
