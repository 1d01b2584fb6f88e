package io.triptych.engine.predictor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.triptych.api.predictor.ScoredLabel;
import io.triptych.api.predictor.StreamDecoding;

/**
 * Our trained tiny-vljepa (bundles/models/tiny-vljepa) on shapes-world scenes: renders of
 * models/shapes/shapes.py (test resources renders/ and stream/, a 48-frame sequence with 7
 * content changes) and scenes drawn with Java2D.
 */
class TinyVljepaTest {
    static final Path FOLDER = Path.of("../models/tiny-vljepa/src/main/resources/models/tiny-vljepa");
    static final List<String> LABELS = List.of("a red circle", "a blue square", "a green triangle");

    static OnnxPredictor predictor;

    @BeforeAll
    static void deploy() {
        assertTrue(Files.isRegularFile(FOLDER.resolve("jepa.json")), "tiny-vljepa is missing: " + FOLDER.toAbsolutePath());
        predictor = TestModels.serve(FOLDER);
    }

    @AfterAll
    static void close() {
        predictor.close();
    }

    static BufferedImage resource(String path) throws IOException {
        try (InputStream in = TinyVljepaTest.class.getResourceAsStream(path)) {
            return ImageIO.read(in);
        }
    }

    @Test
    void ranksTheRenderedShapeFirst() throws IOException {
        for (String label : LABELS) {
            String file = "/renders/" + label.substring(2).replace(' ', '_') + ".png";
            List<ScoredLabel> ranked = predictor.classify(resource(file), LABELS, null);
            assertEquals(label, ranked.get(0).label(), file + ": " + ranked);
        }
    }

    @Test
    void ranksAShapeDrawnWithJava2dAtAnotherSizeFirst() {
        // black background as the renderer's, but drawn by Java2D at 96x96 and scaled down by the engine
        BufferedImage img = TestModels.solid(Color.BLACK, 96, 96);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(50, 80, 230));
        g.fillRect(28, 28, 40, 40);
        g.dispose();
        assertEquals("a blue square", predictor.classify(img, LABELS, null).get(0).label());
    }

    @Test
    void decodesAFrameStreamSelectively() throws IOException {
        List<String> rows = new ArrayList<>();
        try (InputStream in = TinyVljepaTest.class.getResourceAsStream("/stream/frames.tsv")) {
            rows.addAll(List.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).strip().split("\n")));
        }
        rows.remove(0);
        List<BufferedImage> frames = new ArrayList<>();
        for (String row : rows) {
            frames.add(resource("/stream/" + row.split("\t")[0]));
        }
        List<String> labels = List.of("a red circle", "a red triangle", "a blue triangle", "a cyan circle", "a cyan square", "a yellow square");
        StreamDecoding d = predictor.decodeStream(frames, labels, null, 0.02);
        assertEquals(48, d.labels().size());
        assertEquals(0, d.decodedFrames().get(0));
        // 7 contents in 48 frames, small objects drifting: measured 9 decodes (5.3x fewer) agreeing on 85 % of
        // the frames with decoding each (whose own labels flip where the tiny model hesitates between shapes)
        assertTrue(d.savings() >= 4, "savings " + d.savings() + ", decoded " + d.decodedFrames());
        assertTrue(d.agreement() >= 0.8, "agreement " + d.agreement());
    }
}
