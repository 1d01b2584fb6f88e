package io.triptych.api.predictor;

/**
 * A rectangle of patches on the image's patch grid.
 *
 * @param row top patch row
 * @param column left patch column
 * @param height rows, ≥ 1
 * @param width columns, ≥ 1
 */
public record PatchBlock(int row, int column, int height, int width) {
}
