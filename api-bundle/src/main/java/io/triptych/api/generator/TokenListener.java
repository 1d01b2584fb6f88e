package io.triptych.api.generator;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives tokens as they are chosen, for streaming. Called on the generating thread; keep it
 * quick. Text deltas are cut at character boundaries: concatenated, they give the sequence's text.
 * With beam search, tokens arrive only when the search ends.
 */
@ConsumerType
@FunctionalInterface
public interface TokenListener {

    /**
     * @param sequenceIndex the index of the sequence in {@link GenerationResult#sequences()}
     * @param tokenId the new token
     * @param textDelta the new text it completes (may be empty while a character is incomplete)
     */
    void onToken(int sequenceIndex, int tokenId, String textDelta);
}
