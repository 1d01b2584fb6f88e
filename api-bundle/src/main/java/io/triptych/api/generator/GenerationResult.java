package io.triptych.api.generator;

import java.util.List;

/**
 * The outcome of a generation.
 *
 * @param sequences {@code numReturnSequences} sequences per batch row, in row order
 * @param backendId the backend the last step ran on
 * @param promptTokens prompt tokens processed (all rows)
 * @param generatedTokens new tokens produced (all rows)
 * @param promptNanos time spent on the prompt (first step)
 * @param decodeNanos time spent on the following steps
 */
public record GenerationResult(List<GeneratedSequence> sequences, String backendId, long promptTokens,
                               long generatedTokens, long promptNanos, long decodeNanos) {

    public GenerationResult {
        sequences = List.copyOf(sequences);
    }
}
