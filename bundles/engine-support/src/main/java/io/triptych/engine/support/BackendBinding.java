package io.triptych.engine.support;

import java.time.Duration;
import java.util.Map;
import java.util.function.Function;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.TriptychException;
import io.triptych.api.backend.CompiledModel;

/**
 * The compiled parts of one model that new requests run on, replaceable at any time: a request
 * holds a {@link Lease} on the parts it started with, and replaced parts are closed when their
 * last lease ends (draining). A request whose backend vanished mid-step asks for
 * {@link Lease#call} continues on whatever the model was moved to.
 */
public final class BackendBinding {

    /** The parts of a model compiled on one backend, by {@code ModelPart.name()}. */
    public record Compiled(String backendId, Map<String, CompiledModel> parts) {
        public Compiled {
            parts = Map.copyOf(parts);
        }

        /** The compiled part; every part of the model is compiled. */
        public CompiledModel part(String name) {
            CompiledModel m = parts.get(name);
            if (m == null) {
                throw new IllegalStateException("part " + name + " was not compiled on " + backendId);
            }
            return m;
        }

        void close() {
            parts.values().forEach(CompiledModel::close);
        }
    }

    /** A compiled set with the count of requests running on it. */
    private static final class Bound {
        final Compiled compiled;
        int leases;
        boolean retired;

        Bound(Compiled compiled) {
            this.compiled = compiled;
        }
    }

    /**
     * A request's hold on the model's parts for its whole life; close it when the request ends.
     * Run the request's graph work through {@link #call}, which follows the model to other parts
     * when the backend under the request goes away.
     */
    public final class Lease implements AutoCloseable {
        /** Changed only by the request's own thread, in {@link #moveOn}. */
        private Bound bound;
        private boolean released;

        private Lease(Bound bound) {
            this.bound = bound;
        }

        /** The compiled parts this request runs on now. */
        public Compiled compiled() {
            return bound.compiled;
        }

        /**
         * Runs {@code work} on this request's parts. If their backend went away under it (the
         * work threw {@link BackendUnavailableException}), the request moves to the parts the model
         * was moved to, waiting up to {@value BackendBinding#MOVE_WAIT_SECONDS} s for them, and the work runs
         * again there; swaps in quick succession may move one call up to {@value BackendBinding#MAX_MOVES}
         * times. The work therefore starts over on the parts it is given and must carry the
         * request's state to them (a generator rebuilds its cache from the tokens so far, a
         * denoiser continues from its current latents).
         *
         * @throws BackendUnavailableException if no other backend took over in time
         */
        public <T> T call(Function<Compiled, T> work) {
            for (int moves = 0; ; moves++) {
                try {
                    return work.apply(bound.compiled);
                } catch (BackendUnavailableException gone) {
                    if (moves == MAX_MOVES) {
                        throw gone;
                    }
                    moveOn();
                }
            }
        }

        /** Gives up the lost parts (closing them if this was their last request) and leases those the model moved to. */
        private void moveOn() {
            Bound from = bound;
            close();
            long deadline = System.nanoTime() + moveWait.toNanos();
            synchronized (BackendBinding.this) {
                while (current == null || current == from) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new BackendUnavailableException("backend " + from.compiled.backendId() + " went away and no other took over within "
                                + moveWait.toMillis() + " ms" + (current == null ? ": " + unavailableReason : ""));
                    }
                    try {
                        BackendBinding.this.wait(Math.max(1, left / 1_000_000));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new TriptychException("interrupted while waiting for a backend");
                    }
                }
                current.leases++;
                bound = current;
                released = false;
            }
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
                bound.compiled.close();
            }
        }
    }

    private static final int SWAP_GAP_SECONDS = 15;
    /** How long a request waits for a backend while backends are being swapped. */
    static final Duration SWAP_GAP_WAIT = Duration.ofSeconds(SWAP_GAP_SECONDS);
    private static final int MOVE_WAIT_SECONDS = 60;
    /** How many times one {@link Lease#call} may move to other parts before the request fails. */
    private static final int MAX_MOVES = 8;

    /** How long a request whose backend went away waits for the model to run elsewhere. */
    private final Duration moveWait;
    private Bound current;
    private String unavailableReason = "no compute backend is registered";
    /** Whether the model is without parts only while backends come and go (then requests wait), not because none can run it. */
    private boolean inGap = true;

    /** A binding whose requests wait up to {@value #MOVE_WAIT_SECONDS} s for the model to move when their backend goes away. */
    public BackendBinding() {
        this(Duration.ofSeconds(MOVE_WAIT_SECONDS));
    }

    BackendBinding(Duration moveWait) {
        this.moveWait = moveWait;
    }

    /**
     * A lease on the current parts. While the model is between backends (a swap left none for
     * a moment) this waits up to {@value #SWAP_GAP_SECONDS} s for one.
     *
     * @throws BackendUnavailableException if no backend runs the model, with the reason
     */
    public synchronized Lease acquire() {
        long deadline = System.nanoTime() + SWAP_GAP_WAIT.toNanos();
        while (current == null && inGap) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TriptychException("interrupted while waiting for a backend");
            }
        }
        if (current == null) {
            throw new BackendUnavailableException(unavailableReason);
        }
        current.leases++;
        return new Lease(current);
    }

    /** Makes {@code compiled} the parts new requests run on; the previous ones close when drained. */
    public void bind(Compiled compiled) {
        replace(new Bound(compiled), null);
    }

    /** No backend can run the model; new requests fail at once with {@code reason}. */
    public void unbind(String reason) {
        unbind(reason, false);
    }

    /**
     * No backend runs the model now.
     *
     * @param inSwapGap whether that is only because backends are coming and going (none is
     *                  registered, or those tried were going away): requests then wait a while
     *                  for one before failing with {@code reason}
     */
    public void unbind(String reason, boolean inSwapGap) {
        synchronized (this) {
            inGap = inSwapGap;
        }
        replace(null, reason);
    }

    /** The id of the backend new requests run on, or {@code null}. */
    public synchronized String backendId() {
        return current == null ? null : current.compiled.backendId();
    }

    private void replace(Bound next, String reason) {
        Bound old;
        synchronized (this) {
            old = current;
            current = next;
            if (next != null) {
                inGap = true;
            }
            if (reason != null) {
                unavailableReason = reason;
            }
            notifyAll();
            if (old == null) {
                return;
            }
            old.retired = true;
            if (old.leases > 0) {
                return;
            }
        }
        old.compiled.close();
    }
}
