package io.triptych.engine.generator;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * ORT GenAI's (and Hugging Face's) beam search scorer: each step keeps the best {@code numBeams}
 * continuations of every batch row among the top {@code 2·numBeams} candidates; a candidate ending
 * in end-of-sequence becomes a finished hypothesis scored {@code sum_logprobs / length^lengthPenalty}
 * (length of the sequence without the end token, prompt included).
 */
final class BeamScorer {
    /** A finished (or, at the end, unfinished) sequence and its length-normalised score. */
    record Hypothesis(int[] tokens, float score, boolean eos) {
    }

    private final int batch;
    private final int numBeams;
    private final float lengthPenalty;
    private final boolean earlyStopping;
    private final List<List<Hypothesis>> hypotheses = new ArrayList<>();
    private final boolean[] done;
    /** Scores, tokens and source rows of the beams chosen by the last {@link #process}. */
    final float[] nextScores;
    final int[] nextTokens;
    final int[] nextSources;

    BeamScorer(int batch, int numBeams, float lengthPenalty, boolean earlyStopping) {
        this.batch = batch;
        this.numBeams = numBeams;
        this.lengthPenalty = lengthPenalty;
        this.earlyStopping = earlyStopping;
        this.done = new boolean[batch];
        for (int b = 0; b < batch; b++) {
            hypotheses.add(new ArrayList<>());
        }
        nextScores = new float[batch * numBeams];
        nextTokens = new int[batch * numBeams];
        nextSources = new int[batch * numBeams];
    }

    /**
     * One step.
     *
     * @param scores per beam row, the log-probabilities of every token plus the beam's score so far
     * @param state the rows before this step's token
     * @param config the end-of-sequence ids, and the pad id that fills the rows of finished entries
     */
    void process(float[][] scores, DecoderState state, LlmConfig config) {
        int vocab = scores[0].length;
        for (int b = 0; b < batch; b++) {
            if (done[b]) {
                for (int j = 0; j < numBeams; j++) {
                    int row = b * numBeams + j;
                    nextScores[row] = 0f;
                    nextTokens[row] = config.padTokenId();
                    nextSources[row] = row;
                }
                continue;
            }
            // the 2·numBeams best (beam, token) candidates over this entry's beams
            float[] flat = new float[numBeams * vocab];
            for (int j = 0; j < numBeams; j++) {
                System.arraycopy(scores[b * numBeams + j], 0, flat, j * vocab, vocab);
            }
            int[] top = Logits.descending(flat, Math.min(2 * numBeams, flat.length));
            int beam = 0;
            for (int c = 0; c < top.length && beam < numBeams; c++) {
                int source = b * numBeams + top[c] / vocab;
                int token = top[c] % vocab;
                float score = flat[top[c]];
                if (config.isEos(token)) {
                    if (c < numBeams) {
                        add(b, state.row(source), score, true);
                    }
                } else {
                    int row = b * numBeams + beam++;
                    nextScores[row] = score;
                    nextTokens[row] = token;
                    nextSources[row] = source;
                }
            }
            done[b] = isDone(b, flat[top[0]], state.length());
        }
    }

    boolean allDone() {
        for (boolean d : done) {
            if (!d) {
                return false;
            }
        }
        return true;
    }

    /** Adds the unfinished beams of entries not done, and returns each entry's best {@code count} hypotheses, best first. */
    List<List<Hypothesis>> finish(DecoderState state, float[] beamScores, int count) {
        for (int b = 0; b < batch; b++) {
            if (!done[b]) {
                for (int j = 0; j < numBeams; j++) {
                    int row = b * numBeams + j;
                    add(b, state.row(row), beamScores[row], false);
                }
            }
        }
        List<List<Hypothesis>> best = new ArrayList<>();
        for (List<Hypothesis> h : hypotheses) {
            best.add(h.stream().sorted(Comparator.comparingDouble(Hypothesis::score).reversed()).limit(count).toList());
        }
        return best;
    }

    private void add(int b, int[] tokens, float sumLogProbs, boolean eos) {
        List<Hypothesis> h = hypotheses.get(b);
        float score = (float) (sumLogProbs / Math.pow(tokens.length, lengthPenalty));
        if (h.size() < numBeams || score > worst(h)) {
            h.add(new Hypothesis(tokens, score, eos));
            if (h.size() > numBeams) {
                h.remove(h.stream().min(Comparator.comparingDouble(Hypothesis::score)).orElseThrow());
            }
        }
    }

    private boolean isDone(int b, float bestSumLogProbs, int length) {
        List<Hypothesis> h = hypotheses.get(b);
        if (h.size() < numBeams) {
            return false;
        }
        if (earlyStopping) {
            return true;
        }
        return worst(h) >= bestSumLogProbs / Math.pow(length, lengthPenalty);
    }

    private static float worst(List<Hypothesis> h) {
        return (float) h.stream().mapToDouble(Hypothesis::score).min().orElse(Double.NEGATIVE_INFINITY);
    }
}
