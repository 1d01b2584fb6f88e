package io.triptych.api.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** A tensor whose elements live in a Java NIO buffer; created through {@link Tensor}'s factories. */
final class HostTensor implements Tensor {
    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer data;

    HostTensor(DType dtype, long[] shape, ByteBuffer data) {
        long bytes = Math.multiplyExact(Tensor.elementCount(shape), (long) dtype.byteSize());
        if (data.remaining() != bytes) {
            throw new IllegalArgumentException("buffer of " + data.remaining() + " bytes does not hold "
                    + dtype + Arrays.toString(shape) + " (" + bytes + " bytes)");
        }
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public ByteBuffer buffer() {
        return data.duplicate().order(ByteOrder.nativeOrder());
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
