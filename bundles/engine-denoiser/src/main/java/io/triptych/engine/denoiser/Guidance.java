package io.triptych.engine.denoiser;

/** Classifier-free guidance over a batch laid out [uncond × n, cond × n], as diffusers' pipelines. */
final class Guidance {
    private Guidance() {
    }

    /**
     * {@code uncond + g·(cond − uncond)}, then with φ > 0 the rescale of Lin et al. (2023):
     * {@code φ·cfg·std(cond)/std(cfg) + (1 − φ)·cfg}, std per image (unbiased, as torch.std).
     *
     * @param out the UNet output of 2n items
     * @return n guided items
     */
    static float[] apply(float[] out, int n, float scale, float rescale) {
        int half = out.length / 2;
        int per = half / n;
        float[] g = new float[half];
        for (int i = 0; i < half; i++) {
            float uncond = out[i];
            g[i] = uncond + scale * (out[half + i] - uncond);
        }
        if (rescale > 0) {
            for (int b = 0; b < n; b++) {
                double ratio = std(out, half + b * per, per) / std(g, b * per, per);
                for (int i = b * per; i < (b + 1) * per; i++) {
                    float rescaled = (float) (g[i] * ratio);
                    g[i] = rescale * rescaled + (1 - rescale) * g[i];
                }
            }
        }
        return g;
    }

    private static double std(float[] a, int from, int count) {
        double mean = 0;
        for (int i = from; i < from + count; i++) {
            mean += a[i];
        }
        mean /= count;
        double ss = 0;
        for (int i = from; i < from + count; i++) {
            ss += (a[i] - mean) * (a[i] - mean);
        }
        return Math.sqrt(ss / (count - 1));
    }
}
