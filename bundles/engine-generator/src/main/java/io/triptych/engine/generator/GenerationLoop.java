package io.triptych.engine.generator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import io.triptych.api.generator.FinishReason;
import io.triptych.api.generator.GeneratedSequence;
import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.GenerationResult;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.generator.TokenListener;
import io.triptych.engine.support.BackendBinding;
import io.triptych.tokenizers.HfTokenizer;
import io.triptych.tokenizers.StreamDecoder;

/**
 * One validated request run to the end on one compiled decoder: greedy or sampling search (one
 * sequence per row, streamed token by token) or beam search (streamed when it ends). Per step, as
 * in ORT GenAI: min_length → repetition_penalty → no_repeat_ngram → pick.
 */
final class GenerationLoop {
    private final LlmConfig config;
    private final DecoderLayout layout;
    private final HfTokenizer tokenizer;
    private final GenerationRequest request;
    private final SearchOptions search;
    private final List<int[]> prompts;
    private final int maxLength;
    private final TokenListener listener;
    private BackendBinding.Lease lease;
    private long promptNanos;
    private long decodeNanos;

    GenerationLoop(LlmConfig config, DecoderLayout layout, HfTokenizer tokenizer, GenerationRequest request,
                   SearchOptions search, List<int[]> prompts, int maxLength, TokenListener listener) {
        this.config = config;
        this.layout = layout;
        this.tokenizer = tokenizer;
        this.request = request;
        this.search = search;
        this.prompts = prompts;
        this.maxLength = maxLength;
        this.listener = listener;
    }

    /**
     * Runs the request on the binding's current parts. If their backend goes away mid-step, the
     * request moves to the parts the model was moved to and continues from its tokens so far
     * (the new backend rebuilds the cache from prompt + produced tokens).
     */
    GenerationResult run(BackendBinding binding) {
        lease = binding.acquire();
        try {
            return generate();
        } finally {
            lease.close();
        }
    }

    private GenerationResult generate() {
        int width = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        int beams = search.numBeams();
        int[][] padded = new int[prompts.size() * beams][];
        for (int r = 0; r < padded.length; r++) {
            int[] p = prompts.get(r / beams);
            padded[r] = new int[width];
            Arrays.fill(padded[r], 0, width - p.length, config.padTokenId());
            System.arraycopy(p, 0, padded[r], width - p.length, p.length);
        }
        try (DecoderState state = new DecoderState(layout, padded, config.padTokenId(), maxLength)) {
            List<GeneratedSequence> sequences = beams > 1 ? beamSearch(state) : greedyOrSample(state);
            long promptTokens = prompts.stream().mapToLong(p -> p.length).sum();
            long generated = sequences.stream().mapToLong(s -> s.tokens().length - s.promptLength()).sum();
            return new GenerationResult(sequences, lease.compiled().backendId(), promptTokens, generated, promptNanos, decodeNanos);
        }
    }

    private float[][] step(DecoderState state) {
        request.cancellation().throwIfCancelled();
        long start = System.nanoTime();
        float[][] logits = lease.call(state::run);
        long elapsed = System.nanoTime() - start;
        if (promptNanos == 0) {
            promptNanos = elapsed;
        } else {
            decodeNanos += elapsed;
        }
        return logits;
    }

    private void process(float[] logits, DecoderState state, int row) {
        Logits.minLength(logits, state.length(), search.minLength(), config.eosTokenIds());
        Logits.repetitionPenalty(logits, state, row, search.repetitionPenalty());
        Logits.noRepeatNgram(logits, state, row, search.noRepeatNgramSize());
    }

