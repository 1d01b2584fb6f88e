package io.triptych.api.predictor;

import io.triptych.api.tensor.Tensor;

/**
 * The predicted embeddings of masked target patches from the visible context (I-JEPA).
 *
 * @param predicted predicted target embeddings, {@code [targetPatches, dim]}
 * @param energy mean distance between predicted and target-encoder embeddings (low for plausible
 *               scenes), or {@code NaN} if the model has no target encoder
 */
public record MaskedPrediction(Tensor predicted, double energy) {
}
