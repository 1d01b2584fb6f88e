package io.triptych.api;

/**
 * Root of every error a Triptych service reports. Unchecked, so that callers handle the
 * subtypes they care about; each subtype's message is one line fit for a user.
 */
public class TriptychException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TriptychException(String message) {
        super(message);
    }

    public TriptychException(String message, Throwable cause) {
        super(message, cause);
    }
}
