package io.triptych.backend.opencl;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.tensor.DType;

/**
 * The state of one graph run: the live values by slot and the device they run on. Operators read
 * their inputs and place their outputs here; everything runs under the device lock.
 */
final class Exec {
    final ClDevice device;
    private final Value[] values;
    /** The model's kernel objects by launch site, kept across runs. */
    private final Map<Site, ClDevice.Kernel> kernels;
    private int node, launches;

    /** A launch site: the {@code launch}-th launch of a node's run, of the kernel named (or generated from) {@code kernel}. */
    record Site(int node, int launch, String kernel) {
    }

    Exec(ClDevice device, Value[] values, Map<Site, ClDevice.Kernel> kernels) {
        this.device = device;
        this.values = values;
        this.kernels = kernels;
    }

    /** Starts node {@code index} of the schedule: its launches are sites of their own. */
    void at(int index) {
        node = index;
        launches = 0;
    }

    /** Starts a launch of the named kernel on this site's kernel object. */
    ClDevice.Launch kernel(String name) {
        return kernels.computeIfAbsent(new Site(node, launches++, name), s -> device.kernel(name)).launch();
    }

    /** Starts a launch of a generated kernel ({@link ClDevice#generated}) on this site's kernel object. */
    ClDevice.Launch generated(String source) {
        return kernels.computeIfAbsent(new Site(node, launches++, source), s -> device.generated(source)).launch();
    }

    /** Input {@code i} of the node, or {@code null} when omitted. */
    Value in(Node n, int i) {
        return i < n.inputs.length && n.inputs[i] >= 0 ? values[n.inputs[i]] : null;
    }

    /** Input {@code i}, which the operator requires. */
    Value need(Node n, int i) {
        Value v = in(n, i);
        if (v == null) {
            throw n.error("input " + i + " is required");
        }
        return v;
    }

    /**
     * An input's first element, shape and element strides, as stored (a Split's slice starts inside
     * its buffer) or through a Transpose that {@link Fusion} folded into the node.
     */
    record View(Value value, long offset, long[] shape, long[] strides) {
    }

    /** Input {@code i} (required) as {@link View}. */
    View view(Node n, int i) {
        Value v = need(n, i);
        long[] strides = Shapes.strides(v.shape);
        long[] perm = n.ints(Fusion.TRANSPOSED + i);
        if (perm == null) {
            return new View(v, v.offset, v.shape, strides);
        }
        long[] p = ShapeOps.permutation(perm, v.shape.length);
        long[] shape = new long[p.length], permuted = new long[p.length];
        for (int k = 0; k < p.length; k++) {
            shape[k] = v.shape[(int) p[k]];
            permuted[k] = strides[(int) p[k]];
        }
        return new View(v, v.offset, shape, permuted);
    }

    int inputCount(Node n) {
        return n.inputs.length;
    }

    /** Whether output {@code i} is consumed or returned. */
    boolean wants(Node n, int i) {
        return i < n.outputs.length && n.outputs[i] >= 0;
    }

    /** Places output {@code i}; a value nobody reads is released at once. */
    void out(Node n, int i, Value v) {
        if (wants(n, i)) {
            values[n.outputs[i]] = v;
        } else {
            v.release();
        }
    }

    /** Releases the value in {@code slot}, which nothing reads any more. */
    void release(int slot) {
        if (values[slot] != null) {
            values[slot].release();
            values[slot] = null;
        }
    }

    /** The value's device buffer, uploading host data (integers as int32) on first use. */
    ClBuffer buffer(Value v) {
        if (v.buffer == null) {
            int n = Math.toIntExact(v.size());
            v.buffer = device.allocate((long) n * 4);
            if (v.isFloat()) {
                device.upload(v.buffer, v.floats);
                if (!v.pinned) {
                    v.floats = null;
                }
            } else {
                int[] a = new int[n];
                for (int k = 0; k < n; k++) {
                    a[k] = Math.toIntExact(v.ints[k]);
                }
                device.upload(v.buffer, a);
            }
        }
        return v.buffer;
    }

