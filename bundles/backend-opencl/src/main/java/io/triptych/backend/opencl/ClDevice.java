package io.triptych.backend.opencl;

import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_PROGRAM_BUILD_LOG;
import static org.jocl.CL.clBuildProgram;
import static org.jocl.CL.clCreateBuffer;
import static org.jocl.CL.clCreateCommandQueue;
import static org.jocl.CL.clCreateContext;
import static org.jocl.CL.clCreateKernel;
import static org.jocl.CL.clCreateProgramWithSource;
import static org.jocl.CL.clEnqueueNDRangeKernel;
import static org.jocl.CL.clEnqueueReadBuffer;
import static org.jocl.CL.clEnqueueWriteBuffer;
import static org.jocl.CL.clFinish;
import static org.jocl.CL.clGetProgramBuildInfo;
import static org.jocl.CL.clReleaseCommandQueue;
import static org.jocl.CL.clReleaseContext;
import static org.jocl.CL.clReleaseKernel;
import static org.jocl.CL.clReleaseMemObject;
import static org.jocl.CL.clReleaseProgram;
import static org.jocl.CL.clSetKernelArg;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.triptych.api.BackendUnavailableException;

/**
 * One OpenCL device in use: context, in-order queue, the kernel program (built once), kernel
 * objects for the models' launch sites and a pool of buffers reused across runs. Kernel arguments
 * are per-kernel state, so every use happens under {@link #lock()}.
 */
