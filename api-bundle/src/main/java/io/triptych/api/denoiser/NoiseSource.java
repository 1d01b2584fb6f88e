package io.triptych.api.denoiser;

/** Which Python random stream the initial noise reproduces, bit for bit, for a given seed. */
public enum NoiseSource {
    /** {@code torch.manual_seed(seed)} then {@code torch.randn} on the CPU generator. */
    TORCH,
    /** {@code numpy.random.RandomState(seed).randn}. */
    NUMPY
}
