package io.triptych.schedulers;

/**
 * Reproduces {@code numpy.random.RandomState(seed).randn(...).astype(np.float32)}, as diffusers'
 * ONNX pipelines draw their latents, bit for bit: MT19937 seeded by {@code init_genrand}, 53-bit
 * doubles from two draws, and the polar (Marsaglia) method, which keeps its second value for the
 * next call. The uniforms are exact; in double precision Java's {@code Math.log} differs from
 * glibc's by one ulp for about 3 in 10,000 values, which the float32 result never showed
 * (100,001 values compared).
 */
public final class NumpyRandomState implements NoiseGenerator {
    private final MersenneTwister mt;
    private boolean hasGauss;
    private double gauss;

    /** @param seed in [0, 2³²), as numpy requires */
    public NumpyRandomState(long seed) {
        if (seed < 0 || seed > 0xFFFFFFFFL) {
            throw new IllegalArgumentException("a numpy seed must be between 0 and 2**32 - 1, not " + seed);
        }
        mt = new MersenneTwister(seed);
    }

    /** The next double in [0, 1), as numpy's {@code random_sample}. */
    public double nextDouble() {
        long a = mt.nextUnsigned() >>> 5;
        long b = mt.nextUnsigned() >>> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    /** The next standard normal value in double precision, as {@code standard_normal}. */
    public double nextGaussian() {
        if (hasGauss) {
            hasGauss = false;
            return gauss;
        }
        double x1;
        double x2;
        double r2;
        do {
            x1 = 2.0 * nextDouble() - 1.0;
            x2 = 2.0 * nextDouble() - 1.0;
            r2 = x1 * x1 + x2 * x2;
        } while (r2 >= 1.0 || r2 == 0.0);
        double f = Math.sqrt(-2.0 * Math.log(r2) / r2);
        gauss = f * x1;
        hasGauss = true;
        return f * x2;
    }

    @Override
    public float[] randn(int count) {
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) nextGaussian();
        }
        return out;
    }
}
