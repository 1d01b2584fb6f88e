package io.triptych.backend.opencl;

import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.UnsupportedOperatorException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.backend.DeviceKind;
import io.triptych.api.model.ModelPart;

/**
 * The {@code opencl} backend: one OpenCL device (a GPU, or a CPU through PoCL) running ONNX graphs
 * with Triptych's own executor and kernels. Close it to free the device.
 */
public final class OpenClBackend implements ComputeBackend, AutoCloseable {
    /** The backend id. */
    public static final String ID = "opencl";

    private static final Logger LOG = LoggerFactory.getLogger(OpenClBackend.class);

    private final ClDevice device;
    private final DeviceSelection selection;
    private final int score;

    private OpenClBackend(ClDevice device, DeviceSelection selection, int score) {
        this.device = device;
        this.selection = selection;
        this.score = score;
    }

    /**
     * Opens the best device that matches; usable outside OSGi (tests, benchmarks, embedding).
     *
     * @param platformFilter part of the platform name to require, or empty
     * @param deviceFilter part of the device name to require, or empty
     * @param deviceType {@code PREFER_GPU}, {@code PREFER_CPU}, {@code GPU_ONLY} or {@code CPU_ONLY}
     * @param score the {@link #score()}
     * @throws BackendUnavailableException with the reason when no device qualifies or the kernels do not build
     */
    public static OpenClBackend open(String platformFilter, String deviceFilter, String deviceType, int score) {
        DeviceSelection.Preference preference;
        try {
            preference = DeviceSelection.Preference.valueOf(deviceType.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new BackendUnavailableException("unknown opencl deviceType '" + deviceType
                    + "' (PREFER_GPU, PREFER_CPU, GPU_ONLY or CPU_ONLY)");
        }
        DeviceSelection selection = DeviceSelection.select(platformFilter, deviceFilter, preference);
        if (selection.chosen() == null) {
            throw new BackendUnavailableException(selection.unavailable());
        }
        ClDevice device;
        try {
            device = new ClDevice(selection.chosen());
        } catch (RuntimeException e) {
            throw new BackendUnavailableException("OpenCL device " + selection.chosen().describe() + " cannot be used: " + e.getMessage(), e);
        }
        OpenClBackend backend = new OpenClBackend(device, selection, score);
        LOG.info("opencl backend ready: {}", backend.deviceDescription());
        return backend;
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public DeviceKind deviceKind() {
        return DeviceKind.OPENCL;
    }

    @Override
    public String deviceDescription() {
        String d = selection.chosen().describe();
        return selection.notTaken().isEmpty() ? d : d + "; not taken: " + String.join("; ", selection.notTaken());
    }

    /** The name of the device in use. */
    public String deviceName() {
        return selection.chosen().deviceName();
    }

    @Override
    public int score() {
        return score;
    }

    @Override
    public boolean supports(String operator) {
        return Operators.supports(operator);
    }

    /** Every operator this backend implements, as {@code domain:OpType}, sorted. */
    public Set<String> operators() {
        return Operators.all();
    }

    @Override
    public CompiledModel compile(ModelPart part) {
        Set<String> missing = missingOperators(part);
        if (!missing.isEmpty()) {
            throw new UnsupportedOperatorException(ID, missing);
        }
        return new OpenClModel(device, part);
    }

    /** Bytes of device memory the buffer pool holds (in use or free). */
    long allocatedBytes() {
        device.lock().lock();
        try {
            return device.allocatedBytes();
        } finally {
            device.lock().unlock();
        }
    }

    @Override
    public void close() {
        device.close();
    }
}
