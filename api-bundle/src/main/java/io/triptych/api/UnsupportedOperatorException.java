package io.triptych.api;

import java.util.Set;
import java.util.TreeSet;

/** A backend cannot compile a model because it lacks operators the model uses. */
public class UnsupportedOperatorException extends TriptychException {
    private static final long serialVersionUID = 1L;

    private final String backendId;
    private final Set<String> missingOperators;

    /**
     * @param backendId the backend that refused the model
     * @param missingOperators every missing operator, as {@code domain:OpType}
     */
    public UnsupportedOperatorException(String backendId, Set<String> missingOperators) {
        super("backend " + backendId + " does not implement " + new TreeSet<>(missingOperators));
        this.backendId = backendId;
        this.missingOperators = Set.copyOf(missingOperators);
    }

    /** The backend that refused the model. */
    public String backendId() {
        return backendId;
    }

    /** Every operator the backend lacks, as {@code domain:OpType}. */
    public Set<String> missingOperators() {
        return missingOperators;
    }
}