final class ClDevice implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClDevice.class);
    /** Buffers are rounded up to a quarter of their power of two, so growing tensors (a KV cache) find a buffer again. */
    private static final long MIN_BUFFER = 256;
    /** Work-group size of one-dimensional launches. */
    static final long GROUP = 64;
    /**
     * Uploads in flight after which the host waits for the queue anyway: JOCL keeps each one's host
     * buffer alive, with one of its threads waiting for the write, until it completes.
     */
    private static final int MAX_UPLOADS_IN_FLIGHT = 256;

    private final DeviceInfo info;
    private final cl_context context;
    private final cl_command_queue queue;
    private final cl_program program;
    /** Programs of kernels generated at run time, by source (see {@link #generated}). */
    private final Map<String, cl_program> generated = new HashMap<>();
    /** Kernel objects not yet released, which {@link #close} releases. */
    private final Set<Kernel> kernels = new HashSet<>();
    private final Map<Long, ArrayDeque<cl_mem>> free = new HashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private long allocated;
    /** Uploads enqueued since the queue was last drained (see {@link #upload(ClBuffer, int[])}). */
    private int uploadsInFlight;
    private boolean closed;

    ClDevice(DeviceInfo info) {
        this.info = info;
        this.context = clCreateContext(null, 1, new cl_device_id[] {info.device()}, null, null, null);
        this.queue = clCreateCommandQueue(context, info.device(), 0, null);
        long start = System.nanoTime();
        try {
            this.program = build(resource("elementwise.cl") + resource("kernels.cl"));
        } catch (IllegalStateException e) {
            close();
            throw e;
        }
        LOG.debug("OpenCL kernels built for {} in {} ms", info.deviceName(), (System.nanoTime() - start) / 1_000_000);
    }

    private cl_program build(String source) {
        cl_device_id[] devices = {info.device()};
        cl_program p = clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        try {
            clBuildProgram(p, 1, devices, "-cl-std=CL1.2", null, null);
            return p;
        } catch (CLException e) {
            long[] size = new long[1];
            clGetProgramBuildInfo(p, info.device(), CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] log = new byte[(int) size[0]];
            clGetProgramBuildInfo(p, info.device(), CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
            clReleaseProgram(p);
            throw new IllegalStateException("the OpenCL kernels do not build on " + info.deviceName() + ": "
                    + new String(log, StandardCharsets.UTF_8).trim(), e);
        }
    }

    private static String resource(String name) {
        try (InputStream in = ClDevice.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    ReentrantLock lock() {
        return lock;
    }

    /** A buffer of at least {@code bytes}, from the pool when one is free; held once. */
    ClBuffer allocate(long bytes) {
        long size = bucket(bytes);
        ArrayDeque<cl_mem> list = free.get(size);
        cl_mem mem = list == null ? null : list.poll();
        if (mem == null) {
            checkOpen();
            mem = clCreateBuffer(context, CL_MEM_READ_WRITE, size, null, null);
            allocated += size;
        }
        return new ClBuffer(this, mem, size);
    }

    void recycle(cl_mem mem, long size) {
        if (closed) {
            clReleaseMemObject(mem);
        } else {
            free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(mem);
        }
    }

    /** Bytes of device memory this device's pool has created. */
    long allocatedBytes() {
        return allocated;
    }

    static long roundUp(long v, long multiple) {
        return (v + multiple - 1) / multiple * multiple;
    }

    static long bucket(long bytes) {
        if (bytes <= MIN_BUFFER) {
            return MIN_BUFFER;
        }
        long step = Long.highestOneBit(bytes - 1) >> 2;
        return (bytes + step - 1) / step * step;
    }

    void write(ClBuffer target, ByteBuffer data) {
        if (data.remaining() > 0) {
            clEnqueueWriteBuffer(queue, target.mem(), true, 0, data.remaining(), Pointer.to(data.slice()), 0, null, null);
        }
    }

    void write(ClBuffer target, float[] data) {
        if (data.length > 0) {
            clEnqueueWriteBuffer(queue, target.mem(), true, 0, (long) data.length * Sizeof.cl_float, Pointer.to(data), 0, null, null);
        }
    }

    /**
     * Enqueues a copy of {@code data} without waiting. A blocking write stalls the host until every
     * kernel queued before it has run (on PoCL about 60 µs plus the lost overlap of host and
     * device), and graphs upload integer tensors (indices, masks) midway through a run.
     */
    void upload(ClBuffer target, int[] data) {
        if (data.length > 0) {
            ByteBuffer b = ByteBuffer.allocateDirect(data.length * Sizeof.cl_int).order(ByteOrder.nativeOrder());
            b.asIntBuffer().put(data);
            stage(target, b);
        }
    }

    /** As {@link #upload(ClBuffer, int[])}, for floats. */
    void upload(ClBuffer target, float[] data) {
        if (data.length > 0) {
            ByteBuffer b = ByteBuffer.allocateDirect(data.length * Sizeof.cl_float).order(ByteOrder.nativeOrder());
            b.asFloatBuffer().put(data);
            stage(target, b);
        }
    }

    private void stage(ClBuffer target, ByteBuffer b) {
        clEnqueueWriteBuffer(queue, target.mem(), false, 0, b.capacity(), Pointer.to(b), 0, null, null);
        if (++uploadsInFlight >= MAX_UPLOADS_IN_FLIGHT) {
            clFinish(queue);
            uploadsInFlight = 0;
        }
    }

    /** Reads {@code target.remaining()} bytes, waiting for every kernel enqueued before. */
    void read(ClBuffer source, ByteBuffer target) {
        if (target.remaining() > 0) {
            clEnqueueReadBuffer(queue, source.mem(), true, 0, target.remaining(), Pointer.to(target.slice()), 0, null, null);
            // the queue is in order: every upload enqueued before has completed
            uploadsInFlight = 0;
        }
    }

    /** A kernel object of its own for the named kernel of kernels.cl. */
    Kernel kernel(String name) {
        checkOpen();
        return track(clCreateKernel(program, name, null));
    }

    /**
     * A kernel object of its own for the kernel named {@code fused} in {@code source}, a kernel
     * generated at run time; its program is built after elementwise.cl once per device and source.
     */
    Kernel generated(String source) {
        checkOpen();
        return track(clCreateKernel(generated.computeIfAbsent(source, s -> build(resource("elementwise.cl") + s)), "fused", null));
    }

    private Kernel track(cl_kernel k) {
        Kernel kernel = new Kernel(k);
        kernels.add(kernel);
        return kernel;
    }

    void release(Collection<Kernel> released) {
        for (Kernel k : released) {
            if (kernels.remove(k)) {
                clReleaseKernel(k.kernel);
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new BackendUnavailableException("the OpenCL device " + info.deviceName() + " was closed");
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            clFinish(queue);
            free.values().forEach(l -> l.forEach(m -> clReleaseMemObject(m)));
            free.clear();
            kernels.forEach(k -> clReleaseKernel(k.kernel));
            kernels.clear();
            generated.values().forEach(p -> clReleaseProgram(p));
            if (program != null) {
                clReleaseProgram(program);
            }
            clReleaseCommandQueue(queue);
            clReleaseContext(context);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A kernel object that one launch site owns, with the arguments last set on it. Setting an
     * argument costs the host about as much as a small kernel's work per ten arguments, and from
     * one decoding step to the next most of a site's arguments (weights, sizes, pooled buffers)
     * stay the same, so a launch sets only those that changed.
     */
    final class Kernel {
        private final cl_kernel kernel;
        private final List<Object> args = new ArrayList<>();

        private Kernel(cl_kernel kernel) {
            this.kernel = kernel;
        }

        /** Starts a launch; set arguments in order, then {@link Launch#run}. */
        Launch launch() {
            checkOpen();
            return new Launch(this);
        }
    }

    /** Arguments of one kernel launch, set in order. */
    final class Launch {
        private final Kernel k;
        private final cl_kernel kernel;
        private int index;

        private Launch(Kernel k) {
            this.k = k;
            this.kernel = k.kernel;
        }

        Launch mem(ClBuffer b) {
            cl_mem m = b.mem();
            if (changed(m)) {
                clSetKernelArg(kernel, index, Sizeof.cl_mem, Pointer.to(m));
                set(m);
            }
            return next();
        }

        Launch i(long v) {
            int x = Math.toIntExact(v);
            if (changed(x)) {
                clSetKernelArg(kernel, index, Sizeof.cl_int, Pointer.to(new int[] {x}));
                set(x);
            }
            return next();
        }

        Launch f(double v) {
            float x = (float) v;
            if (changed(x)) {
                clSetKernelArg(kernel, index, Sizeof.cl_float, Pointer.to(new float[] {x}));
                set(x);
            }
            return next();
        }

        /** Up to 8 values as an OpenCL {@code int8}. */
        Launch i8(long[] v) {
            int[] a = new int[8];
            for (int j = 0; j < v.length; j++) {
                a[j] = Math.toIntExact(v[j]);
            }
            if (changed(a)) {
                clSetKernelArg(kernel, index, Sizeof.cl_int * 8, Pointer.to(a));
                set(a);
            }
            return next();
        }

        private boolean changed(Object v) {
            Object last = index < k.args.size() ? k.args.get(index) : null;
            return !(v instanceof int[] a ? last instanceof int[] b && Arrays.equals(a, b) : v.equals(last));
        }

        /** Records an argument once it is set, so that a failed set is tried again. */
        private void set(Object v) {
            while (k.args.size() <= index) {
                k.args.add(null);
            }
            k.args.set(index, v);
        }

        private Launch next() {
            index++;
            return this;
        }

        /**
         * Enqueues over at least {@code n} work-items (nothing when {@code n} is 0), in groups of
         * {@link #GROUP}: kernels check their bound, and a fixed group size lets PoCL compile each
         * kernel once instead of once per new global size.
         */
        void run(long n) {
            if (n > 0) {
                clEnqueueNDRangeKernel(queue, kernel, 1, null, new long[] {roundUp(n, GROUP)}, new long[] {GROUP}, 0, null, null);
            }
        }

        /** Enqueues a 3-D range with the given work-group size (or {@code null}). */
        void run(long[] global, long[] local) {
            if (global[0] * global[1] * global[2] > 0) {
                clEnqueueNDRangeKernel(queue, kernel, 3, null, global, local, 0, null, null);
            }
        }
    }
}
