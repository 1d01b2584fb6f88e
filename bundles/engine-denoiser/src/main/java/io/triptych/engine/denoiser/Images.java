package io.triptych.engine.denoiser;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/** Conversions between images and float CHW arrays in [−1, 1], as diffusers' image processors. */
final class Images {
    private Images() {
    }

    /** [3, h, w] at {@code offset} in [−1, 1] → RGB, through (x/2 + 0.5) clamped to [0, 1] and rounded to 8 bits. */
    static BufferedImage toImage(float[] chw, int offset, int h, int w) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = offset + y * w + x;
                img.setRGB(x, y, channel(chw[i]) << 16 | channel(chw[i + plane]) << 8 | channel(chw[i + 2 * plane]));
            }
        }
        return img;
    }

    private static int channel(float v) {
        float unit = Math.min(Math.max(v / 2f + 0.5f, 0f), 1f);
        return Math.round(unit * 255f);
    }

    /** An image resized (bicubic) to w×h, as [3, h, w] in [−1, 1]. */
    static float[] toArray(BufferedImage image, int h, int w) {
        BufferedImage scaled = image;
        if (image.getWidth() != w || image.getHeight() != h || image.getType() != BufferedImage.TYPE_INT_RGB) {
            scaled = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = scaled.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
            g.drawImage(image, 0, 0, w, h, null);
            g.dispose();
        }
        float[] chw = new float[3 * h * w];
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = scaled.getRGB(x, y);
                int i = y * w + x;
                chw[i] = ((rgb >> 16) & 0xFF) / 127.5f - 1f;
                chw[i + plane] = ((rgb >> 8) & 0xFF) / 127.5f - 1f;
                chw[i + 2 * plane] = (rgb & 0xFF) / 127.5f - 1f;
            }
        }
        return chw;
    }
}
