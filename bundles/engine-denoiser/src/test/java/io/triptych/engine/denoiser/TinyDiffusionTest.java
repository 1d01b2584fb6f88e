package io.triptych.engine.denoiser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.triptych.api.denoiser.DenoiseRequest;
import io.triptych.api.denoiser.DenoiseResult;

/**
 * Our trained tiny-diffusion (bundles/models/tiny-diffusion): a prompt's colour is what it draws,
 * and the same seed draws the same image.
 */
class TinyDiffusionTest {
    static final Path FOLDER = Path.of("../models/tiny-diffusion/src/main/resources/models/tiny-diffusion");

    static OnnxDenoiser denoiser;

    @BeforeAll
    static void deploy() {
        assertTrue(Files.isRegularFile(FOLDER.resolve("model_index.json")), "tiny-diffusion is missing: " + FOLDER.toAbsolutePath());
        denoiser = OnnxDenoiserTest.load(FOLDER);
    }

    @AfterAll
    static void close() {
        denoiser.close();
    }

    /** The mean colour of the pixels that differ clearly from the image's corner (its background). */
    static double[] objectColour(BufferedImage image) {
        int bg = image.getRGB(0, 0);
        double[] sum = new double[3];
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int p = image.getRGB(x, y);
                int d = Math.abs(((p >> 16) & 255) - ((bg >> 16) & 255)) + Math.abs(((p >> 8) & 255) - ((bg >> 8) & 255))
                        + Math.abs((p & 255) - (bg & 255));
                if (d > 120) {
                    sum[0] += (p >> 16) & 255;
                    sum[1] += (p >> 8) & 255;
                    sum[2] += p & 255;
                    n++;
                }
            }
        }
        assertTrue(n > 4, "no object drawn");
        return new double[] {sum[0] / n, sum[1] / n, sum[2] / n};
    }

    @Test
    void drawsTheColourItIsAskedForAndRepeatsItselfBySeed() {
        int[] dominant = {0, 2, 1}; // red → R, blue → B, green → G
        String[] prompts = {"a large red circle", "a large blue square", "a large green triangle"};
        for (int i = 0; i < prompts.length; i++) {
            DenoiseRequest request = DenoiseRequest.builder(prompts[i]).steps(20).seed(1).guidanceScale(4).build();
            DenoiseResult r = denoiser.denoise(request);
            double[] c = objectColour(r.images().get(0));
            int channel = dominant[i];
            assertTrue(c[channel] > c[(channel + 1) % 3] && c[channel] > c[(channel + 2) % 3],
                    prompts[i] + " drew mean colour " + java.util.Arrays.toString(c));
            assertEquals(32, r.images().get(0).getWidth());
        }
        DenoiseRequest again = DenoiseRequest.builder(prompts[0]).steps(20).seed(1).guidanceScale(4).build();
        assertArrayEquals(OnnxDenoiserTest.png(denoiser.denoise(again).images().get(0)), OnnxDenoiserTest.png(denoiser.denoise(again).images().get(0)));
    }
}
