package io.triptych.schedulers;

import io.triptych.api.denoiser.NoiseSource;

/**
 * A stream of standard normal samples. Schedulers that add noise on a step draw from the
 * generator they are given, as diffusers' do from a {@code torch.Generator}; sharing one generator
 * between the initial noise and the steps reproduces a Python pipeline run for run. Not thread-safe.
 */
public interface NoiseGenerator {

    /** The next {@code count} samples, as Python draws one tensor of that many elements. */
    float[] randn(int count);

    /** A generator reproducing {@code source} seeded with {@code seed}. */
    static NoiseGenerator create(NoiseSource source, long seed) {
        return switch (source) {
            case TORCH -> new TorchGenerator(seed);
            case NUMPY -> new NumpyRandomState(seed);
        };
    }
}
