package io.triptych.api.generator;

/**
 * One generated sequence.
 *
 * @param batchIndex the request row it continues
 * @param tokens the whole sequence, prompt included, padding excluded
 * @param promptLength how many of {@code tokens} are the prompt
 * @param text the decoded new text (the prompt excluded)
 * @param finishReason why it ended
 * @param score the beam score (length-normalised log probability), or {@code NaN} without beam search
 */
public record GeneratedSequence(int batchIndex, int[] tokens, int promptLength, String text,
                                FinishReason finishReason, double score) {

    public GeneratedSequence {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }
}
