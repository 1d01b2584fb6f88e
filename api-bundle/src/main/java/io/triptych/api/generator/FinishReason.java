package io.triptych.api.generator;

/** Why a generated sequence ended. */
public enum FinishReason {
    /** The model produced its end-of-sequence token. */
    EOS,
    /** The sequence reached the maximum length. */
    MAX_LENGTH,
    /** The new text contained a stop string. */
    STOP_STRING
}
