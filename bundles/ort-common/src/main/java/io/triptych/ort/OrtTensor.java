package io.triptych.ort;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import ai.onnxruntime.OnnxTensor;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;

/**
 * A run output held in ONNX Runtime's native (host) memory. Fed back into a run of the same
 * backend it is used in place; its elements are read into a Java buffer only on the first
 * {@link #buffer()}.
 */
public final class OrtTensor implements Tensor {
    private final OnnxTensor value;
    private final DType dtype;
    private final long[] shape;
    private ByteBuffer hostCopy;

    OrtTensor(OnnxTensor value, DType dtype) {
        this.value = value;
        this.dtype = dtype;
        this.shape = value.getInfo().getShape();
    }

    OnnxTensor value() {
        return value;
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
    public synchronized ByteBuffer buffer() {
        if (hostCopy == null) {
            hostCopy = value.getByteBuffer().order(ByteOrder.nativeOrder());
        }
        return hostCopy.duplicate().order(ByteOrder.nativeOrder());
    }

    @Override
    public void close() {
        value.close();
    }
}
