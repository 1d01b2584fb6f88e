package io.triptych.backend.ortcuda;

import io.triptych.api.backend.DeviceKind;
import io.triptych.api.backend.UnavailableBackend;

/** An {@code ort-cuda} backend that was probed and cannot run here, with the reason in one line. */
record UnavailableCuda(String id, String reason) implements UnavailableBackend {

    @Override
    public DeviceKind deviceKind() {
        return DeviceKind.CUDA;
    }
}
