package io.triptych.engine.support;

import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.model.ModelDescriptor;

/**
 * The lifecycle every {@link Served} model shares: its binding, requests run through
 * {@link #withOpen} so that {@link #close()} waits for those in flight, then frees what the
 * subclass holds ({@link #release()}) exactly once.
 *
 * @param <S> the service type
 */
public abstract class ServedModel<S> implements Served<S> {
    private final ModelDescriptor model;
    private final BackendBinding binding = new BackendBinding();
    private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    protected ServedModel(ModelDescriptor model) {
        this.model = model;
    }

    @Override
    public final ModelDescriptor model() {
        return model;
    }

    @Override
    public final BackendBinding binding() {
        return binding;
    }

    /** The backend new requests run on, or {@code null} while none can run the model. */
    public final String backendId() {
        return binding.backendId();
    }

    /**
     * Runs a request while the model is served.
     *
     * @throws BackendUnavailableException if the model was withdrawn
     */
    protected final <T> T withOpen(Supplier<T> work) {
        lifecycle.readLock().lock();
        try {
            if (closed) {
                throw new BackendUnavailableException("model " + model.id() + " was withdrawn");
            }
            return work.get();
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Waits for requests in flight, unbinds the compiled parts (closing them), then {@link #release()}s. */
    @Override
    public final void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            binding.unbind("model " + model.id() + " was withdrawn");
            release();
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    /** Frees what the model holds besides its compiled parts (a tokenizer); called once, after the last request. */
    protected abstract void release();
}
