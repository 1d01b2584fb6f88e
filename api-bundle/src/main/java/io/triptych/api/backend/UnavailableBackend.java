package io.triptych.api.backend;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A backend that was probed and cannot run here, registered (instead of a {@link ComputeBackend})
 * so that users see why: e.g. "this ONNX Runtime build has no CUDA provider".
 */
@ConsumerType
public interface UnavailableBackend {

    /** The id the backend would have. */
    String id();

    /** The kind of device it would drive. */
    DeviceKind deviceKind();

    /** Why it is not available, one line. */
    String reason();
}