    /** A new float value on the device. */
    Value allocate(long[] shape) {
        return Value.onDevice(shape, device.allocate(Shapes.size(shape) * 4));
    }

    /** A new value of the type: on the device for floats, zero longs on the host otherwise. */
    Value allocate(DType dtype, long[] shape) {
        return dtype == DType.FLOAT32 ? allocate(shape) : Value.ofInts(dtype, shape, new long[Math.toIntExact(Shapes.size(shape))]);
    }

    /** A float value's elements on the host (read back from the device if needed). */
    float[] floats(Value v) {
        if (v.floats != null) {
            return v.floats;
        }
        int n = Math.toIntExact(v.size());
        ByteBuffer b = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder());
        device.read(v.buffer, b);
        float[] f = new float[n];
        b.asFloatBuffer().get(f);
        return f;
    }

    /** An integer or boolean value's elements. */
    long[] ints(Node n, Value v) {
        if (v.isFloat()) {
            throw new InvalidRequestException(n.op + " node '" + n.name + "' needs an integer tensor, got float " + Arrays.toString(v.shape));
        }
        return v.ints;
    }

    /** Any value's elements as doubles (comparisons, ranges). */
    double[] numbers(Value v) {
        double[] d = new double[Math.toIntExact(v.size())];
        if (v.isFloat()) {
            float[] f = floats(v);
            for (int k = 0; k < d.length; k++) {
                d[k] = f[k];
            }
        } else {
            for (int k = 0; k < d.length; k++) {
                d[k] = v.ints[k];
            }
        }
        return d;
    }

    /** A scalar (or one-element) input as a long. */
    long scalar(Node n, Value v) {
        if (v.isFloat()) {
            return (long) floats(v)[0];
        }
        if (v.size() != 1) {
            throw n.error("expects a scalar, got shape " + Arrays.toString(v.shape));
        }
        return v.ints[0];
    }

    /**
     * Copies {@code dims} elements from {@code src} (offset and strides in elements) into
     * {@code dst}; the same walk runs as a kernel for floats and in Java for integers.
     */
    void copy(Value src, long srcOffset, long[] srcStrides, Value dst, long dstOffset, long[] dstStrides, long[] dims) {
        long n = Shapes.size(dims);
        if (n == 0) {
            return;
        }
        if (src.isFloat()) {
            long[][] c = Shapes.collapse(dims, dstStrides, srcStrides);
            kernel("copy_strided").mem(dst.buffer).i(dstOffset).i8(c[1]).mem(buffer(src)).i(srcOffset).i8(c[2])
                    .i8(c[0]).i(c[0].length).i(n).run(n);
        } else {
            int[][] off = offsets(dims, srcStrides, dstStrides);
            for (int k = 0; k < n; k++) {
                dst.ints[(int) dstOffset + off[1][k]] = src.ints[(int) srcOffset + off[0][k]];
            }
        }
    }

    /** For every element of {@code dims} in row-major order, its offset under each set of strides. */
    static int[][] offsets(long[] dims, long[]... strides) {
        int n = Math.toIntExact(Shapes.size(dims));
        int[][] off = new int[strides.length][n];
        long[] index = new long[dims.length];
        long[] cur = new long[strides.length];
        for (int k = 0; k < n; k++) {
            for (int o = 0; o < strides.length; o++) {
                off[o][k] = (int) cur[o];
            }
            for (int d = dims.length - 1; d >= 0; d--) {
                index[d]++;
                for (int o = 0; o < strides.length; o++) {
                    cur[o] += strides[o][d];
                }
                if (index[d] < dims[d]) {
                    break;
                }
                for (int o = 0; o < strides.length; o++) {
                    cur[o] -= strides[o][d] * dims[d];
                }
                index[d] = 0;
            }
        }
        return off;
    }
}