    private List<GeneratedSequence> greedyOrSample(DecoderState state) {
        int rows = state.rows;
        int promptEnd = state.length();
        boolean sample = search.doSample() && search.topK() != 1;
        SplittableRandom random = search.randomSeed() == -1 ? new SplittableRandom() : new SplittableRandom(search.randomSeed());
        FinishReason[] finished = new FinishReason[rows];
        int[] generated = new int[rows];
        StreamDecoder[] text = new StreamDecoder[rows];
        for (int r = 0; r < rows && tokenizer != null; r++) {
            text[r] = tokenizer.streamDecoder(true);
        }
        int[] next = new int[rows];
        int open = rows;
        while (open > 0 && state.length() < maxLength) {
            float[][] logits = step(state);
            for (int r = 0; r < rows; r++) {
                if (finished[r] != null) {
                    next[r] = config.padTokenId();
                    continue;
                }
                process(logits[r], state, r);
                next[r] = sample ? Logits.sample(logits[r], search.topK(), search.topP(), search.temperature(), random)
                        : Logits.argmax(logits[r]);
            }
            state.append(next);
            for (int r = 0; r < rows; r++) {
                if (finished[r] != null) {
                    continue;
                }
                generated[r]++;
                String delta = text[r] == null ? "" : text[r].push(next[r]);
                listener.onToken(r, next[r], delta);
                if (config.isEos(next[r])) {
                    finished[r] = FinishReason.EOS;
                } else if (text[r] != null && request.stopStrings().stream().anyMatch(text[r].text()::contains)) {
                    finished[r] = FinishReason.STOP_STRING;
                }
                if (finished[r] != null) {
                    open--;
                }
            }
        }
        List<GeneratedSequence> out = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            int[] prompt = prompts.get(r);
            int[] tokens = Arrays.copyOf(prompt, prompt.length + generated[r]);
            for (int j = 0; j < generated[r]; j++) {
                tokens[prompt.length + j] = state.token(r, promptEnd + j);
            }
            // the streamed text: a trailing incomplete character (max length hit mid-character) is left out
            String t = text[r] == null ? "" : text[r].text();
            out.add(new GeneratedSequence(r, tokens, prompt.length, t, finished[r] == null ? FinishReason.MAX_LENGTH : finished[r], Double.NaN));
        }
        return out;
    }

    private List<GeneratedSequence> beamSearch(DecoderState state) {
        int beams = search.numBeams();
        int batch = prompts.size();
        int promptEnd = state.length();
        BeamScorer scorer = new BeamScorer(batch, beams, search.lengthPenalty(), search.earlyStopping());
        // only the first beam of each entry starts live, so that the first step does not pick the same token numBeams times
        float[] beamScores = new float[state.rows];
        for (int r = 0; r < state.rows; r++) {
            beamScores[r] = r % beams == 0 ? 0f : -1e9f;
        }
        while (!scorer.allDone() && state.length() < maxLength) {
            float[][] logits = step(state);
            for (int r = 0; r < state.rows; r++) {
                process(logits[r], state, r);
                Logits.logSoftmax(logits[r]);
                for (int v = 0; v < logits[r].length; v++) {
                    logits[r][v] += beamScores[r];
                }
            }
            scorer.process(logits, state, config);
            state.reorder(scorer.nextSources);
            state.append(scorer.nextTokens);
            beamScores = scorer.nextScores.clone();
        }
        List<List<BeamScorer.Hypothesis>> best = scorer.finish(state, beamScores, search.numReturnSequences());
        List<GeneratedSequence> out = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            int[] prompt = prompts.get(b);
            for (BeamScorer.Hypothesis h : best.get(b)) {
                int[] fresh = Arrays.copyOfRange(h.tokens(), promptEnd, h.tokens().length);
                int[] tokens = Arrays.copyOf(prompt, prompt.length + fresh.length);
                System.arraycopy(fresh, 0, tokens, prompt.length, fresh.length);
                int index = out.size();
                StreamDecoder text = tokenizer == null ? null : tokenizer.streamDecoder(true);
                for (int t : fresh) {
                    listener.onToken(index, t, text == null ? "" : text.push(t));
                }
                String t = text == null ? "" : text.text();
                out.add(new GeneratedSequence(b, tokens, prompt.length, t, h.eos() ? FinishReason.EOS : FinishReason.MAX_LENGTH, h.score()));
            }
        }
        return out;
    }
}
