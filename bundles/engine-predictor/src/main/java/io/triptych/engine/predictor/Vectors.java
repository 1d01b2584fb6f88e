package io.triptych.engine.predictor;

/** The vector arithmetic of comparing embeddings; matrices are row-major {@code float[rows * cols]}. */
final class Vectors {
    /** torch's {@code layer_norm} default, which I-JEPA's target normalisation uses. */
    private static final double LAYER_NORM_EPS = 1e-5;

    private Vectors() {
    }

    /** {@code v} scaled to unit length (a zero vector stays zero). */
    static float[] normalized(float[] v) {
        double norm = Math.sqrt(dot(v, v));
        float[] u = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            u[i] = norm == 0 ? 0 : (float) (v[i] / norm);
        }
        return u;
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    /** The cosine similarity of two unit vectors, clamped to [-1, 1] against rounding. */
    static double cosine(float[] unitA, float[] unitB) {
        return Math.max(-1, Math.min(1, dot(unitA, unitB)));
    }

    /** The mean of the rows. */
    static float[] meanRows(float[] m, int rows, int cols) {
        double[] sum = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                sum[c] += m[r * cols + c];
            }
        }
        float[] mean = new float[cols];
        for (int c = 0; c < cols; c++) {
            mean[c] = (float) (sum[c] / rows);
        }
        return mean;
    }

    /** The mean over rows whose mask is non-zero (a masked mean over tokens). */
    static float[] maskedMeanRows(float[] m, long[] mask, int rows, int cols) {
        double[] sum = new double[cols];
        int n = 0;
        for (int r = 0; r < rows; r++) {
            if (mask[r] != 0) {
                n++;
                for (int c = 0; c < cols; c++) {
                    sum[c] += m[r * cols + c];
                }
            }
        }
        float[] mean = new float[cols];
        for (int c = 0; c < cols; c++) {
            mean[c] = n == 0 ? 0 : (float) (sum[c] / n);
        }
        return mean;
    }

    /** The given rows of a matrix, in order. */
    static float[] rows(float[] m, int cols, int[] which) {
        float[] out = new float[which.length * cols];
        for (int i = 0; i < which.length; i++) {
            System.arraycopy(m, which[i] * cols, out, i * cols, cols);
        }
        return out;
    }

    /** Normalises every row to zero mean and unit variance, without affine parameters, in place. */
    static void layerNormRows(float[] m, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            int at = r * cols;
            double mean = 0;
            for (int c = 0; c < cols; c++) {
                mean += m[at + c];
            }
            mean /= cols;
            double var = 0;
            for (int c = 0; c < cols; c++) {
                double d = m[at + c] - mean;
                var += d * d;
            }
            double scale = 1 / Math.sqrt(var / cols + LAYER_NORM_EPS);
            for (int c = 0; c < cols; c++) {
                m[at + c] = (float) ((m[at + c] - mean) * scale);
            }
        }
    }

    /** The mean Euclidean distance between corresponding rows of two matrices. */
    static double meanRowDistance(float[] a, float[] b, int rows, int cols) {
        double total = 0;
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) {
                double d = a[r * cols + c] - b[r * cols + c];
                s += d * d;
            }
            total += Math.sqrt(s);
        }
        return total / rows;
    }
}
