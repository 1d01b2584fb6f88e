package io.triptych.api;

/** A request or option is malformed or out of range (the caller's mistake; nothing on the host changed). */
public class InvalidRequestException extends TriptychException {
    private static final long serialVersionUID = 1L;

    public InvalidRequestException(String message) {
        super(message);
    }

    public InvalidRequestException(String message, Throwable cause) {
        super(message, cause);
    }
}
