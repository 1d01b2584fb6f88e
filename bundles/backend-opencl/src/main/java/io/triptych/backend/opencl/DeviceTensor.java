package io.triptych.backend.opencl;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;

/**
 * A float32 run output that stays in device memory. Fed back into a run on the same device it is
 * used in place (no copy); {@link #buffer()} reads it to the host once. Closing it returns the
 * buffer to the device's pool.
 */
final class DeviceTensor implements Tensor {
    private final ClDevice device;
    private final long[] shape;
    private ClBuffer buffer;
    private ByteBuffer host;

    DeviceTensor(ClDevice device, long[] shape, ClBuffer buffer) {
        this.device = device;
        this.shape = shape.clone();
        this.buffer = buffer;
    }

    ClDevice device() {
        return device;
    }

    /** The device buffer, held once more for the caller; requires the device lock. */
    ClBuffer retainBuffer() {
        if (buffer == null) {
            throw new IllegalStateException("tensor " + this + " was closed");
        }
        return buffer.retain();
    }

    @Override
    public DType dtype() {
        return DType.FLOAT32;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public ByteBuffer buffer() {
        device.lock().lock();
        try {
            if (host == null) {
                if (buffer == null) {
                    throw new IllegalStateException("tensor " + this + " was closed");
                }
                host = ByteBuffer.allocateDirect(Math.toIntExact(Tensor.elementCount(shape) * 4)).order(ByteOrder.nativeOrder());
                device.read(buffer, host);
            }
            return host.duplicate().order(ByteOrder.nativeOrder());
        } finally {
            device.lock().unlock();
        }
    }

    @Override
    public void close() {
        device.lock().lock();
        try {
            if (buffer != null) {
                buffer.release();
                buffer = null;
            }
        } finally {
            device.lock().unlock();
        }
    }

    @Override
    public String toString() {
        return "opencl FLOAT32" + java.util.Arrays.toString(shape);
    }
}
