package io.triptych.engine.generator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.ModelLoadException;
import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.GenerationResult;
import io.triptych.api.generator.Generator;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.generator.TokenListener;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.engine.support.BackendBinding;
import io.triptych.engine.support.ServedModel;
import io.triptych.tokenizers.HfTokenizer;

/**
 * The {@link Generator} of one deployed LLM: its configuration, decoder layout and tokenizer,
 * and the {@link BackendBinding} its requests run on. Requests run concurrently; {@link #close()}
 * waits for those in flight.
 */
final class OnnxGenerator extends ServedModel<Generator> implements Generator {
    static final String TOKENIZER_FILE = "tokenizer.json";
    private static final int MAX_BATCH = 256;

    private final LlmConfig config;
    private final DecoderLayout layout;
    /** {@code null} for a model folder without {@code tokenizer.json}: it takes token ids only. */
    private final HfTokenizer tokenizer;
    /** Beam search's cache reorder graph, in a temporary file deleted with the model; {@code null} without a cache. */
    private final ModelPart reorder;

    /**
     * Reads the model's configuration, decoder signature and tokenizer, and writes the graph that
     * reorders its cache.
     *
     * @throws ModelLoadException if they are missing or malformed
     */
    OnnxGenerator(ModelDescriptor model) {
        super(model);
        this.config = LlmConfig.read(model);
        this.layout = new DecoderLayout(config);
        Path tokenizerFile = model.folder().resolve(TOKENIZER_FILE);
        this.tokenizer = Files.exists(tokenizerFile) ? HfTokenizer.load(tokenizerFile) : null;
        try {
            this.reorder = layout.hasCache() ? CacheReorder.write(layout) : null;
        } catch (ModelLoadException e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            throw new ModelLoadException("model " + model.id() + ": " + e.getMessage(), e);
        }
    }

    /** The decoder graph, for backends to compile. */
    LlmConfig config() {
        return config;
    }

    @Override
    public Generator service() {
        return this;
    }

    /** The decoder, and beside it the graph that reorders its cache, so that both always run on one backend. */
    @Override
    public List<ModelPart> parts() {
        return reorder == null ? List.of(config.part()) : List.of(config.part(), reorder);
    }

    /**
     * Two decoder steps on two rows, swapped between them: a backend that compiles but cannot run
     * the decoder or the cache reorder fails here, before traffic moves.
     */
    @Override
    public void warm(BackendBinding.Compiled compiled) {
        try (DecoderState state = new DecoderState(layout, new int[][] {{0}, {0}}, config.padTokenId(), 2)) {
            state.run(compiled);
            state.reorder(new int[] {1, 0});
            state.append(new int[] {0, 0});
            state.run(compiled);
        }
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public int[] encode(String text) {
        return withOpen(() -> requireTokenizer().encode(text));
    }

    @Override
    public String decode(int[] tokens) {
        return withOpen(() -> requireTokenizer().decode(tokens, true));
    }

    @Override
    public GenerationResult generate(GenerationRequest request, TokenListener listener) {
        return withOpen(() -> {
            SearchOptions search = resolve(request.search());
            List<int[]> prompts = prompts(request);
            int maxLength = validate(request, search, prompts);
            return new GenerationLoop(config, layout, tokenizer, request, search, prompts, maxLength, listener).run(binding());
        });
    }

    /** Frees the tokenizer and deletes the reorder graph once the last request has left and the parts are closed. */
    @Override
    protected void release() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        if (reorder != null) {
            CacheReorder.delete(reorder.file());
        }
    }

    private HfTokenizer requireTokenizer() {
        if (tokenizer == null) {
            throw new InvalidRequestException("model " + model().id() + " has no " + TOKENIZER_FILE + ": give token ids, not text");
        }
        return tokenizer;
    }

