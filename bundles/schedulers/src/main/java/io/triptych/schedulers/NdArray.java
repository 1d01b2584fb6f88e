package io.triptych.schedulers;

import java.util.Arrays;

/**
 * A dense float32 array with a shape, row-major: what schedulers read and return (latents of
 * shape {@code [batch, channels, height, width]}, or any shape whose first dimension is the batch).
 * The data array is shared, not copied; schedulers never modify their arguments.
 *
 * @param data the elements
 * @param shape the dimensions; their product is {@code data.length}
 */
public record NdArray(float[] data, int[] shape) {

    public NdArray {
        shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException(data.length + " values do not fill shape " + Arrays.toString(shape));
        }
    }

    /** An array viewing {@code data}. */
    public static NdArray of(float[] data, int... shape) {
        return new NdArray(data, shape);
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** The number of elements. */
    public int size() {
        return data.length;
    }

    /** The first dimension (1 for a scalar). */
    public int batch() {
        return shape.length == 0 ? 1 : shape[0];
    }

    /** A new array of this shape holding {@code values}. */
    public NdArray with(float[] values) {
        return new NdArray(values, shape);
    }

    /** This array times a scalar, computed in float32 as torch multiplies by a Python float. */
    public NdArray scale(double factor) {
        float f = (float) factor;
        float[] out = new float[data.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = data[i] * f;
        }
        return with(out);
    }

    /** Σ|x|, in double. */
    public double absSum() {
        double s = 0;
        for (float v : data) {
            s += Math.abs(v);
        }
        return s;
    }

    /** The mean of |x|. */
    public double absMean() {
        return absSum() / data.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NdArray a && Arrays.equals(data, a.data) && Arrays.equals(shape, a.shape);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(data) + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return "NdArray" + Arrays.toString(shape);
    }
}
