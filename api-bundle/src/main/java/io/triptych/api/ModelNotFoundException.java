package io.triptych.api;

/** No model with the requested id is deployed. */
public class ModelNotFoundException extends TriptychException {
    private static final long serialVersionUID = 1L;

    public ModelNotFoundException(String message) {
        super(message);
    }

    public ModelNotFoundException(String message, Throwable cause) {
        super(message, cause);
    }
}
