package io.triptych.api;

/** No compute backend is available (or the requested one is not) to run a model. */
public class BackendUnavailableException extends TriptychException {
    private static final long serialVersionUID = 1L;

    public BackendUnavailableException(String message) {
        super(message);
    }

    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
