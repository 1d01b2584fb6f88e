package io.triptych.schedulers;

import java.util.Arrays;

import org.apache.commons.numbers.gamma.RegularizedBeta;

/**
 * The array routines diffusers' schedulers are built from, rounded as torch (CPU, AVX2 build)
 * and numpy round them where that changes results.
 */
final class Numerics {
    private Numerics() {
    }

    /**
     * {@code torch.linspace(start, end, n, dtype=float32)}: each vector of 8 starts from a fused
     * {@code start + step·i} (or {@code end − step·(n−1−i)} past halfway) and adds {@code k·step}.
     */
    static float[] torchLinspace(double start, double end, int n) {
        float s = (float) start;
        float e = (float) end;
        float[] out = new float[n];
        if (n == 1) {
            out[0] = s;
            return out;
        }
        float step = (e - s) / (n - 1);
        int half = n / 2;
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            for (int v = i; v < i + 16; v += 8) {
                float base = linspaceAt(s, e, step, half, n, v);
                for (int k = 0; k < 8; k++) {
                    out[v + k] = base + k * step;
                }
            }
        }
        for (; i < n; i++) {
            out[i] = linspaceAt(s, e, step, half, n, i);
        }
        return out;
    }

    private static float linspaceAt(float s, float e, float step, int half, int n, int i) {
        return i < half ? Math.fma(step, (float) i, s) : Math.fma(-step, (float) (n - i - 1), e);
    }

    /** {@code torch.cumprod} of float32 on the CPU: the running product is kept in double, each element rounded. */
    static float[] cumprod(float[] a) {
        float[] out = new float[a.length];
        double acc = 1;
        for (int i = 0; i < a.length; i++) {
            acc *= a[i];
            out[i] = (float) acc;
        }
        return out;
    }

    /** {@code numpy.linspace(start, stop, n)} in float64 (the last value is exactly {@code stop}). */
    static double[] npLinspace(double start, double stop, int n) {
        double[] y = new double[n];
        double step = n > 1 ? (stop - start) / (n - 1) : 0;
        for (int i = 0; i < n; i++) {
            y[i] = i * step + start;
        }
        if (n > 1) {
            y[n - 1] = stop;
        }
        return y;
    }

    /** {@code numpy.arange(start, stop, step)} for floats: {@code start + i·(second − first)}. */
    static double[] npArange(double start, double stop, double step) {
        int n = (int) Math.max(0, Math.ceil((stop - start) / step));
        double[] y = new double[n];
        double delta = (start + step) - start;
        for (int i = 0; i < n; i++) {
            y[i] = start + i * delta;
        }
        return y;
    }

    /** {@code numpy.round}: halves go to the even neighbour. */
    static double[] round(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.rint(a[i]);
        }
        return r;
    }

    static double[] reverse(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[a.length - 1 - i];
        }
        return r;
    }

    /** {@code numpy.interp(x, arange(len(fp)), fp)} in float64. */
    static double[] interp(double[] x, float[] fp) {
        double[] r = new double[x.length];
        int last = fp.length - 1;
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            if (v >= last) {
                r[i] = fp[last];
            } else if (v <= 0) {
                r[i] = fp[0];
            } else {
                int j = (int) Math.floor(v);
                r[i] = j == v ? fp[j] : ((double) fp[j + 1] - fp[j]) * (v - j) + fp[j];
            }
        }
        return r;
    }

    /** {@code torch.quantile(values, q)} (linear interpolation, torch's {@code lerp}) in float32. */
    static float quantile(float[] values, float q) {
        float[] sorted = values.clone();
        Arrays.sort(sorted);
        float rank = q * (sorted.length - 1);
        int below = (int) Math.floor(rank);
        int above = (int) Math.ceil(rank);
        float weight = rank - below;
        float lo = sorted[below];
        float hi = sorted[above];
        return weight < 0.5f ? lo + weight * (hi - lo) : hi - (hi - lo) * (1 - weight);
    }

    /** Karras et al. (2022) noise levels: ρ = 7 interpolation between {@code max} and {@code min}, in float64. */
    static double[] karrasSigmas(double sigmaMin, double sigmaMax, int n) {
        double rho = 7.0;
        double[] ramp = npLinspace(0, 1, n);
        double minInv = Math.pow(sigmaMin, 1 / rho);
        double maxInv = Math.pow(sigmaMax, 1 / rho);
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = Math.pow(maxInv + ramp[i] * (minInv - maxInv), rho);
        }
        return s;
    }

    /** diffusers' {@code _convert_to_exponential}: σ evenly spaced in log σ from {@code max} down to {@code min}, in float64. */
    static double[] exponentialSigmas(double sigmaMin, double sigmaMax, int n) {
        double[] s = npLinspace(Math.log(sigmaMax), Math.log(sigmaMin), n);
        for (int i = 0; i < n; i++) {
            s[i] = Math.exp(s[i]);
        }
        return s;
    }

    /**
     * diffusers' {@code _convert_to_beta} ("Beta Sampling is All You Need", Lee et al. 2024):
     * {@code min + F⁻¹(1 − r)·(max − min)} for r evenly spaced in [0, 1], F the Beta(0.6, 0.6)
     * distribution function, in float64.
     */
    static double[] betaSigmas(double sigmaMin, double sigmaMax, int n) {
        double[] ramp = npLinspace(0, 1, n);
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = sigmaMin + betaQuantile(1 - ramp[i], 0.6, 0.6) * (sigmaMax - sigmaMin);
        }
        return s;
    }

    /** scipy's {@code beta.ppf(q, a, b)}: Commons Numbers' regularized incomplete beta function inverted by bisection to the last bit. */
    private static double betaQuantile(double q, double a, double b) {
        double lo = 0;
        double hi = 1;
        for (double mid = 0.5; mid > lo && mid < hi; mid = 0.5 * (lo + hi)) {
            if (RegularizedBeta.value(mid, a, b) < q) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return 0.5 * (lo + hi);
    }

    /**
     * diffusers' {@code _sigma_to_t}: the fractional training timestep whose noise level is
     * {@code sigma}, interpolating linearly in log σ between neighbouring training steps.
     */
    static double sigmaToT(double sigma, float[] logSigmas) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int atOrBelow = 0;
        for (float l : logSigmas) {
            if (logSigma - l >= 0) {
                atOrBelow++;
            }
        }
        int low = Math.min(Math.max(atOrBelow - 1, 0), logSigmas.length - 2);
        double lo = logSigmas[low];
        double hi = logSigmas[low + 1];
        double w = Math.min(Math.max((lo - logSigma) / (lo - hi), 0), 1);
        return (1 - w) * low + w * (low + 1);
    }
}
