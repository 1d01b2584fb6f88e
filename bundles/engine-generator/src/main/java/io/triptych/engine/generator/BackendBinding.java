package io.triptych.engine.generator;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.backend.CompiledModel;

/**
 * The compiled decoder that new requests of one model run on, replaceable at any time: a request
 * holds a {@link Lease} on the model it started with, and a replaced model is closed when its last
 * lease ends. This is the seam where backend hot swap happens.
 */
final class BackendBinding {
    /** A compiled model with the count of requests running on it. */
    private static final class Bound {
        final CompiledModel model;
        int leases;
        boolean retired;

        Bound(CompiledModel model) {
            this.model = model;
        }
    }

    /** A request's hold on one compiled model; close it when the request ends. */
    final class Lease implements AutoCloseable {
        private final Bound bound;
        private boolean released;

        private Lease(Bound bound) {
            this.bound = bound;
        }

        CompiledModel model() {
            return bound.model;
        }

        @Override
        public void close() {
            boolean closeIt;
            synchronized (BackendBinding.this) {
                if (released) {
                    return;
                }
                released = true;
                closeIt = --bound.leases == 0 && bound.retired;
            }
            if (closeIt) {
                bound.model.close();
            }
        }
    }

    private Bound current;
    private String unavailableReason = "no compute backend is registered";

    /** A lease on the current model. @throws BackendUnavailableException if there is none, with the reason */
    synchronized Lease acquire() {
        if (current == null) {
            throw new BackendUnavailableException(unavailableReason);
        }
        current.leases++;
        return new Lease(current);
    }

    /** Makes {@code model} the one new requests run on; the previous one closes when drained. */
    void bind(CompiledModel model) {
        replace(new Bound(model), null);
    }

    /** No backend runs the model now; new requests fail with {@code reason}. */
    void unbind(String reason) {
        replace(null, reason);
    }

    /** The id of the backend new requests run on, or {@code null}. */
    synchronized String backendId() {
        return current == null ? null : current.model.backendId();
    }

    private void replace(Bound next, String reason) {
        Bound old;
        synchronized (this) {
            old = current;
            current = next;
            if (reason != null) {
                unavailableReason = reason;
            }
            if (old == null) {
                return;
            }
            old.retired = true;
            if (old.leases > 0) {
                return;
            }
        }
        old.model.close();
    }
}
