package io.triptych.api.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A dense n-dimensional array of one {@link DType}, row-major, in native byte order.
 *
 * <p>Host tensors ({@link #allocate}, {@link #wrap}, {@link #of(float[], long...)}) are views over
 * NIO buffers and copy nothing. Backends return their own implementations for run outputs, which
 * may live in device or native memory; passing such a tensor back into a run of the same backend
 * (e.g. a key/value cache) avoids any copy. Reading {@link #buffer()} of a device tensor copies it
 * to the host once. Close a tensor a backend returned when done with it; closing a host tensor is
 * a no-op.
 */
@ConsumerType
public interface Tensor extends AutoCloseable {

    /** The element type. */
    DType dtype();

    /** The shape; a copy the caller may modify. A scalar has shape {@code []}. */
    long[] shape();

    /** The number of elements (product of the shape). */
    default long elementCount() {
        return elementCount(shape());
    }

    /**
     * The elements as a byte buffer in native order, positioned at 0, sized to the data.
     * Host tensors return a view that shares their storage.
     */
    ByteBuffer buffer();

    /** Releases native or device memory held by this tensor; idempotent. */
    @Override
    default void close() {
    }

    /** The elements as floats; requires {@link DType#FLOAT32}. */
    default FloatBuffer floats() {
        requireType(DType.FLOAT32);
        return buffer().asFloatBuffer();
    }

    /** The elements as ints; requires {@link DType#INT32}. */
    default IntBuffer ints() {
        requireType(DType.INT32);
        return buffer().asIntBuffer();
    }

    /** The elements as longs; requires {@link DType#INT64}. */
    default LongBuffer longs() {
        requireType(DType.INT64);
        return buffer().asLongBuffer();
    }

    /** A copy of the elements as a float array; requires {@link DType#FLOAT32}. */
    default float[] toFloatArray() {
        FloatBuffer b = floats();
        float[] a = new float[b.remaining()];
        b.get(a);
        return a;
    }

    /** A copy of the elements widened to longs; requires an integer or boolean type. */
    default long[] toLongArray() {
        ByteBuffer b = buffer();
        int n = Math.toIntExact(elementCount());
        long[] a = new long[n];
        switch (dtype()) {
            case INT64 -> b.asLongBuffer().get(a);
            case INT32 -> { for (int i = 0; i < n; i++) a[i] = b.getInt(i * 4); }
            case INT8, BOOL -> { for (int i = 0; i < n; i++) a[i] = b.get(i); }
            case UINT8 -> { for (int i = 0; i < n; i++) a[i] = b.get(i) & 0xFF; }
            default -> throw new IllegalStateException("tensor of " + dtype() + " is not an integer tensor");
        }
        return a;
    }

    private void requireType(DType expected) {
        if (dtype() != expected) {
            throw new IllegalStateException("tensor is " + dtype() + ", not " + expected);
        }
    }

    /** The number of elements of a shape; every dimension must be ≥ 0. */
    static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** A zero-filled host tensor in a direct buffer (which backends can read without copying). */
    static Tensor allocate(DType dtype, long... shape) {
        long bytes = Math.multiplyExact(elementCount(shape), (long) dtype.byteSize());
        return new HostTensor(dtype, shape, ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.nativeOrder()));
    }

    /** A host tensor viewing {@code data} (from its position to its limit) without copying. */
    static Tensor wrap(DType dtype, ByteBuffer data, long... shape) {
        return new HostTensor(dtype, shape, data.slice().order(ByteOrder.nativeOrder()));
    }

    /** A host tensor holding a copy of {@code data}. */
    static Tensor of(float[] data, long... shape) {
        Tensor t = allocate(DType.FLOAT32, shape);
        checkLength(data.length, t);
        t.buffer().asFloatBuffer().put(data);
        return t;
    }

    /** A host tensor holding a copy of {@code data}. */
    static Tensor of(int[] data, long... shape) {
        Tensor t = allocate(DType.INT32, shape);
        checkLength(data.length, t);
        t.buffer().asIntBuffer().put(data);
        return t;
    }

    /** A host tensor holding a copy of {@code data}. */
    static Tensor of(long[] data, long... shape) {
        Tensor t = allocate(DType.INT64, shape);
        checkLength(data.length, t);
        t.buffer().asLongBuffer().put(data);
        return t;
    }

    /** A host tensor holding a copy of {@code data}. */
    static Tensor of(boolean[] data, long... shape) {
        Tensor t = allocate(DType.BOOL, shape);
        checkLength(data.length, t);
        ByteBuffer b = t.buffer();
        for (int i = 0; i < data.length; i++) {
            b.put(i, (byte) (data[i] ? 1 : 0));
        }
        return t;
    }

    private static void checkLength(int length, Tensor t) {
        if (length != t.elementCount()) {
            throw new IllegalArgumentException(length + " values do not fill shape " + Arrays.toString(t.shape()));
        }
    }
}
