package io.triptych.engine.generator;

import java.util.Arrays;
import java.util.SplittableRandom;

/** ORT GenAI's per-step logits processing and token choice, on one row's logits. */
final class Logits {
    private Logits() {
    }

    /** Below the minimum length, no end-of-sequence token may be chosen. */
    static void minLength(float[] logits, int length, int minLength, int[] eosTokenIds) {
        if (length < minLength) {
            for (int eos : eosTokenIds) {
                logits[eos] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /** Each token already in the row is made less likely: positive logits divided, negative multiplied. */
    static void repetitionPenalty(float[] logits, DecoderState state, int row, float penalty) {
        if (penalty == 1f) {
            return;
        }
        boolean[] seen = new boolean[logits.length];
        for (int j = 0; j < state.length(); j++) {
            int t = state.token(row, j);
            if (!seen[t]) {
                seen[t] = true;
                logits[t] = logits[t] < 0 ? logits[t] * penalty : logits[t] / penalty;
            }
        }
    }

    /** Forbids every token that would repeat an n-gram already in the row. */
    static void noRepeatNgram(float[] logits, DecoderState state, int row, int n) {
        int len = state.length();
        if (n <= 0 || len < n) {
            return;
        }
        for (int start = 0; start + n <= len; start++) {
            boolean match = true;
            for (int k = 0; k < n - 1 && match; k++) {
                match = state.token(row, start + k) == state.token(row, len - n + 1 + k);
            }
            if (match) {
                logits[state.token(row, start + n - 1)] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /** The first index of the largest logit. */
    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Samples as ORT GenAI does: among the {@code topK} most likely tokens (all for 0), softmax
     * with {@code temperature}, then a threshold drawn uniformly from [0, topP) (or [0, 1) when top-p
     * is off) walks down the probabilities, which samples from the smallest set reaching topP.
     */
    static int sample(float[] logits, int topK, float topP, float temperature, SplittableRandom random) {
        int k = topK <= 0 || topK > logits.length ? logits.length : topK;
        int[] order = descending(logits, k);
        float max = logits[order[0]];
        double[] p = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) {
            p[i] = Math.exp((logits[order[i]] - max) / temperature);
            sum += p[i];
        }
        double threshold = random.nextDouble() * (topP > 0f && topP < 1f ? topP : 1.0);
        for (int i = 0; i < k; i++) {
            threshold -= p[i] / sum;
            if (threshold <= 0) {
                return order[i];
            }
        }
        return order[k - 1];
    }

    /** log(softmax(logits)), in place. */
    static void logSoftmax(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        float sum = 0;
        for (float v : logits) {
            sum += (float) Math.exp(v - max);
        }
        float log = (float) Math.log(sum);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = logits[i] - max - log;
        }
    }

    /** The indices of the {@code k} largest values, largest first (ties: lower index first). */
    static int[] descending(float[] values, int k) {
        long[] keys = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            int bits = Float.floatToIntBits(values[i]);
            int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF);
            // ascending order of keys = descending values, then ascending indices
            keys[i] = ((long) ~sortable << 32) | i;
        }
        Arrays.sort(keys);
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = (int) keys[i];
        }
        return out;
    }
}
