package io.triptych.api;

/** The work was cancelled through its {@link Cancellation} before it finished. */
public class CancelledException extends TriptychException {
    private static final long serialVersionUID = 1L;

    public CancelledException(String message) {
        super(message);
    }

    public CancelledException(String message, Throwable cause) {
        super(message, cause);
    }
}
