package io.triptych.api.generator;

/**
 * Search options with ONNX Runtime GenAI's names and defaults. A model's {@code genai_config.json}
 * {@code search} section supplies its own defaults; options set here override them. Ranges are
 * checked by the engine, which throws {@link io.triptych.api.InvalidRequestException}.
 *
 * @param maxLength total sequence length to stop at, prompt included; 0 means the model's context length
 * @param minLength total length before which end-of-sequence is suppressed
 * @param doSample sample instead of picking the most likely token
 * @param topK sample among the k most likely tokens (with {@code doSample})
 * @param topP sample from the smallest set whose probability reaches p; 0 disables
 * @param temperature divides the logits before sampling; &gt; 0
 * @param repetitionPenalty penalises tokens already in the sequence; 1 disables
 * @param noRepeatNgramSize forbids repeating n-grams of this size; 0 disables
 * @param numBeams beams for beam search; 1 disables beam search
 * @param numReturnSequences sequences returned per prompt; at most {@code numBeams}
 * @param lengthPenalty exponent of the length normalisation of beam scores
 * @param earlyStopping stop beam search once {@code numBeams} hypotheses are done
 * @param randomSeed seed of the sampler; -1 draws a random seed
 */
public record SearchOptions(int maxLength, int minLength, boolean doSample, int topK, float topP,
                            float temperature, float repetitionPenalty, int noRepeatNgramSize,
                            int numBeams, int numReturnSequences, float lengthPenalty,
                            boolean earlyStopping, long randomSeed) {

    /** ORT GenAI's defaults. */
    public static final SearchOptions DEFAULTS =
            new SearchOptions(0, 0, false, 50, 0f, 1f, 1f, 0, 1, 1, 1f, true, -1L);

    /** A builder starting from {@link #DEFAULTS}. */
    public static Builder builder() {
        return new Builder(DEFAULTS);
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Builds {@link SearchOptions}; every setter is optional. */
    public static final class Builder {
        private int maxLength, minLength, topK, noRepeatNgramSize, numBeams, numReturnSequences;
        private boolean doSample, earlyStopping;
        private float topP, temperature, repetitionPenalty, lengthPenalty;
        private long randomSeed;

        private Builder(SearchOptions o) {
            maxLength = o.maxLength; minLength = o.minLength; doSample = o.doSample; topK = o.topK;
            topP = o.topP; temperature = o.temperature; repetitionPenalty = o.repetitionPenalty;
            noRepeatNgramSize = o.noRepeatNgramSize; numBeams = o.numBeams;
            numReturnSequences = o.numReturnSequences; lengthPenalty = o.lengthPenalty;
            earlyStopping = o.earlyStopping; randomSeed = o.randomSeed;
        }

        public Builder maxLength(int v) { maxLength = v; return this; }
        public Builder minLength(int v) { minLength = v; return this; }
        public Builder doSample(boolean v) { doSample = v; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder topP(float v) { topP = v; return this; }
        public Builder temperature(float v) { temperature = v; return this; }
        public Builder repetitionPenalty(float v) { repetitionPenalty = v; return this; }
        public Builder noRepeatNgramSize(int v) { noRepeatNgramSize = v; return this; }
        public Builder numBeams(int v) { numBeams = v; return this; }
        public Builder numReturnSequences(int v) { numReturnSequences = v; return this; }
        public Builder lengthPenalty(float v) { lengthPenalty = v; return this; }
        public Builder earlyStopping(boolean v) { earlyStopping = v; return this; }
        public Builder randomSeed(long v) { randomSeed = v; return this; }

        public SearchOptions build() {
            return new SearchOptions(maxLength, minLength, doSample, topK, topP, temperature, repetitionPenalty,
                    noRepeatNgramSize, numBeams, numReturnSequences, lengthPenalty, earlyStopping, randomSeed);
        }
    }
}
