package io.triptych.api.model;

/** Whether a model folder was deployed. */
public enum ModelState {
    /** Read and validated; its engine serves it. */
    DEPLOYED,
    /** Could not be loaded; {@link ModelDescriptor#failureReason()} says why. Nothing else is affected. */
    FAILED
}
