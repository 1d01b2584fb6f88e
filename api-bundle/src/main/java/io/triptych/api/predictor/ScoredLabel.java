package io.triptych.api.predictor;

/**
 * A candidate text and its cosine similarity with the predicted embedding.
 *
 * @param label the candidate
 * @param score cosine similarity in [-1, 1]
 */
public record ScoredLabel(String label, double score) {
}