    /** The request's options over the model's defaults: an option left at ORT GenAI's default takes the model's. */
    SearchOptions resolve(SearchOptions requested) {
        SearchOptions m = config.searchDefaults();
        if (requested == null) {
            return m;
        }
        SearchOptions d = SearchOptions.DEFAULTS;
        SearchOptions r = requested;
        return new SearchOptions(
                r.maxLength() != d.maxLength() ? r.maxLength() : m.maxLength(),
                r.minLength() != d.minLength() ? r.minLength() : m.minLength(),
                r.doSample() != d.doSample() ? r.doSample() : m.doSample(),
                r.topK() != d.topK() ? r.topK() : m.topK(),
                r.topP() != d.topP() ? r.topP() : m.topP(),
                r.temperature() != d.temperature() ? r.temperature() : m.temperature(),
                r.repetitionPenalty() != d.repetitionPenalty() ? r.repetitionPenalty() : m.repetitionPenalty(),
                r.noRepeatNgramSize() != d.noRepeatNgramSize() ? r.noRepeatNgramSize() : m.noRepeatNgramSize(),
                r.numBeams() != d.numBeams() ? r.numBeams() : m.numBeams(),
                r.numReturnSequences() != d.numReturnSequences() ? r.numReturnSequences() : m.numReturnSequences(),
                r.lengthPenalty() != d.lengthPenalty() ? r.lengthPenalty() : m.lengthPenalty(),
                r.earlyStopping() != d.earlyStopping() ? r.earlyStopping() : m.earlyStopping(),
                r.randomSeed() != d.randomSeed() ? r.randomSeed() : m.randomSeed());
    }

    private List<int[]> prompts(GenerationRequest request) {
        if (request.inputIds().isEmpty()) {
            List<int[]> rows = new ArrayList<>();
            for (String prompt : request.prompts()) {
                rows.add(requireTokenizer().encode(prompt));
            }
            return rows;
        }
        return request.inputIds();
    }

    /** Checks the request as ORT GenAI does; returns the effective max length. */
    private int validate(GenerationRequest request, SearchOptions s, List<int[]> prompts) {
        int batch = prompts.size();
        check(batch >= 1 && batch <= MAX_BATCH, "batch_size must be in 1.." + MAX_BATCH + ", got " + batch);
        check(s.numBeams() >= 1 && s.numBeams() <= MAX_BATCH, "num_beams must be in 1.." + MAX_BATCH + ", got " + s.numBeams());
        check(s.numReturnSequences() >= 1 && s.numReturnSequences() <= s.numBeams(),
                "num_return_sequences must be in 1..num_beams (" + s.numBeams() + "), got " + s.numReturnSequences());
        check(s.topK() >= 0 && s.topK() <= config.vocabSize(), "top_k must be in 0..vocab_size (" + config.vocabSize() + "), got " + s.topK());
        check(s.topP() >= 0f && s.topP() <= 1f, "top_p must be in [0, 1], got " + s.topP());
        check(s.temperature() > 0f, "temperature must be > 0, got " + s.temperature());
        check(s.repetitionPenalty() > 0f, "repetition_penalty must be > 0, got " + s.repetitionPenalty());
        check(s.minLength() >= 0, "min_length must be ≥ 0, got " + s.minLength());
        check(s.noRepeatNgramSize() >= 0, "no_repeat_ngram_size must be ≥ 0, got " + s.noRepeatNgramSize());
        check(!(s.doSample() && s.numBeams() > 1), "do_sample cannot be combined with beam search (num_beams " + s.numBeams() + ")");
        check(s.maxLength() >= 0, "max_length must be ≥ 0, got " + s.maxLength());
        int context = config.contextLength();
        int maxLength = s.maxLength() == 0 ? context : s.maxLength();
        check(maxLength > 0, "model " + model().id() + " declares no context length: give max_length");
        check(context == 0 || maxLength <= context, "max_length " + maxLength + " exceeds the model's context length " + context);
        check(request.stopStrings().isEmpty() || tokenizer != null, "stop strings need a tokenizer; model " + model().id() + " has no " + TOKENIZER_FILE);
        for (int r = 0; r < batch; r++) {
            int[] p = prompts.get(r);
            check(p.length > 0, "prompt " + r + " is empty");
            check(p.length < maxLength, "prompt " + r + " has " + p.length + " tokens; it must be shorter than max_length " + maxLength
                    + (context > 0 ? " (context length " + context + ")" : ""));
            for (int id : p) {
                check(id >= 0 && id < config.vocabSize(), "token id " + id + " in prompt " + r + " is outside the model's vocabulary of "
                        + config.vocabSize() + " (valid ids: 0.." + (config.vocabSize() - 1) + ")");
            }
        }
        return maxLength;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new InvalidRequestException(message);
        }
    }
}
