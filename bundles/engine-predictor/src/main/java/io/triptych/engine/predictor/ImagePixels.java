package io.triptych.engine.predictor;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Image;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;
import java.util.Arrays;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;

/**
 * Turns an image into an encoder's {@code pixels} input: the whole image scaled to the model's
 * square size (shrinking averages the covered source pixels, enlarging interpolates bilinearly),
 * transparent areas composed over white, then RGB in [0, 1] normalised per channel, laid out
 * {@code [1, 3, H, W]}.
 */
final class ImagePixels {
    private ImagePixels() {
    }

    /**
     * @throws InvalidRequestException for a missing or empty image
     */
    static Tensor of(BufferedImage image, JepaConfig config) {
        if (image == null) {
            throw new InvalidRequestException("no image given (an unreadable file or an unsupported format)");
        }
        if (image.getWidth() < 1 || image.getHeight() < 1) {
            throw new InvalidRequestException("the image is empty (" + image.getWidth() + "x" + image.getHeight() + ")");
        }
        int size = config.imageSize();
        BufferedImage rgb = scaled(image, size);
        Tensor pixels = Tensor.allocate(DType.FLOAT32, 1, 3, size, size);
        FloatBuffer out = pixels.floats();
        int plane = size * size;
        float[] mean = config.mean();
        float[] std = config.std();
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int argb = rgb.getRGB(x, y);
                int at = y * size + x;
                for (int c = 0; c < 3; c++) {
                    float v = ((argb >> (16 - 8 * c)) & 0xFF) / 255f;
                    out.put(c * plane + at, (v - mean[c]) / std[c]);
                }
            }
        }
        return pixels;
    }

    /**
     * A copy of {@code pixels} with every target patch filled with {@code value} (in normalised
     * units), for an encoder that leaves such patches out.
     */
    static Tensor withPatchesFilled(Tensor pixels, JepaConfig config, int[] patches, float value) {
        int size = config.imageSize();
        int p = config.patchSize();
        float[] v = pixels.toFloatArray();
        for (int patch : patches) {
            int top = patch / config.grid() * p;
            int left = patch % config.grid() * p;
            for (int c = 0; c < 3; c++) {
                for (int y = top; y < top + p; y++) {
                    Arrays.fill(v, (c * size + y) * size + left, (c * size + y) * size + left + p, value);
                }
            }
        }
        return Tensor.of(v, pixels.shape());
    }

    private static BufferedImage scaled(BufferedImage image, int size) {
        boolean shrinks = image.getWidth() > size || image.getHeight() > size;
        // the JDK's area-averaging filter: each target pixel is the mean of the source pixels it covers
        Image source = shrinks ? image.getScaledInstance(size, size, Image.SCALE_AREA_AVERAGING) : image;
        BufferedImage rgb = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = rgb.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.drawImage(source, 0, 0, size, size, Color.WHITE, null);
        } finally {
            g.dispose();
        }
        return rgb;
    }
}
