package io.triptych.api;

/**
 * A flag a caller sets to stop work in progress. Engines check it between steps (a token,
 * a denoising step, a frame) and then throw {@link CancelledException}.
 */
public final class Cancellation {
    private volatile boolean cancelled;

    /** Asks the work to stop at its next step. Idempotent, callable from any thread. */
    public void cancel() {
        cancelled = true;
    }

    /** Whether {@link #cancel()} has been called. */
    public boolean isCancelled() {
        return cancelled;
    }

    /**
     * Throws if cancelled.
     *
     * @throws CancelledException if {@link #cancel()} has been called
     */
    public void throwIfCancelled() {
        if (cancelled) {
            throw new CancelledException("cancelled");
        }
    }
}
