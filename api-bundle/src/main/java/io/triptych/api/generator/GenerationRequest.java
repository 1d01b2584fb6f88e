package io.triptych.api.generator;

import java.util.List;
import java.util.Objects;

import io.triptych.api.Cancellation;

/**
 * What to generate: a batch of text prompts or of raw token id sequences, the search options,
 * optional stop strings and a cancellation flag.
 *
 * @param prompts text prompts, one batch row each (empty when {@code inputIds} is used)
 * @param inputIds raw token ids, one batch row each (empty when {@code prompts} is used); rows of
 *                 different lengths are left-padded by the engine
 * @param search the search options; {@code null} for the model's defaults
 * @param stopStrings generation of a row ends when its new text contains one of these
 * @param cancellation checked before every step; never {@code null}
 */
public record GenerationRequest(List<String> prompts, List<int[]> inputIds, SearchOptions search,
                                List<String> stopStrings, Cancellation cancellation) {

    public GenerationRequest {
        prompts = List.copyOf(prompts);
        inputIds = inputIds.stream().map(int[]::clone).toList();
        stopStrings = List.copyOf(stopStrings);
        Objects.requireNonNull(cancellation, "cancellation");
        if (prompts.isEmpty() == inputIds.isEmpty()) {
            throw new io.triptych.api.InvalidRequestException("give either prompts or input ids, not both or neither");
        }
    }

    /** A request for one text prompt with the model's default search options. */
    public static GenerationRequest of(String prompt) {
        return new GenerationRequest(List.of(prompt), List.of(), null, List.of(), new Cancellation());
    }

    /** A request for a batch of text prompts. */
    public static GenerationRequest ofPrompts(List<String> prompts, SearchOptions search) {
        return new GenerationRequest(prompts, List.of(), search, List.of(), new Cancellation());
    }

    /** A request for a batch of token id rows. */
    public static GenerationRequest ofTokens(List<int[]> inputIds, SearchOptions search) {
        return new GenerationRequest(List.of(), inputIds, search, List.of(), new Cancellation());
    }

    /** This request with other stop strings. */
    public GenerationRequest withStopStrings(List<String> strings) {
        return new GenerationRequest(prompts, inputIds, search, strings, cancellation);
    }

    /** This request with another cancellation flag. */
    public GenerationRequest withCancellation(Cancellation c) {
        return new GenerationRequest(prompts, inputIds, search, stopStrings, c);
    }

    /** The number of batch rows. */
    public int batchSize() {
        return prompts.isEmpty() ? inputIds.size() : prompts.size();
    }
}
