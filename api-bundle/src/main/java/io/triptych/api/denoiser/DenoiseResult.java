package io.triptych.api.denoiser;

import java.awt.image.BufferedImage;
import java.util.List;

/**
 * The images drawn.
 *
 * @param images {@code imageCount} RGB images
 * @param seed the seed used
 * @param backendId the backend the last step ran on
 * @param encodeNanos time spent encoding the prompt
 * @param denoiseNanos time spent in the denoising loop
 * @param decodeNanos time spent decoding latents to pixels
 */
public record DenoiseResult(List<BufferedImage> images, long seed, String backendId,
                            long encodeNanos, long denoiseNanos, long decodeNanos) {

    public DenoiseResult {
        images = List.copyOf(images);
    }
}
