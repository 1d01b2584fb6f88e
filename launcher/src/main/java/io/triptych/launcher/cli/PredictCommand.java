package io.triptych.launcher.cli;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import com.google.gson.GsonBuilder;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.Paradigm;
import io.triptych.api.predictor.Predictor;
import io.triptych.api.predictor.ScoredLabel;
import io.triptych.api.predictor.StreamDecoding;
import io.triptych.launcher.TriptychHost;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Predicts in representation space with a JEPA / VL-JEPA model (a jepa.json folder).",
                "With --labels: ranks the labels for an image by cosine similarity with its predicted text-space embedding "
                        + "(zero-shot classification); without: prints the embedding.",
                "With --stream: labels a folder of frames (sorted by name), decoding only where the embedding drifts "
                        + "past --threshold, and reports the decodes saved and the agreement with decoding every frame."})
final class PredictCommand implements Callable<Integer> {
    private static final List<String> IMAGE_SUFFIXES = List.of(".png", ".jpg", ".jpeg");

    @Mixin
    HostOptions host;

    @Option(names = "--model", paramLabel = "ID|FOLDER", defaultValue = "tiny-vljepa",
            description = "A deployed model's id, or a model folder to deploy for this run (default: ${DEFAULT-VALUE}, our bundled model).")
    String model;

    @Option(names = "--backend", paramLabel = "ID", description = "Run on this compute backend (e.g. ort-cpu, opencl); exit 2 with the reason if it cannot run the model.")
    String backend;

    @Option(names = "--image", paramLabel = "FILE", description = "The image (PNG or JPEG).")
    Path image;

    @Option(names = "--stream", paramLabel = "FOLDER", description = "A folder of frames (PNG or JPEG, in name order) to label selectively.")
    Path stream;

    @Option(names = "--query", paramLabel = "TEXT", description = "The question the prediction answers (default: the model's default query).")
    String query;

    @Option(names = "--labels", paramLabel = "A,B,C", description = "Candidate labels, comma-separated.")
    String labels;

    @Option(names = "--threshold", defaultValue = "0.02",
            description = "With --stream: the cosine distance from the last decoded embedding that triggers a decode (default: ${DEFAULT-VALUE}).")
    double threshold;

    @Override
    public Integer call() {
        if ((image == null) == (stream == null)) {
            throw new InvalidRequestException("give --image or --stream, not both or neither");
        }
        if (stream != null && labels == null) {
            throw new InvalidRequestException("--stream needs --labels to decode the frames to");
        }
        List<String> candidates = labels == null ? List.of() : Arrays.stream(labels.split(",", -1)).map(String::trim).toList();
        List<Path> files = stream != null ? frames(stream) : List.of(image);
        List<BufferedImage> images = new ArrayList<>();
        for (Path f : files) {
            images.add(read(f));
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (TriptychHost h = host.backendPreference(backend).start()) {
            Predictor predictor = host.modelService(h, Predictor.class, Paradigm.JEPA, model, backend);
            if (stream != null) {
                printStream(out, files, predictor.decodeStream(images, candidates, query, threshold), predictor.backendId());
            } else if (labels != null) {
                printRanking(out, predictor.classify(images.get(0), candidates, query), predictor.backendId());
            } else {
                float[] e = predictor.predict(images.get(0), query);
                out.println(host.json ? json(ordered("embedding", e, "backend", predictor.backendId())) : Arrays.toString(e));
            }
        }
        return 0;
    }

    private void printRanking(PrintStream out, List<ScoredLabel> ranked, String backendId) {
        if (host.json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (ScoredLabel s : ranked) {
                rows.add(ordered("label", s.label(), "score", s.score()));
            }
            out.println(json(ordered("labels", rows, "backend", backendId)));
            return;
        }
        int width = ranked.stream().mapToInt(s -> s.label().length()).max().orElse(0);
        for (ScoredLabel s : ranked) {
            out.printf(Locale.ROOT, "%-" + width + "s  %.4f%n", s.label(), s.score());
        }
    }

    private void printStream(PrintStream out, List<Path> files, StreamDecoding d, String backendId) {
        if (host.json) {
            List<Map<String, Object>> frames = new ArrayList<>();
            for (int i = 0; i < files.size(); i++) {
                frames.add(ordered("file", files.get(i).getFileName().toString(), "label", d.labels().get(i), "decoded", d.decodedFrames().contains(i)));
            }
            out.println(json(ordered("frames", frames, "decodes", d.decodedFrames().size(), "frame_count", files.size(),
                    "savings", d.savings(), "agreement", d.agreement(), "threshold", threshold, "backend", backendId)));
            return;
        }
        for (int i = 0; i < files.size(); i++) {
            out.println(files.get(i).getFileName() + "  " + d.labels().get(i) + (d.decodedFrames().contains(i) ? "  (decoded)" : ""));
        }
        out.printf(Locale.ROOT, "decoded %d of %d frames: %.2fx fewer decodes than every frame; agreement with per-frame decoding %.1f%%%n",
                d.decodedFrames().size(), files.size(), d.savings(), 100 * d.agreement());
    }

    /** The PNG and JPEG files of a folder, by name. */
    private static List<Path> frames(Path folder) {
        if (!Files.isDirectory(folder)) {
            throw new InvalidRequestException("--stream: not a folder: " + folder);
        }
        try (Stream<Path> files = Files.list(folder)) {
            List<Path> frames = files.filter(f -> IMAGE_SUFFIXES.stream().anyMatch(s -> f.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(s)))
                    .sorted().toList();
            if (frames.isEmpty()) {
                throw new InvalidRequestException("--stream: no PNG or JPEG files in " + folder);
            }
            return frames;
        } catch (IOException e) {
            throw new InvalidRequestException("--stream: cannot list " + folder + ": " + e.getMessage(), e);
        }
    }

    private static BufferedImage read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InvalidRequestException("no such image file: " + file);
        }
        try {
            BufferedImage img = ImageIO.read(file.toFile());
            if (img == null) {
                throw new InvalidRequestException("cannot read image " + file + ": not a PNG or JPEG file");
            }
            return img;
        } catch (IOException | RuntimeException e) {
            // ImageIO reports a damaged file either way
            if (e instanceof InvalidRequestException bad) {
                throw bad;
            }
            throw new InvalidRequestException("cannot read image " + file + ": " + e.getMessage(), e);
        }
    }

    /** A JSON object with its keys in the given order. */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> o = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            o.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return o;
    }

    private static String json(Object o) {
        return new GsonBuilder().disableHtmlEscaping().create().toJson(o);
    }
}
