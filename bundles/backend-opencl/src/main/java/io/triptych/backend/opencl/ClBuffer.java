package io.triptych.backend.opencl;

import org.jocl.cl_mem;

/**
 * A pooled device buffer shared by reference count: tensors that alias it (a reshape, a returned
 * output fed back as an input) each hold it once; the last release returns it to the pool.
 * Counts change only under the device lock.
 */
final class ClBuffer {
    private final ClDevice device;
    private final cl_mem mem;
    private final long capacity;
    private int holders = 1;

    ClBuffer(ClDevice device, cl_mem mem, long capacity) {
        this.device = device;
        this.mem = mem;
        this.capacity = capacity;
    }

    cl_mem mem() {
        return mem;
    }

    ClBuffer retain() {
        if (holders <= 0) {
            throw new IllegalStateException("buffer already released");
        }
        holders++;
        return this;
    }

    void release() {
        if (--holders == 0) {
            device.recycle(mem, capacity);
        }
    }
}
