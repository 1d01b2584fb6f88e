package io.triptych.engine.generator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.Cancellation;
import io.triptych.api.CancelledException;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.Paradigm;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.generator.FinishReason;
import io.triptych.api.generator.GeneratedSequence;
import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.GenerationResult;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.Tensor;
import io.triptych.api.tensor.TensorSpec;
import io.triptych.backend.ortcpu.OrtCpuBackend;
import io.triptych.engine.support.BackendBinding;
import io.triptych.onnx.OnnxModelReader;

/** The engine on ORT GenAI's tiny GPT-2 test model, checked against ORT GenAI's published outputs. */
class OnnxGeneratorTest {
    static final Path GPT2 = Path.of(System.getProperty("triptych.fixtures", "../../../shared/fixtures"), "tiny-random-gpt2-fp32");

    static OnnxGenerator generator;

    @BeforeAll
    static void deploy() {
        generator = tinyGpt2();
        bind(generator, ORT);
    }

    static final OrtCpuBackend ORT = new OrtCpuBackend(1, 1, "ALL_OPT", 100);

    /** Compiles every part of {@code g} on {@code backend} and makes new requests run on them, as the engine does. */
    static void bind(OnnxGenerator g, ComputeBackend backend) {
        bind(g, backend, UnaryOperator.identity());
    }

    /** As {@link #bind(OnnxGenerator, ComputeBackend)}, each compiled part wrapped by {@code wrap}. */
    static void bind(OnnxGenerator g, ComputeBackend backend, UnaryOperator<CompiledModel> wrap) {
        Map<String, CompiledModel> parts = new HashMap<>();
        for (ModelPart part : g.parts()) {
            parts.put(part.name(), wrap.apply(backend.compile(part)));
        }
        g.binding().bind(new BackendBinding.Compiled(backend.id(), parts));
    }

    @AfterAll
    static void close() {
        generator.close();
    }

    /** The fixture as the model registry describes it (not bound to a backend). */
    static OnnxGenerator tinyGpt2() {
        assertTrue(Files.isRegularFile(GPT2.resolve("past.onnx")), "fixture missing: " + GPT2);
        return new OnnxGenerator(ModelDescriptor.deployed("tiny-random-gpt2-fp32", Paradigm.LLM, GPT2, "test",
                Map.of("past.onnx", OnnxModelReader.read(GPT2.resolve("past.onnx"), "past.onnx"))));
    }

    private static List<int[]> tokens(GenerationResult r) {
        return r.sequences().stream().map(GeneratedSequence::tokens).toList();
    }

    @Test
    void greedyBatchMatchesOrtGenAi() {
        GenerationResult r = generator.generate(GenerationRequest.ofTokens(
                List.of(new int[] {0, 0, 0, 52}, new int[] {0, 0, 195, 731}), SearchOptions.builder().maxLength(10).build()));
        assertArrayEquals(new int[] {0, 0, 0, 52, 204, 204, 204, 204, 204, 204}, r.sequences().get(0).tokens());
        assertArrayEquals(new int[] {0, 0, 195, 731, 731, 114, 114, 114, 114, 114}, r.sequences().get(1).tokens());
        assertEquals(FinishReason.MAX_LENGTH, r.sequences().get(0).finishReason());
        assertEquals(4, r.sequences().get(0).promptLength());
        assertEquals("ort-cpu", r.backendId());
        assertEquals(8, r.promptTokens());
        assertEquals(12, r.generatedTokens());
    }

    @Test
    void beamSearchMatchesOrtGenAi() {
        assertOrtGenAisBeamSearch(generator);
    }

