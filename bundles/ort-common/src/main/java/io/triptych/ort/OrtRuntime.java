package io.triptych.ort;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;

/** The one ONNX Runtime environment of this JVM, shared by every ONNX Runtime backend. */
public final class OrtRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(OrtRuntime.class);

    private OrtRuntime() {
    }

    /**
     * The process-wide environment (created on first use, never closed: ONNX Runtime allows one per
     * process), with telemetry switched off where the build honours the switch.
     */
    public static OrtEnvironment environment() {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try {
            env.setTelemetry(false);
        } catch (OrtException e) {
            LOG.debug("could not switch ONNX Runtime telemetry off", e);
        }
        return env;
    }
}
