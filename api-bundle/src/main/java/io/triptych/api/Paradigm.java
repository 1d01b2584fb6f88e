package io.triptych.api;

import java.util.Locale;

/** The three families of models Triptych runs, each behind its own service. */
public enum Paradigm {
    /** Autoregressive next-token generation, served by {@code Generator}. */
    LLM,
    /** Iterative denoising from noise, served by {@code Denoiser}. */
    DIFFUSION,
    /** Prediction in representation space, served by {@code Predictor}. */
    JEPA;

    /** The lower-case name used in service properties and on the command line. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a paradigm from its {@link #id()}.
     *
     * @throws InvalidRequestException if {@code id} names no paradigm
     */
    public static Paradigm fromId(String id) {
        for (Paradigm p : values()) {
            if (p.id().equals(id)) {
                return p;
            }
        }
        throw new InvalidRequestException("unknown paradigm '" + id + "' (expected llm, diffusion or jepa)");
    }
}
