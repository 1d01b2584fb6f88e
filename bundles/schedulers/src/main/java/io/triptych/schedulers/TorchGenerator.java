package io.triptych.schedulers;

/**
 * Reproduces torch's CPU generator bit for bit: {@code torch.manual_seed(seed)} followed by
 * {@code torch.randn(shape)} of float32, as diffusers' {@code randn_tensor} draws on the CPU.
 *
 * <p>A draw of 16 or more elements follows torch's vectorised path on x86-64 with AVX2 (the
 * usual build): all uniforms first ({@code (u32 & 0xFFFFFF) · 2⁻²⁴}), then Box–Muller in blocks of
 * 16 with the Cephes-polynomial {@code log}/{@code sincos} of {@code avx_mathfun.h} in float32;
 * when the count is not a multiple of 16 the last 16 values are redrawn from 16 fresh uniforms.
 * Smaller draws take torch's scalar path: double-precision Box–Muller whose second value is kept
 * in the generator for the next scalar draw.
 */
public final class TorchGenerator implements NoiseGenerator {
    private static final float TWO_PI = (float) (2.0 * Math.PI);
    private final MersenneTwister mt;
    private boolean hasNextNormal;
    private double nextNormal;

    /** Seeds like {@code torch.manual_seed(seed)} (the low 32 bits feed MT19937). */
    public TorchGenerator(long seed) {
        mt = new MersenneTwister(seed);
    }

    /** The next float in [0, 1) with 24 random bits, as torch's {@code uniform_real_distribution<float>}. */
    public float nextFloat() {
        return (mt.nextUnsigned() & 0xFFFFFF) * 0x1p-24f;
    }

    /** The next double in [0, 1) with 53 random bits, as torch's {@code uniform_real_distribution<double>}. */
    public double nextDouble() {
        long hi = mt.nextUnsigned();
        long lo = mt.nextUnsigned();
        return ((hi << 32 | lo) & ((1L << 53) - 1)) * 0x1p-53;
    }

    @Override
    public float[] randn(int count) {
        float[] out = new float[count];
        if (count >= 16) {
            for (int i = 0; i < count; i++) {
                out[i] = nextFloat();
            }
            for (int i = 0; i + 16 <= count; i += 16) {
                boxMuller16(out, i);
            }
            if (count % 16 != 0) {
                int tail = count - 16;
                for (int i = 0; i < 16; i++) {
                    out[tail + i] = nextFloat();
                }
                boxMuller16(out, tail);
            }
        } else {
            for (int i = 0; i < count; i++) {
                out[i] = (float) scalarNormal();
            }
        }
        return out;
    }

    private double scalarNormal() {
        if (hasNextNormal) {
            hasNextNormal = false;
            return nextNormal;
        }
        double u1 = nextDouble();
        double u2 = nextDouble();
        double r = Math.sqrt(-2.0 * Math.log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        nextNormal = r * Math.sin(theta);
        hasNextNormal = true;
        return r * Math.cos(theta);
    }

    /** torch's {@code normal_fill_16_AVX2} with mean 0 and std 1: uniforms in, normals out. */
    private static void boxMuller16(float[] d, int at) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1f - d[at + j];
            float u2 = d[at + j + 8];
            float radius = (float) Math.sqrt(-2f * AvxMathFun.log(u1));
            float theta = TWO_PI * u2;
            float[] sc = AvxMathFun.sincos(theta);
            d[at + j] = radius * sc[1];
            d[at + j + 8] = radius * sc[0];
        }
    }
}
