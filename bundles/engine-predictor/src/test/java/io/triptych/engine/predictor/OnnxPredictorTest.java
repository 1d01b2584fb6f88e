package io.triptych.engine.predictor;

import static io.triptych.engine.predictor.TestModels.serve;
import static io.triptych.engine.predictor.TestModels.shape;
import static io.triptych.engine.predictor.TestModels.solid;
import static io.triptych.engine.predictor.TestModels.variant;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.ModelLoadException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.predictor.Embedding;
import io.triptych.api.predictor.MaskedPrediction;
import io.triptych.api.predictor.PatchBlock;
import io.triptych.api.predictor.RankedImage;
import io.triptych.api.predictor.ScoredLabel;
import io.triptych.api.predictor.StreamDecoding;
import io.triptych.api.tensor.Tensor;
import io.triptych.api.tensor.TensorSpec;
import io.triptych.engine.support.BackendBinding;

/** The engine's mechanics on test-jepa, a random-weight model folder of 16x16 images, 4x4 patches and width 16. */
class OnnxPredictorTest {
    static final List<String> LABELS = List.of("a red circle", "a blue square", "a green triangle");

    static OnnxPredictor predictor;

    @BeforeAll
    static void deploy() {
        predictor = serve(TestModels.testJepa());
    }

    @AfterAll
    static void close() {
        predictor.close();
    }

    @Test
    void encodesOnePatchPerGridCellAndPoolsTheirMean() {
        Embedding e = predictor.encode(shape("square", Color.BLUE, 16));
        assertArrayEquals(new long[] {16, 16}, e.patches().shape());
        float[] patches = e.patches().toFloatArray();
        float[] pooled = e.pooled();
        assertEquals(16, pooled.length);
        for (int d = 0; d < 16; d++) {
            double sum = 0;
            for (int n = 0; n < 16; n++) {
                sum += patches[n * 16 + d];
            }
            assertEquals(sum / 16, pooled[d], 1e-5);
        }
        assertArrayEquals(pooled, predictor.encode(shape("square", Color.BLUE, 16)).pooled(), "deterministic");
        assertFalse(Arrays.equals(pooled, predictor.encode(shape("circle", Color.RED, 16)).pooled()));
    }

