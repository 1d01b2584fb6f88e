package io.triptych.api.predictor;

/**
 * An image's rank for a text query.
 *
 * @param index the image's index in the request
 * @param score cosine similarity in [-1, 1]
 */
public record RankedImage(int index, double score) {
}
