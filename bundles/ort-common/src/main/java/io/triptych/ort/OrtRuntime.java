package io.triptych.ort;

import java.util.Set;

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

    /**
     * Whether an operator id ({@code domain:OpType}) lies in one of {@code domains}: ONNX Runtime's
     * execution providers implement whole operator domains, so that is what its backends report.
     */
    public static boolean inDomains(String operator, Set<String> domains) {
        int colon = operator.lastIndexOf(':');
        return colon > 0 && domains.contains(operator.substring(0, colon));
    }
}
