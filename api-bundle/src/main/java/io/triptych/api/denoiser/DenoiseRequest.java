package io.triptych.api.denoiser;

import java.awt.image.BufferedImage;
import java.util.Objects;

import io.triptych.api.Cancellation;

/**
 * What to draw. Build with {@link #builder(String)}; unset options take the pipeline's defaults.
 *
 * @param prompt the text to draw
 * @param negativePrompt what to steer away from (the unconditional branch of guidance); may be empty
 * @param steps number of denoising steps, ≥ 1
 * @param guidanceScale classifier-free guidance scale; ≤ 1 disables guidance
 * @param guidanceRescale guidance rescale factor φ in [0, 1]
 * @param scheduler a diffusers scheduler class name overriding the pipeline's, or {@code null}
 * @param seed seed of the initial noise
 * @param noiseSource which Python stream the noise reproduces
 * @param imageCount images per prompt, ≥ 1
 * @param initImage a start image for img2img, or {@code null} for text-to-image
 * @param strength img2img strength in (0, 1]: how much of the schedule is run
 * @param cancellation checked before every step
 */
public record DenoiseRequest(String prompt, String negativePrompt, int steps, double guidanceScale,
                             double guidanceRescale, String scheduler, long seed, NoiseSource noiseSource,
                             int imageCount, BufferedImage initImage, double strength, Cancellation cancellation) {

    public DenoiseRequest {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(negativePrompt, "negativePrompt");
        Objects.requireNonNull(noiseSource, "noiseSource");
        Objects.requireNonNull(cancellation, "cancellation");
    }

    /** A builder with diffusers' pipeline defaults (50 steps, guidance 7.5, seed 0, torch noise). */
    public static Builder builder(String prompt) {
        return new Builder(prompt);
    }

    /** Builds a {@link DenoiseRequest}. */
    public static final class Builder {
        private final String prompt;
        private String negativePrompt = "";
        private int steps = 50;
        private double guidanceScale = 7.5;
        private double guidanceRescale = 0.0;
        private String scheduler;
        private long seed;
        private NoiseSource noiseSource = NoiseSource.TORCH;
        private int imageCount = 1;
        private BufferedImage initImage;
        private double strength = 0.8;
        private Cancellation cancellation = new Cancellation();

        private Builder(String prompt) {
            this.prompt = prompt;
        }

        public Builder negativePrompt(String v) { negativePrompt = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder guidanceScale(double v) { guidanceScale = v; return this; }
        public Builder guidanceRescale(double v) { guidanceRescale = v; return this; }
        public Builder scheduler(String v) { scheduler = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder noiseSource(NoiseSource v) { noiseSource = v; return this; }
        public Builder imageCount(int v) { imageCount = v; return this; }
        public Builder initImage(BufferedImage v, double strength) { initImage = v; this.strength = strength; return this; }
        public Builder cancellation(Cancellation v) { cancellation = v; return this; }

        public DenoiseRequest build() {
            return new DenoiseRequest(prompt, negativePrompt, steps, guidanceScale, guidanceRescale, scheduler,
                    seed, noiseSource, imageCount, initImage, strength, cancellation);
        }
    }
}
