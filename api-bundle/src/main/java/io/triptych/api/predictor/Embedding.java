package io.triptych.api.predictor;

import io.triptych.api.tensor.Tensor;

/**
 * An image in representation space.
 *
 * @param patches the patch embeddings, {@code [patches, dim]}
 * @param pooled the pooled embedding as the model's descriptor defines it, {@code dim} values
 */
public record Embedding(Tensor patches, float[] pooled) {

    public Embedding {
        pooled = pooled.clone();
    }

    @Override
    public float[] pooled() {
        return pooled.clone();
    }
}
