package io.triptych.api;

/** A model folder could not be loaded: a missing or unreadable file, malformed JSON or ONNX, or an inconsistent configuration. */
public class ModelLoadException extends TriptychException {
    private static final long serialVersionUID = 1L;

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
