package io.triptych.backend.opencl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.triptych.api.InvalidRequestException;

/** Shape arithmetic: sizes, row-major strides, numpy broadcasting, and collapsing for kernels. */
final class Shapes {
    /** Kernels take shapes and strides as {@code int8} vectors. */
    static final int MAX_RANK = 8;

    private Shapes() {
    }

    static long size(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    static long size(long[] shape, int from, int to) {
        long n = 1;
        for (int k = from; k < to; k++) {
            n *= shape[k];
        }
        return n;
    }

    static long[] strides(long[] shape) {
        long[] s = new long[shape.length];
        long n = 1;
        for (int k = shape.length - 1; k >= 0; k--) {
            s[k] = n;
            n *= shape[k];
        }
        return s;
    }

    /** The numpy broadcast of two shapes. */
    static long[] broadcast(long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int k = 0; k < rank; k++) {
            long da = k < rank - a.length ? 1 : a[k - rank + a.length];
            long db = k < rank - b.length ? 1 : b[k - rank + b.length];
            if (da != db && da != 1 && db != 1) {
                throw new InvalidRequestException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            out[k] = da == 1 ? db : da;
        }
        return out;
    }

    /** Strides to read a tensor of {@code shape} broadcast to {@code out} (0 along broadcast dimensions). */
    static long[] broadcastStrides(long[] shape, long[] out) {
        return broadcastStrides(shape, strides(shape), out);
    }

    /** As {@link #broadcastStrides(long[], long[])}, for a tensor laid out with strides {@code own}. */
    static long[] broadcastStrides(long[] shape, long[] own, long[] out) {
        long[] s = new long[out.length];
        int shift = out.length - shape.length;
        for (int k = shift; k < out.length; k++) {
            s[k] = shape[k - shift] == 1 && out[k] != 1 ? 0 : own[k - shift];
        }
        return s;
    }

    /** Axis in [0, rank), from a possibly negative ONNX axis. */
    static int axis(long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.max(rank, 1)) {
            throw new InvalidRequestException("axis " + axis + " is out of range for rank " + rank);
        }
        return (int) a;
    }

    /**
     * Merges adjacent dimensions that every operand walks contiguously, so kernels index in as
     * few dimensions as possible. Returns the new dims followed by each operand's new strides.
     */
    static long[][] collapse(long[] dims, long[]... strides) {
        List<long[]> cols = new ArrayList<>();
        for (int k = 0; k < dims.length; k++) {
            if (dims[k] == 1) {
                continue; // size-1 dimensions never move the index
            }
            long[] col = new long[strides.length + 1];
            col[0] = dims[k];
            for (int o = 0; o < strides.length; o++) {
                col[o + 1] = strides[o][k];
            }
            if (!cols.isEmpty()) {
                long[] prev = cols.get(cols.size() - 1);
                boolean mergeable = true;
                for (int o = 1; o <= strides.length; o++) {
                    mergeable &= prev[o] == col[o] * col[0];
                }
                if (mergeable) {
                    prev[0] *= col[0];
                    for (int o = 1; o <= strides.length; o++) {
                        prev[o] = col[o];
                    }
                    continue;
                }
            }
            cols.add(col);
        }
        if (cols.size() > MAX_RANK) {
            throw new InvalidRequestException("the opencl backend indexes at most " + MAX_RANK + " dimensions, got " + Arrays.toString(dims));
        }
        long[][] r = new long[strides.length + 1][cols.size()];
        for (int k = 0; k < cols.size(); k++) {
            for (int o = 0; o <= strides.length; o++) {
                r[o][k] = cols.get(k)[o];
            }
        }
        return r;
    }
}
