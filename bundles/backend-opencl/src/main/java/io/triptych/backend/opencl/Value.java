package io.triptych.backend.opencl;

import io.triptych.api.tensor.DType;

/**
 * A tensor while a graph runs. Float32 tensors live on the device; integer and boolean tensors
 * (shapes, indices, masks) live on the host as longs, where shape arithmetic is cheap, and get an
 * int32 copy on the device only when a kernel reads them. Small float constants may start on the
 * host and are uploaded on first use.
 */
final class Value {
    final DType dtype;
    final long[] shape;
    /** Float32 data, or the int32 copy of integer data; {@code null} until needed. */
    ClBuffer buffer;
    /** Host data of an integer or boolean tensor. */
    long[] ints;
    /** Host data of a float tensor not yet uploaded. */
    float[] floats;
    /** Initializers outlive runs; their buffers are freed when the model closes. */
    boolean pinned;
    /** Where this value starts in {@link #buffer}, in elements: non-zero only for a Split's part left a view (see {@link Fusion}). */
    long offset;

    private Value(DType dtype, long[] shape) {
        this.dtype = dtype;
        this.shape = shape;
    }

    static Value onDevice(long[] shape, ClBuffer buffer) {
        Value v = new Value(DType.FLOAT32, shape);
        v.buffer = buffer;
        return v;
    }

    static Value ofFloats(long[] shape, float[] data) {
        Value v = new Value(DType.FLOAT32, shape);
        v.floats = data;
        return v;
    }

    static Value ofInts(DType dtype, long[] shape, long[] data) {
        if (dtype == DType.FLOAT32) {
            throw new IllegalArgumentException("float data as ints");
        }
        Value v = new Value(dtype, shape);
        v.ints = data;
        return v;
    }

    boolean isFloat() {
        return dtype == DType.FLOAT32;
    }

    long size() {
        return Shapes.size(shape);
    }

    /** A value with another shape over the same data (reshape, squeeze, identity). */
    Value reshaped(long[] newShape) {
        return view(newShape, 0);
    }

    /** A value of {@code newShape} over this one's device data from element {@code from} on. */
    Value view(long[] newShape, long from) {
        Value v = new Value(dtype, newShape);
        v.ints = ints;
        v.floats = floats;
        v.buffer = buffer == null ? null : buffer.retain();
        v.offset = offset + from;
        return v;
    }

    /** Drops this value's hold on its device buffer; initializers keep theirs. */
    void release() {
        if (!pinned && buffer != null) {
            buffer.release();
            buffer = null;
        }
    }

    /** Frees an initializer's buffer when its model closes. */
    void unpin() {
        pinned = false;
        release();
    }
}