    @Test
    void scalesImagesOfAnySizeToTheModelsAndNormalisesThem() {
        // a solid colour stays that colour at any size; area averaging keeps it exact
        float[] small = predictor.encode(solid(Color.ORANGE, 16, 16)).pooled();
        assertArrayEquals(small, predictor.encode(solid(Color.ORANGE, 300, 120)).pooled(), 1e-5f);
        assertArrayEquals(small, predictor.encode(solid(Color.ORANGE, 5, 9)).pooled(), 1e-5f);
        // shrinking averages: 4x4 blocks of black and white checks average to the grey they cover
        BufferedImage checks = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                checks.setRGB(x, y, ((x + y) & 1) == 0 ? 0xFFFFFF : 0x000000);
            }
        }
        Tensor pixels = ImagePixels.of(checks, JepaConfig.read(predictor.model()));
        for (float v : pixels.toFloatArray()) {
            assertEquals(0.0, v, 0.01, "mean 0.5, std 0.5: mid grey normalises to 0");
        }
        // transparency is composed over white
        BufferedImage clear = new BufferedImage(16, 16, BufferedImage.TYPE_INT_ARGB);
        assertArrayEquals(predictor.encode(solid(Color.WHITE, 16, 16)).pooled(), predictor.encode(clear).pooled(), 1e-6f);
    }

    @Test
    void predictsTargetBlocksFromTheirContextWithTheirEnergy() {
        BufferedImage img = shape("triangle", Color.GREEN, 32);
        // two overlapping blocks: 2x2 at (1,1) and 1x3 at (2,1) cover 5 patches
        MaskedPrediction m = predictor.predictMasked(img, List.of(new PatchBlock(1, 1, 2, 2), new PatchBlock(2, 1, 1, 3)));
        assertArrayEquals(new long[] {5, 16}, m.predicted().shape());
        assertTrue(Double.isFinite(m.energy()) && m.energy() > 0, "energy " + m.energy());
        assertEquals(m.energy(), predictor.predictMasked(img, List.of(new PatchBlock(2, 1, 1, 3), new PatchBlock(1, 1, 2, 2))).energy(), 1e-9,
                "the targets are a set of patches: order and overlap do not matter");
        MaskedPrediction one = predictor.predictMasked(img, List.of(new PatchBlock(3, 3, 1, 1)));
        assertArrayEquals(new long[] {1, 16}, one.predicted().shape());
    }

    @Test
    void energyComparesWithLayerNormedTargetPatches(@TempDir Path dir) {
        BufferedImage img = shape("circle", Color.RED, 16);
        List<PatchBlock> targets = List.of(new PatchBlock(0, 0, 2, 4));
        MaskedPrediction normed = predictor.predictMasked(img, targets);
        OnnxPredictor raw = serve(variant(dir.resolve("raw"), Map.of(), d -> d.addProperty("target_norm", "none")));
        OnnxPredictor noTarget = serve(variant(dir.resolve("none"), Map.of(), d -> d.remove("target_encoder")));
        try {
            // recompute both energies from the target encoder's patches
            float[] predicted = normed.predicted().toFloatArray();
            float[] target = targetPatches(raw, img, new int[] {0, 1, 2, 3, 4, 5, 6, 7});
            assertEquals(Vectors.meanRowDistance(predicted, target, 8, 16), raw.predictMasked(img, targets).energy(), 1e-5);
            Vectors.layerNormRows(target, 8, 16);
            assertEquals(Vectors.meanRowDistance(predicted, target, 8, 16), normed.energy(), 1e-5);
            MaskedPrediction withoutTarget = noTarget.predictMasked(img, targets);
            assertTrue(Double.isNaN(withoutTarget.energy()));
            assertArrayEquals(predicted, withoutTarget.predicted().toFloatArray(), 1e-6f);
        } finally {
            raw.close();
            noTarget.close();
        }
    }

    @Test
    void encodesTheContextAloneWhenTheModelDeclaresAMaskSentinel(@TempDir Path dir) {
        JepaConfig config = JepaConfig.read(predictor.model());
        Tensor pixels = ImagePixels.of(shape("square", Color.BLUE, 16), config);
        float[] before = pixels.toFloatArray();
        // patch 6 = grid row 1, column 2 = pixel rows 4..7, columns 8..11
        float[] after = ImagePixels.withPatchesFilled(pixels, config, new int[] {6}, -6f).toFloatArray();
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 16; y++) {
                for (int x = 0; x < 16; x++) {
                    int i = (c * 16 + y) * 16 + x;
                    assertEquals(y >= 4 && y < 8 && x >= 8 && x < 12 ? -6f : before[i], after[i], 0f);
                }
            }
        }
        // what the context encoder is given: the targets filled below the sentinel, the rest as is
        OnnxPredictor masking = new OnnxPredictor(TestModels.describe(variant(dir.resolve("sentinel"), Map.of(),
                d -> d.addProperty("mask_sentinel", -5.0))));
        try {
            Map<String, CompiledModel> parts = new HashMap<>(TestModels.compile(masking).parts());
            CompiledModel x = parts.get("x_encoder.onnx");
            List<float[]> seen = new ArrayList<>();
            parts.put("x_encoder.onnx", new CompiledModel() {
                @Override public String backendId() { return x.backendId(); }
                @Override public List<TensorSpec> inputs() { return x.inputs(); }
                @Override public List<TensorSpec> outputs() { return x.outputs(); }
                @Override public void close() { x.close(); }
                @Override public Map<String, Tensor> run(Map<String, ? extends Tensor> inputs, Set<String> outputs) {
                    seen.add(inputs.get("pixels").toFloatArray());
                    return x.run(inputs, outputs);
                }
            });
            masking.binding().bind(new BackendBinding.Compiled(x.backendId(), parts));
            masking.predictMasked(shape("square", Color.BLUE, 16), List.of(new PatchBlock(1, 2, 1, 1)));
            assertArrayEquals(ImagePixels.withPatchesFilled(pixels, config, new int[] {6}, -6f).toFloatArray(), seen.get(0));
        } finally {
            masking.close();
        }
    }

    private static float[] targetPatches(OnnxPredictor p, BufferedImage img, int[] rows) {
        try (BackendBinding.Lease lease = p.binding().acquire()) {
            Tensor pixels = ImagePixels.of(img, JepaConfig.read(p.model()));
            CompiledModel target = lease.compiled().part("target_encoder.onnx");
            try (Tensor out = target.run(Map.of("pixels", pixels)).get("patches")) {
                return Vectors.rows(out.toFloatArray(), 16, rows);
            }
        }
    }

    @Test
    void rejectsTargetsOffTheGridOrCoveringEverything() {
        BufferedImage img = solid(Color.GRAY, 16, 16);
        assertEquals("target block PatchBlock[row=3, column=2, height=2, width=1] does not lie on the 4x4 patch grid",
                assertThrows(InvalidRequestException.class, () -> predictor.predictMasked(img, List.of(new PatchBlock(3, 2, 2, 1)))).getMessage());
        assertThrows(InvalidRequestException.class, () -> predictor.predictMasked(img, List.of(new PatchBlock(0, 0, 0, 1))));
        assertEquals("no target blocks given", assertThrows(InvalidRequestException.class, () -> predictor.predictMasked(img, List.of())).getMessage());
        assertEquals("the targets cover all 16 patches; no context is left to predict from",
                assertThrows(InvalidRequestException.class, () -> predictor.predictMasked(img, List.of(new PatchBlock(0, 0, 4, 4)))).getMessage());
    }

    @Test
    void predictsUnitEmbeddingsInTextSpaceWithTheDefaultQueryWhenNoneIsGiven() {
        BufferedImage img = shape("square", Color.BLUE, 16);
        float[] e = predictor.predict(img, "what shape is in the image ?");
        assertEquals(16, e.length);
        assertEquals(1.0, Vectors.dot(e, e), 1e-5);
        assertArrayEquals(predictor.predict(img, "what is in the image ?"), predictor.predict(img, ""));
        assertArrayEquals(predictor.predict(img, null), predictor.predict(img, "  "));
        assertFalse(Arrays.equals(e, predictor.predict(img, "")), "the query matters");
    }

    @Test
    void classifiesByCosineSimilarityWithTheLabelsTextEmbeddings() {
        BufferedImage img = shape("square", Color.BLUE, 16);
        List<ScoredLabel> ranked = predictor.classify(img, LABELS, null);
        assertEquals(Set.copyOf(LABELS), Set.copyOf(ranked.stream().map(ScoredLabel::label).toList()));
        for (int i = 0; i < ranked.size(); i++) {
            assertTrue(ranked.get(i).score() >= -1 && ranked.get(i).score() <= 1);
            assertTrue(i == 0 || ranked.get(i - 1).score() >= ranked.get(i).score(), "best first");
        }
        // each score is the cosine of the predicted embedding with the label's y_encoder embedding
        float[] e = predictor.predict(img, null);
        try (BackendBinding.Lease lease = predictor.binding().acquire(); TextTokens t = tokens()) {
            float[][] labels = predictor.textEmbeddings(lease.compiled(), t.encode(LABELS));
            for (ScoredLabel s : ranked) {
                assertEquals(Vectors.dot(e, labels[LABELS.indexOf(s.label())]), s.score(), 1e-5);
            }
        }
    }

    private static TextTokens tokens() {
        return TextTokens.load(TestModels.testJepa().resolve("tokenizer.json"), 8);
    }

    @Test
    void padsTextsWithTheTokenizersSpecialTokensToTheMaxLength() {
        try (TextTokens t = tokens()) {
            TextTokens.Batch b = t.encode(List.of("A blue square", "what is in the image ? a red green blue circle"));
            // [CLS]=2 a=4 blue=9 square=12 [SEP]=3 then [PAD]=0; the long text is cut to 6 words + [SEP]
            assertArrayEquals(new long[] {2, 4, 9, 12, 3, 0, 0, 0, 2, 14, 15, 16, 6, 17, 18, 3}, b.ids());
            assertArrayEquals(new long[] {1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, b.mask());
        }
    }

    @Test
    void rejectsMissingLabelsAndImages() {
        BufferedImage img = solid(Color.RED, 16, 16);
        assertEquals("no labels given", assertThrows(InvalidRequestException.class, () -> predictor.classify(img, List.of(), null)).getMessage());
        assertEquals("label 1 is empty", assertThrows(InvalidRequestException.class,
                () -> predictor.classify(img, Arrays.asList("a", " "), null)).getMessage());
        assertEquals("label 'a' is given twice", assertThrows(InvalidRequestException.class,
                () -> predictor.classify(img, List.of("a", "a"), null)).getMessage());
        assertEquals("no image given (an unreadable file or an unsupported format)",
                assertThrows(InvalidRequestException.class, () -> predictor.classify(null, LABELS, null)).getMessage());
        assertEquals("image 1: no image given (an unreadable file or an unsupported format)",
                assertThrows(InvalidRequestException.class, () -> predictor.retrieve("a red circle", Arrays.asList(img, null))).getMessage());
        assertEquals("no text to retrieve images for", assertThrows(InvalidRequestException.class,
                () -> predictor.retrieve(" ", List.of(img))).getMessage());
        assertEquals("no images given", assertThrows(InvalidRequestException.class, () -> predictor.retrieve("a", List.of())).getMessage());
    }

    @Test
    void retrievesImagesBestFirst() {
        List<BufferedImage> images = List.of(shape("circle", Color.RED, 16), shape("square", Color.BLUE, 16),
                shape("triangle", Color.GREEN, 16), shape("circle", Color.RED, 16));
        List<RankedImage> ranked = predictor.retrieve("a red circle", images);
        assertEquals(Set.of(0, 1, 2, 3), Set.copyOf(ranked.stream().map(RankedImage::index).toList()));
        for (int i = 1; i < ranked.size(); i++) {
            assertTrue(ranked.get(i - 1).score() >= ranked.get(i).score());
        }
        double first = ranked.stream().filter(r -> r.index() == 0).findFirst().orElseThrow().score();
        double twin = ranked.stream().filter(r -> r.index() == 3).findFirst().orElseThrow().score();
        assertEquals(first, twin, 1e-9, "the same picture scores the same");
    }

    @Test
    void decodesAStreamOnlyWhereTheEmbeddingDrifts() {
        BufferedImage a = shape("circle", Color.RED, 16);
        BufferedImage b = shape("square", Color.BLUE, 16);
        List<BufferedImage> frames = new ArrayList<>();
        frames.addAll(Collections.nCopies(5, a));
        frames.addAll(Collections.nCopies(5, b));
        frames.addAll(Collections.nCopies(5, a));
        String labelA = predictor.classify(a, LABELS, null).get(0).label();
        String labelB = predictor.classify(b, LABELS, null).get(0).label();

        // a threshold just above float rounding: identical frames do not drift, any change does
        StreamDecoding changes = predictor.decodeStream(frames, LABELS, null, 1e-6);
        assertEquals(List.of(0, 5, 10), changes.decodedFrames());
        assertEquals(5.0, changes.savings());
        assertEquals(1.0, changes.agreement());
        List<String> expected = new ArrayList<>(Collections.nCopies(5, labelA));
        expected.addAll(Collections.nCopies(5, labelB));
        expected.addAll(Collections.nCopies(5, labelA));
        assertEquals(expected, changes.labels());

        StreamDecoding once = predictor.decodeStream(frames, LABELS, null, 2.0);
        assertEquals(List.of(0), once.decodedFrames(), "no drift exceeds the largest cosine distance");
        assertEquals(Collections.nCopies(15, labelA), once.labels());
        assertEquals(labelA.equals(labelB) ? 1.0 : 10 / 15.0, once.agreement(), 1e-9);
    }

    @Test
    void rejectsAThresholdThatIsNoCosineDistance() {
        List<BufferedImage> frames = List.of(solid(Color.RED, 16, 16));
        for (double bad : new double[] {Double.NaN, -0.1, 2.5}) {
            assertEquals("threshold must be a cosine distance in [0, 2], got " + bad,
                    assertThrows(InvalidRequestException.class, () -> predictor.decodeStream(frames, LABELS, null, bad)).getMessage());
        }
    }

    @Test
    void namesThePartAnOperationMisses(@TempDir Path dir) {
        OnnxPredictor imageOnly = serve(variant(dir.resolve("image-only"), Map.of(), d -> {
            d.remove("predictor");
            d.remove("y_encoder");
        }));
        try {
            BufferedImage img = solid(Color.RED, 16, 16);
            assertEquals(16, imageOnly.encode(img).pooled().length);
            assertEquals(16, imageOnly.predict(img, null).length);
            assertEquals("model image-only has no y_encoder, which zero-shot classification needs",
                    assertThrows(InvalidRequestException.class, () -> imageOnly.classify(img, LABELS, null)).getMessage());
            assertEquals("model image-only has no predictor, which masked prediction needs",
                    assertThrows(InvalidRequestException.class, () -> imageOnly.predictMasked(img, List.of(new PatchBlock(0, 0, 1, 1)))).getMessage());
            assertEquals("model image-only has no y_encoder, which selective decoding needs",
                    assertThrows(InvalidRequestException.class, () -> imageOnly.decodeStream(List.of(img), LABELS, null, 0.1)).getMessage());
        } finally {
            imageOnly.close();
        }
    }

    @Test
    void refusesDescriptorsThatDoNotFitTheirParts(@TempDir Path dir) {
        assertEquals("jepa.json: format is 'jepa/2', expected 'triptych-jepa/1'", loadFailure(dir, "format", d -> d.addProperty("format", "jepa/2")));
        assertEquals("jepa.json: image_size (16) must be a positive multiple of patch_size (5)",
                loadFailure(dir, "patch", d -> d.addProperty("patch_size", 5)));
        assertEquals("jepa.json: x_encoder x_encoder.onnx input pixels: float32[batch,3,16,16] does not take [batch,3,32,32] images (image_size 32)",
                loadFailure(dir, "size", d -> d.addProperty("image_size", 32)));
        assertEquals("jepa.json: y_encoder y_encoder.onnx has no output 'last_hidden_state' (outputs: [embedding])",
                loadFailure(dir, "output", d -> d.addProperty("y_output", "last_hidden_state")));
        assertEquals("jepa.json: predictor x_encoder.onnx has no input 'context' (inputs: [pixels])",
                loadFailure(dir, "swap", d -> d.addProperty("predictor", "x_encoder.onnx")));
        assertEquals("jepa.json: vl_predictor and y_encoder need a tokenizer; none is named",
                loadFailure(dir, "tokenizer", d -> d.remove("tokenizer")));
        assertEquals("jepa.json: normalize.std must be > 0, got 0.0",
                loadFailure(dir, "std", d -> d.getAsJsonObject("normalize").add("std", JsonParser.parseString("[0.5,0,0.5]"))));
    }

    private static String loadFailure(Path dir, String name, Consumer<JsonObject> edit) {
        Path folder = variant(dir.resolve(name), Map.of(), edit);
        return assertThrows(ModelLoadException.class, () -> new OnnxPredictor(TestModels.describe(folder))).getMessage();
    }

    @Test
    void failsWithoutABackendAndAfterClose() {
        OnnxPredictor p = new OnnxPredictor(TestModels.describe(TestModels.testJepa()));
        BufferedImage img = solid(Color.RED, 16, 16);
        // as the engine says when no backend can run the model (a fresh binding would wait out a swap gap first)
        p.binding().unbind("no compute backend can run model test-jepa: none is registered");
        assertEquals("no compute backend can run model test-jepa: none is registered",
                assertThrows(BackendUnavailableException.class, () -> p.encode(img)).getMessage());
        p.binding().bind(TestModels.compile(p));
        assertEquals("ort-cpu", p.backendId());
        assertEquals(16, p.encode(img).pooled().length);
        p.close();
        assertEquals("model test-jepa was withdrawn", assertThrows(BackendUnavailableException.class, () -> p.encode(img)).getMessage());
    }

    /** A request whose backend vanishes mid-run runs again on the parts the model was moved to. */
    @Test
    void aRequestMovesWithItsModelWhenTheBackendGoesAway() {
        OnnxPredictor p = new OnnxPredictor(TestModels.describe(TestModels.testJepa()));
        try {
            BackendBinding.Compiled healthy = TestModels.compile(p);
            Map<String, CompiledModel> vanishing = new HashMap<>(TestModels.compile(p).parts());
            CompiledModel x = vanishing.get("x_encoder.onnx");
            vanishing.put("x_encoder.onnx", new CompiledModel() {
                @Override public String backendId() { return "gone"; }
                @Override public List<TensorSpec> inputs() { return x.inputs(); }
                @Override public List<TensorSpec> outputs() { return x.outputs(); }
                @Override public void close() { x.close(); }
                @Override public Map<String, Tensor> run(Map<String, ? extends Tensor> inputs, Set<String> outputs) {
                    p.binding().bind(healthy);   // the engine moved the model meanwhile
                    throw new BackendUnavailableException("device lost");
                }
            });
            p.binding().bind(new BackendBinding.Compiled("gone", vanishing));
            BufferedImage img = shape("circle", Color.RED, 16);
            assertEquals(3, p.classify(img, LABELS, null).size());
            assertEquals("ort-cpu", p.backendId());
        } finally {
            p.close();
        }
    }
}
