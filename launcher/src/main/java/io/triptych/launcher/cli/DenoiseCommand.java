package io.triptych.launcher.cli;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import javax.imageio.ImageIO;

import com.google.gson.GsonBuilder;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.Paradigm;
import io.triptych.api.denoiser.DenoiseRequest;
import io.triptych.api.denoiser.DenoiseResult;
import io.triptych.api.denoiser.Denoiser;
import io.triptych.api.denoiser.NoiseSource;
import io.triptych.api.denoiser.ProgressListener;
import io.triptych.launcher.TriptychHost;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "denoise", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Draws images with a diffusion pipeline (a diffusers ONNX folder) and writes them as PNG. "
                + "Scheduler names and seeds follow diffusers: the same seed and noise source give the same image as Python.")
final class DenoiseCommand implements Callable<Integer> {

    @Mixin
    HostOptions host;

    @Option(names = "--model", paramLabel = "ID|FOLDER", defaultValue = "tiny-diffusion",
            description = "A deployed model's id, or a pipeline folder to deploy for this run.")
    String model;

    @Option(names = "--backend", paramLabel = "ID", description = "Run on this compute backend (e.g. ort-cpu, opencl); exit 2 with the reason if it cannot run the model.")
    String backend;
    @Option(names = "--prompt", required = true, description = "What to draw.")
    String prompt;
    @Option(names = "--negative-prompt", description = "What to steer away from.")
    String negativePrompt = "";
    @Option(names = "--steps", description = "Denoising steps (default: ${DEFAULT-VALUE}).")
    int steps = 50;
    @Option(names = "--scheduler", paramLabel = "NAME",
            description = "A diffusers scheduler class overriding the pipeline's: DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler, "
                    + "EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler, PNDMScheduler, LMSDiscreteScheduler.")
    String scheduler;
    @Option(names = "--guidance-scale", description = "Classifier-free guidance scale; 1 or less turns it off (default: ${DEFAULT-VALUE}).")
    double guidanceScale = 7.5;
    @Option(names = "--guidance-rescale", description = "Guidance rescale φ in [0, 1] (default: ${DEFAULT-VALUE}).")
    double guidanceRescale;
    @Option(names = "--seed", description = "Seed of the noise (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--noise", paramLabel = "torch|numpy",
            description = "Which Python stream the noise reproduces: torch (torch.manual_seed + randn) or numpy (RandomState.randn) (default: torch).")
    String noise = "torch";
    @Option(names = "--num-images", description = "Images to draw (default: ${DEFAULT-VALUE}).")
    int numImages = 1;
    @Option(names = "--init-image", paramLabel = "PNG", description = "Start from this image (img2img).")
    Path initImage;
    @Option(names = "--strength", description = "img2img: the share of the schedule run on the start image, in (0, 1] (default: ${DEFAULT-VALUE}).")
    double strength = 0.8;
    @Option(names = "--out", required = true, paramLabel = "PNG",
            description = "Where to write the image; with several, -1, -2, ... is inserted before the extension.")
    Path out;

    @Override
    public Integer call() {
        NoiseSource source = switch (noise.toLowerCase(Locale.ROOT)) {
            case "torch" -> NoiseSource.TORCH;
            case "numpy" -> NoiseSource.NUMPY;
            default -> throw new InvalidRequestException("--noise must be torch or numpy, not '" + noise + "'");
        };
        DenoiseRequest.Builder b = DenoiseRequest.builder(prompt).negativePrompt(negativePrompt).steps(steps)
                .guidanceScale(guidanceScale).guidanceRescale(guidanceRescale).scheduler(scheduler).seed(seed)
                .noiseSource(source).imageCount(numImages);
        if (initImage != null) {
            b.initImage(readImage(initImage), strength);
        }
        DenoiseRequest request = b.build();
        try (TriptychHost h = host.backendPreference(backend).start()) {
            Denoiser d = host.modelService(h, Denoiser.class, Paradigm.DIFFUSION, model, backend);
            ProgressBar bar = System.console() != null && !host.json ? new ProgressBar(System.err) : null;
            DenoiseResult result = d.denoise(request, bar != null ? bar : (s, n, t) -> { });
            if (bar != null) {
                bar.finish();
            }
            List<Path> written = write(result.images());
            PrintStream stdout = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            if (host.json) {
                stdout.println(json(result, written));
            } else {
                written.forEach(stdout::println);
            }
        }
        return 0;
    }

    private static BufferedImage readImage(Path file) {
        try {
            BufferedImage img = Files.isRegularFile(file) ? ImageIO.read(file.toFile()) : null;
            if (img == null) {
                throw new InvalidRequestException("--init-image " + file + " is not a readable image");
            }
            return img;
        } catch (IOException e) {
            throw new InvalidRequestException("--init-image " + file + ": " + e.getMessage(), e);
        }
    }

    private List<Path> write(List<BufferedImage> images) {
        List<Path> paths = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            Path p = images.size() == 1 ? out : numbered(out, i + 1);
            try {
                if (p.toAbsolutePath().getParent() != null) {
                    Files.createDirectories(p.toAbsolutePath().getParent());
                }
                ImageIO.write(images.get(i), "png", p.toFile());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + p + ": " + e.getMessage(), e);
            }
            paths.add(p);
        }
        return paths;
    }

    private static Path numbered(Path p, int n) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String numbered = dot < 0 ? name + "-" + n : name.substring(0, dot) + "-" + n + name.substring(dot);
        return p.resolveSibling(numbered);
    }

    private static String json(DenoiseResult r, List<Path> written) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("images", written.stream().map(Path::toString).toList());
        o.put("seed", r.seed());
        o.put("backend", r.backendId());
        o.put("encode_ms", r.encodeNanos() / 1e6);
        o.put("denoise_ms", r.denoiseNanos() / 1e6);
        o.put("decode_ms", r.decodeNanos() / 1e6);
        return new GsonBuilder().disableHtmlEscaping().create().toJson(o);
    }

    /** A one-line bar on a terminal, redrawn after each step. */
    static final class ProgressBar implements ProgressListener {
        private static final int WIDTH = 30;
        private final PrintStream err;
        private final long start = System.nanoTime();

        ProgressBar(PrintStream err) {
            this.err = err;
        }

        @Override
        public void onStep(int step, int steps, double timestep) {
            int filled = step * WIDTH / steps;
            double seconds = (System.nanoTime() - start) / 1e9;
            err.printf(Locale.ROOT, "\r[%s%s] %d/%d  %.2f steps/s", "#".repeat(filled), " ".repeat(WIDTH - filled), step, steps,
                    step / Math.max(seconds, 1e-9));
            err.flush();
        }

        void finish() {
            err.println();
        }
    }
}
