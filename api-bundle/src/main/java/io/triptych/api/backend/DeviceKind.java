package io.triptych.api.backend;

import java.util.Locale;

/** The kind of device a backend computes on. */
public enum DeviceKind {
    CPU, CUDA, OPENCL;

    /** The lower-case name used in the {@code backend.device} service property. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