    /** ORT GenAI's published beam search case BeamSearchGptFp32, token for token. */
    static void assertOrtGenAisBeamSearch(OnnxGenerator g) {
        List<int[]> prompts = List.of(
                new int[] {0, 0, 0, 0, 0, 52, 195, 731, 321, 301, 734, 620},
                new int[] {41, 554, 74, 622, 206, 222, 75, 223, 221, 198, 224, 572},
                new int[] {0, 0, 0, 52, 328, 219, 328, 206, 288, 227, 896, 328});
        GenerationResult r = g.generate(GenerationRequest.ofTokens(prompts,
                SearchOptions.builder().maxLength(20).numBeams(4).lengthPenalty(1f).build()));
        assertEquals(3, r.sequences().size());
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 52, 195, 731, 321, 301, 734, 620, 131, 131, 131, 181, 638, 638, 638, 638},
                r.sequences().get(0).tokens());
        assertArrayEquals(new int[] {41, 554, 74, 622, 206, 222, 75, 223, 221, 198, 224, 572, 292, 292, 292, 292, 292, 292, 292, 292},
                r.sequences().get(1).tokens());
        assertArrayEquals(new int[] {0, 0, 0, 52, 328, 219, 328, 206, 288, 227, 896, 328, 328, 669, 669, 669, 669, 669, 669, 669},
                r.sequences().get(2).tokens());
    }

    @Test
    void reorderingMovesTheCacheRowsWithTheirTokens() {
        assertReorderMovesCacheRows(generator, ORT);
    }

    /**
     * Rows swapped after the prompt step continue exactly as the swapped prompts do: the cache rows
     * moved with the tokens (ORT GenAI's beam case alone would not tell, the tiny random model barely
     * looks back).
     */
    static void assertReorderMovesCacheRows(OnnxGenerator g, ComputeBackend backend) {
        Map<String, CompiledModel> compiled = new HashMap<>();
        for (ModelPart part : g.parts()) {
            compiled.put(part.name(), new HostReadGuard(backend.compile(part)));
        }
        BackendBinding.Compiled parts = new BackendBinding.Compiled(backend.id(), compiled);
        DecoderLayout layout = new DecoderLayout(g.config());
        int[] a = {5, 17, 30, 42}, b = {7, 8, 9, 10};
        int pad = g.config().padTokenId();
        try (DecoderState swapped = new DecoderState(layout, new int[][] {a, b}, pad, 6);
             DecoderState direct = new DecoderState(layout, new int[][] {b, a}, pad, 6)) {
            swapped.run(parts);
            swapped.reorder(new int[] {1, 0});
            direct.run(parts);
            for (int step = 0; step < 2; step++) {
                swapped.append(new int[] {11, 11});
                direct.append(new int[] {11, 11});
                float[][] got = swapped.run(parts);
                float[][] want = direct.run(parts);
                assertTrue(!java.util.Arrays.equals(want[0], want[1]), "the rows' histories tell them apart");
                for (int r = 0; r < 2; r++) {
                    for (int v = 0; v < want[r].length; v++) {
                        assertEquals(want[r][v], got[r][v], 1e-5f * Math.max(1f, Math.abs(want[r][v])), "step " + step + " row " + r + " logit " + v);
                    }
                }
            }
        } finally {
            compiled.values().forEach(CompiledModel::close);
        }
    }

    @Test
    void beamSearchReturnsTheRequestedSequencesBestFirst() {
        GenerationResult r = generator.generate(GenerationRequest.ofTokens(List.of(new int[] {0, 0, 195, 731}),
                SearchOptions.builder().maxLength(12).numBeams(4).numReturnSequences(3).build()));
        assertEquals(3, r.sequences().size());
        for (int i = 0; i < 3; i++) {
            assertEquals(0, r.sequences().get(i).batchIndex());
            assertEquals(12, r.sequences().get(i).tokens().length);
            assertTrue(r.sequences().get(i).score() < 0, "a log-probability score: " + r.sequences().get(i).score());
        }
        assertTrue(r.sequences().get(0).score() >= r.sequences().get(1).score());
        assertTrue(r.sequences().get(1).score() >= r.sequences().get(2).score());
        assertNotEquals(List.of(r.sequences().get(0).tokens()), List.of(r.sequences().get(1).tokens()));
    }

    @Test
    void samplingWithTheSameSeedRepeatsItself() {
        SearchOptions sampling = SearchOptions.builder().maxLength(30).doSample(true).topK(50).topP(0.9f).temperature(1.5f)
                .randomSeed(42).build();
        List<int[]> prompt = List.of(new int[] {0, 0, 195, 731}, new int[] {0, 0, 0, 52});
        List<int[]> first = tokens(generator.generate(GenerationRequest.ofTokens(prompt, sampling)));
        List<int[]> again = tokens(generator.generate(GenerationRequest.ofTokens(prompt, sampling)));
        List<int[]> other = tokens(generator.generate(GenerationRequest.ofTokens(prompt, sampling.toBuilder().randomSeed(7).build())));
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(first.get(i), again.get(i));
        }
        assertTrue(!java.util.Arrays.equals(first.get(0), other.get(0)) || !java.util.Arrays.equals(first.get(1), other.get(1)),
                "another seed samples other tokens");
        // sampling at this temperature leaves the greedy path
        assertTrue(java.util.Arrays.stream(first.get(0), 4, 30).distinct().count() > 2, java.util.Arrays.toString(first.get(0)));
    }

    @Test
    void streamsEveryNewTokenInOrder() {
        List<Integer> streamed = new ArrayList<>();
        GenerationResult r = generator.generate(GenerationRequest.ofTokens(List.of(new int[] {0, 0, 195, 731}),
                SearchOptions.builder().maxLength(10).build()), (seq, token, text) -> streamed.add(token));
        assertEquals(List.of(731, 114, 114, 114, 114, 114), streamed);
        assertEquals(r.sequences().get(0).tokens().length - 4, streamed.size());
    }

    @Test
    void repetitionPenaltyMovesOffTheRepeatedToken() {
        int[] plain = generator.generate(GenerationRequest.ofTokens(List.of(new int[] {0, 0, 0, 52}),
                SearchOptions.builder().maxLength(10).build())).sequences().get(0).tokens();
        int[] penalised = generator.generate(GenerationRequest.ofTokens(List.of(new int[] {0, 0, 0, 52}),
                SearchOptions.builder().maxLength(10).repetitionPenalty(10f).build())).sequences().get(0).tokens();
        assertEquals(204, plain[5]);
        assertTrue(java.util.Arrays.stream(penalised, 4, 10).distinct().count() > 1, java.util.Arrays.toString(penalised));
    }

    @Test
    void invalidOptionsAreTypedErrorsNamingTheProblem() {
        List<int[]> ok = List.of(new int[] {0, 0, 0, 52});
        assertMessage("num_beams must be in 1..256, got 0", () -> generator.generate(GenerationRequest.ofTokens(ok,
                SearchOptions.builder().numBeams(0).build())));
        assertMessage("token id 5000", () -> generator.generate(GenerationRequest.ofTokens(List.of(new int[] {0, 5000}),
                SearchOptions.builder().maxLength(10).build())));
        assertMessage("vocabulary of 1000", () -> generator.generate(GenerationRequest.ofTokens(List.of(new int[] {-1}),
                SearchOptions.builder().maxLength(10).build())));
        assertMessage("top_k must be in 0..vocab_size (1000), got 1001", () -> generator.generate(GenerationRequest.ofTokens(ok,
                SearchOptions.builder().topK(1001).build())));
        assertMessage("num_return_sequences must be in 1..num_beams (2), got 3", () -> generator.generate(GenerationRequest.ofTokens(ok,
                SearchOptions.builder().numBeams(2).numReturnSequences(3).build())));
        assertMessage("temperature must be > 0", () -> generator.generate(GenerationRequest.ofTokens(ok,
                SearchOptions.builder().temperature(0f).build())));
        assertMessage("top_p must be in [0, 1]", () -> generator.generate(GenerationRequest.ofTokens(ok,
                SearchOptions.builder().topP(1.5f).build())));
        assertMessage("max_length 600 exceeds the model's context length 512", () -> generator.generate(GenerationRequest.ofTokens(ok,
                SearchOptions.builder().maxLength(600).build())));
        assertMessage("prompt 0 has 4 tokens; it must be shorter than max_length 4", () -> generator.generate(GenerationRequest.ofTokens(ok,
                SearchOptions.builder().maxLength(4).build())));
        List<int[]> tooMany = new ArrayList<>();
        for (int i = 0; i < 257; i++) {
            tooMany.add(new int[] {1});
        }
        assertMessage("batch_size must be in 1..256, got 257", () -> generator.generate(GenerationRequest.ofTokens(tooMany,
                SearchOptions.builder().maxLength(4).build())));
    }

    @Test
    void textWhoseTokensTheModelCannotTakeIsRejectedNamingTheId() {
        // GPT-2's tokenizer gives "Hello" id 15496; this test model takes ids below 1000
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> generator.generate(GenerationRequest.ofPrompts(List.of("Hello world"), SearchOptions.builder().maxLength(10).build())));
        assertTrue(e.getMessage().contains("token id 15496") && e.getMessage().contains("vocabulary of 1000"), e.getMessage());
        assertArrayEquals(new int[] {15496, 995}, generator.encode("Hello world"));
    }

    @Test
    void cancellingStopsBetweenSteps() {
        Cancellation cancel = new Cancellation();
        List<Integer> streamed = new ArrayList<>();
        GenerationRequest request = GenerationRequest.ofTokens(List.of(new int[] {0, 0, 0, 52}), SearchOptions.builder().maxLength(100).build())
                .withCancellation(cancel);
        assertThrows(CancelledException.class, () -> generator.generate(request, (seq, token, text) -> {
            streamed.add(token);
            if (streamed.size() == 3) {
                cancel.cancel();
            }
        }));
        assertEquals(3, streamed.size());
        // the generator keeps serving
        assertEquals(10, generator.generate(GenerationRequest.ofTokens(List.of(new int[] {0, 52}),
                SearchOptions.builder().maxLength(10).build())).sequences().get(0).tokens().length);
    }

    @Test
    void leftPadsRowsOfDifferentLengths() {
        // [0,0,195,731] has no pad (98), so it is the same sequence as the padded short row would give only with pads masked
        GenerationResult r = generator.generate(GenerationRequest.ofTokens(List.of(new int[] {195, 731}, new int[] {0, 0, 0, 52}),
                SearchOptions.builder().maxLength(8).build()));
        assertEquals(2, r.sequences().get(0).promptLength());
        assertArrayEquals(new int[] {195, 731}, java.util.Arrays.copyOf(r.sequences().get(0).tokens(), 2));
        assertEquals(6, r.sequences().get(0).tokens().length);
        int[] alone = generator.generate(GenerationRequest.ofTokens(List.of(new int[] {195, 731}),
                SearchOptions.builder().maxLength(6).build())).sequences().get(0).tokens();
        assertArrayEquals(alone, r.sequences().get(0).tokens(), "pads are masked out and take no positions");
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, call);
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' does not contain '" + expected + "'");
    }

    /**
     * A compiled part whose backend vanishes after a few runs of the parts sharing {@code done}; it
     * moves the model elsewhere first, as the engine would.
     */
    static final class Vanishing implements CompiledModel {
        private final CompiledModel real;
        private final AtomicInteger done;
        private final int runs;
        private final Runnable onVanish;

        Vanishing(CompiledModel real, AtomicInteger done, int runs, Runnable onVanish) {
            this.real = real;
            this.done = done;
            this.runs = runs;
            this.onVanish = onVanish;
        }

        @Override public String backendId() { return "vanishing"; }
        @Override public List<TensorSpec> inputs() { return real.inputs(); }
        @Override public List<TensorSpec> outputs() { return real.outputs(); }
        @Override public void close() { real.close(); }

        @Override
        public Map<String, Tensor> run(Map<String, ? extends Tensor> inputs, Set<String> outputNames) {
            if (done.incrementAndGet() > runs) {
                onVanish.run();
                throw new BackendUnavailableException("device lost");
            }
            return real.run(inputs, outputNames);
        }
    }

    @Test
    void aGenerationWhoseBackendVanishesMidwayContinuesElsewhereWithTheSameTokens() {
        OnnxGenerator g = tinyGpt2();
        try {
            AtomicInteger runs = new AtomicInteger();
            bind(g, ORT, m -> new Vanishing(m, runs, 3, () -> bind(g, ORT)));
            GenerationResult r = g.generate(GenerationRequest.ofTokens(List.of(new int[] {0, 0, 0, 52}, new int[] {0, 0, 195, 731}),
                    SearchOptions.builder().maxLength(10).build()));
            assertArrayEquals(new int[] {0, 0, 0, 52, 204, 204, 204, 204, 204, 204}, r.sequences().get(0).tokens());
            assertArrayEquals(new int[] {0, 0, 195, 731, 731, 114, 114, 114, 114, 114}, r.sequences().get(1).tokens());
            assertEquals("ort-cpu", r.backendId());
        } finally {
            g.close();
        }
    }

    @Test
    void aBeamSearchWhoseBackendVanishesMidwayContinuesElsewhereWithTheSameTokens() {
        // the parts run decoder, reorder, decoder, reorder, decoder …: the 5th run is a decoder step, the 6th a cache reorder
        for (int vanishAfter : new int[] {4, 5}) {
            OnnxGenerator g = tinyGpt2();
            try {
                AtomicInteger runs = new AtomicInteger();
                bind(g, ORT, m -> new Vanishing(m, runs, vanishAfter, () -> bind(g, ORT)));
                assertOrtGenAisBeamSearch(g);
                assertEquals(vanishAfter + 1, runs.get(), "the run that vanished was the last on the first parts");
            } finally {
                g.close();
            }
        }
    }

    @Test
    void beamSearchReordersTheCacheWithoutReadingItToTheHost() {
        OnnxGenerator g = tinyGpt2();
        try {
            bind(g, ORT, HostReadGuard::new);
            assertOrtGenAisBeamSearch(g);
        } finally {
            g.close();
        }
    }

    /**
     * A compiled part whose float outputs other than the logits (the key/value cache) fail when read
     * to the host; fed back into a guarded part they are unwrapped, as a backend uses its own tensors in place.
     */
    static final class HostReadGuard implements CompiledModel {
        private final CompiledModel real;

        HostReadGuard(CompiledModel real) {
            this.real = real;
        }

        @Override public String backendId() { return real.backendId(); }
        @Override public List<TensorSpec> inputs() { return real.inputs(); }
        @Override public List<TensorSpec> outputs() { return real.outputs(); }
        @Override public void close() { real.close(); }

        @Override
        public Map<String, Tensor> run(Map<String, ? extends Tensor> inputs, Set<String> outputNames) {
            Map<String, Tensor> in = new HashMap<>();
            inputs.forEach((name, t) -> in.put(name, t instanceof Guarded guarded ? guarded.real : t));
            Map<String, Tensor> out = new HashMap<>();
            real.run(in, outputNames).forEach((name, t) -> out.put(name, name.equals("logits") ? t : new Guarded(name, t)));
            return out;
        }

        private record Guarded(String name, Tensor real) implements Tensor {
            @Override public io.triptych.api.tensor.DType dtype() { return real.dtype(); }
            @Override public long[] shape() { return real.shape(); }
            @Override public void close() { real.close(); }

            @Override
            public java.nio.ByteBuffer buffer() {
                throw new AssertionError("cache tensor " + name + " was read to the host");
            }
        }
    }
}
