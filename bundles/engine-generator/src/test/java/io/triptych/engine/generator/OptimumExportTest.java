package io.triptych.engine.generator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.triptych.api.ModelLoadException;
import io.triptych.api.Paradigm;
import io.triptych.api.generator.FinishReason;
import io.triptych.api.generator.GeneratedSequence;
import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.GenerationResult;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.onnx.OnnxModelReader;

/**
 * The engine on Hugging Face Optimum's decoder layouts: a tiny random GPT-2 exported as Optimum's
 * single {@code model.onnx} and as its merged {@code decoder_model_merged.onnx} (If on
 * {@code use_cache_branch}), with and without {@code position_ids}; the greedy tokens are torch's
 * (models/test-optimum/make_optimum_decoders.py writes the folders and their expected.json).
 */
class OptimumExportTest {
    static final String WITH_PAST = "optimum-gpt-with-past";
    static final String MERGED = "optimum-gpt-merged";
    static final String MERGED_NO_POSITIONS = "optimum-gpt-merged-no-position-ids";

    /** A test-resource folder deployed as the model registry deploys an Optimum export: config.json plus every .onnx beside it. */
    static OnnxGenerator deploy(String name) {
        Path folder = folder(name);
        Map<String, ModelPart> parts = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(folder)) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".onnx")).sorted()
                    .forEach(n -> parts.put(n, OnnxModelReader.read(folder.resolve(n), n)));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        OnnxGenerator g = new OnnxGenerator(ModelDescriptor.deployed(name, Paradigm.LLM, folder, "test", parts));
        OnnxGeneratorTest.bind(g, OnnxGeneratorTest.ORT);
        return g;
    }

    static Path folder(String name) {
        try {
            return Path.of(OptimumExportTest.class.getResource("/optimum/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("test resource missing: optimum/" + name, e);
        }
    }

    /** One greedy request of expected.json: its prompts, max length, and torch's sequences and finish reasons. */
    record Case(String name, List<int[]> prompts, int maxLength, List<int[]> sequences, List<FinishReason> finish) {
        boolean padded() {
            return prompts.stream().mapToInt(p -> p.length).distinct().count() > 1;
        }
    }

    static List<Case> expected(String name) {
        try (Reader r = Files.newBufferedReader(folder(name).resolve("expected.json"))) {
            List<Case> cases = new ArrayList<>();
            for (JsonElement e : JsonParser.parseReader(r).getAsJsonObject().getAsJsonArray("cases")) {
                JsonObject c = e.getAsJsonObject();
                cases.add(new Case(c.get("name").getAsString(), rows(c.getAsJsonArray("prompts")), c.get("max_length").getAsInt(),
                        rows(c.getAsJsonArray("sequences")),
                        c.getAsJsonArray("finish").asList().stream().map(f -> FinishReason.valueOf(f.getAsString())).toList()));
            }
            return cases;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static List<int[]> rows(JsonArray a) {
        return a.asList().stream().map(row -> row.getAsJsonArray().asList().stream().mapToInt(JsonElement::getAsInt).toArray()).toList();
    }

    static GenerationResult greedy(OnnxGenerator g, Case c) {
        return g.generate(GenerationRequest.ofTokens(c.prompts(), SearchOptions.builder().maxLength(c.maxLength()).build()));
    }

    static List<int[]> tokens(GenerationResult r) {
        return r.sequences().stream().map(GeneratedSequence::tokens).toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {WITH_PAST, MERGED, MERGED_NO_POSITIONS})
    void greedyTokensMatchTorch(String layout) {
        OnnxGenerator g = deploy(layout);
        try {
            List<Case> cases = expected(layout);
            assertTrue(cases.stream().anyMatch(Case::padded), "expected.json has a left-padded batch");
            for (Case c : cases) {
                GenerationResult r = greedy(g, c);
                assertEquals(c.sequences().size(), r.sequences().size(), c.name());
                for (int i = 0; i < c.sequences().size(); i++) {
                    GeneratedSequence s = r.sequences().get(i);
                    String where = layout + " " + c.name() + " row " + i;
                    assertArrayEquals(c.sequences().get(i), s.tokens(), where + ": " + Arrays.toString(s.tokens()));
                    assertEquals(c.finish().get(i), s.finishReason(), where);
                    assertEquals(c.prompts().get(i).length, s.promptLength(), where);
                }
            }
        } finally {
            g.close();
        }
    }

    @Test
    void theSingleAndTheMergedDecoderGiveTheSameTokens() {
        OnnxGenerator single = deploy(WITH_PAST);
        OnnxGenerator merged = deploy(MERGED);
        OnnxGenerator mergedNoPositions = deploy(MERGED_NO_POSITIONS);
        try {
            for (Case c : expected(WITH_PAST)) {
                List<int[]> want = tokens(greedy(single, c));
                assertRows(want, tokens(greedy(merged, c)), c.name() + " merged");
                if (!c.padded()) {
                    // without position_ids the model counts the pads as positions: only unpadded rows agree
                    assertRows(want, tokens(greedy(mergedNoPositions, c)), c.name() + " merged without position_ids");
                }
            }
            // beam search reorders the cache rows between steps; the merged decoder takes them back on its cached branch
            Case batch = expected(WITH_PAST).stream().filter(Case::padded).findFirst().orElseThrow();
            GenerationRequest beams = GenerationRequest.ofTokens(batch.prompts(), SearchOptions.builder().maxLength(batch.maxLength())
                    .numBeams(3).numReturnSequences(2).build());
            List<int[]> want = tokens(single.generate(beams));
            assertEquals(4, want.size());
            assertRows(want, tokens(merged.generate(beams)), "beam search merged");
        } finally {
            single.close();
            merged.close();
            mergedNoPositions.close();
        }
    }

    private static void assertRows(List<int[]> want, List<int[]> got, String what) {
        assertEquals(want.size(), got.size(), what);
        for (int i = 0; i < want.size(); i++) {
            assertArrayEquals(want.get(i), got.get(i), what + " row " + i);
        }
    }

    @Test
    void reorderingMovesTheKeyAndValueRowsOfEachLayer() {
        OnnxGenerator g = deploy(WITH_PAST);
        try {
            OnnxGeneratorTest.assertReorderMovesCacheRows(g, OnnxGeneratorTest.ORT);
        } finally {
            g.close();
        }
    }

    @Test
    void aLeftPaddedRowGivesWhatItGivesAlone() {
        OnnxGenerator g = deploy(MERGED);
        try {
            Case batch = expected(MERGED).stream().filter(Case::padded).findFirst().orElseThrow();
            for (int i = 0; i < batch.prompts().size(); i++) {
                int[] alone = tokens(g.generate(GenerationRequest.ofTokens(List.of(batch.prompts().get(i)),
                        SearchOptions.builder().maxLength(batch.maxLength()).build()))).get(0);
                assertArrayEquals(batch.sequences().get(i), alone, "row " + i + ": pads are masked and take no positions");
            }
        } finally {
            g.close();
        }
    }

    @Test
    void readsTheLayoutFromTheSignatureAndConfigJson() {
        OnnxGenerator single = deploy(WITH_PAST);
        OnnxGenerator merged = deploy(MERGED_NO_POSITIONS);
        try {
            LlmConfig c = single.config();
            assertEquals("model.onnx", c.part().name());
            assertEquals(100, c.vocabSize());
            assertEquals(64, c.contextLength(), "n_positions");
            assertEquals(0, c.padTokenId());
            assertArrayEquals(new int[] {2}, c.eosTokenIds());
            DecoderLayout l = new DecoderLayout(c);
            assertNull(l.useCacheBranch);
            assertNotNull(l.positionIds);
            assertEquals(4, l.past.size(), "a key and a value per layer");
            assertEquals(List.of("present.0.key", "present.0.value", "present.1.key", "present.1.value"), l.present);
            assertEquals(4, l.kvHeads);
            assertEquals(8, l.headSize);
            assertFalse(l.combinedCache);

            assertEquals("decoder_model_merged.onnx", merged.config().part().name());
            DecoderLayout m = new DecoderLayout(merged.config());
            assertNotNull(m.useCacheBranch);
            assertArrayEquals(new long[] {1}, m.useCacheBranch.shape());
            assertNull(m.positionIds);
        } finally {
            single.close();
            merged.close();
        }
    }

    @Test
    void aConfigJsonBesideNoOptimumDecoderIsRejectedNamingTheFilesLookedFor(@TempDir Path dir) throws IOException {
        Files.copy(folder(WITH_PAST).resolve("config.json"), dir.resolve("config.json"));
        Path onnx = folder(WITH_PAST).resolve("model.onnx");
        Map<String, ModelPart> two = Map.of("encoder.onnx", OnnxModelReader.read(onnx, "encoder.onnx"),
                "lm.onnx", OnnxModelReader.read(onnx, "lm.onnx"));
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> new OnnxGenerator(ModelDescriptor.deployed("two-graphs", Paradigm.LLM, dir, "test", two)));
        assertTrue(e.getMessage().contains("model two-graphs: none of [decoder_model_merged.onnx, model.onnx, "
                + "decoder_with_past_model.onnx, decoder_model.onnx] among its ONNX files"), e.getMessage());
        assertTrue(e.getMessage().contains("encoder.onnx") && e.getMessage().contains("lm.onnx"), e.getMessage());

        ModelLoadException none = assertThrows(ModelLoadException.class,
                () -> new OnnxGenerator(ModelDescriptor.deployed("no-graph", Paradigm.LLM, dir, "test", Map.of())));
        assertTrue(none.getMessage().contains("none of") && none.getMessage().endsWith("[]"), none.getMessage());
    }

    @Test
    void aFolderWithoutConfigurationIsRejected(@TempDir Path dir) {
        Path onnx = folder(WITH_PAST).resolve("model.onnx");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> new OnnxGenerator(ModelDescriptor.deployed("bare",
                Paradigm.LLM, dir, "test", Map.of("model.onnx", OnnxModelReader.read(onnx, "model.onnx")))));
        assertEquals("model bare has neither genai_config.json nor config.json", e.getMessage());
    }
}
