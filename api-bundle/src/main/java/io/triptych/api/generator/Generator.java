package io.triptych.api.generator;

import org.osgi.annotation.versioning.ProviderType;

import io.triptych.api.model.ModelDescriptor;

/**
 * Generates text with one deployed LLM. One service is registered per model, with the properties
 * {@link ModelDescriptor#PROPERTY_ID}, {@link ModelDescriptor#PROPERTY_PARADIGM} ({@code llm}) and
 * {@link io.triptych.api.backend.ComputeBackend#PROPERTY_ID} (updated when the backend changes).
 * Thread-safe.
 */
@ProviderType
public interface Generator {

    /** The model this generator serves. */
    ModelDescriptor model();

    /** The id of the backend new requests run on. */
    String backendId();

    /** The model's vocabulary size. */
    int vocabSize();

    /** Encodes text to token ids with the model's tokenizer (no special tokens added). */
    int[] encode(String text);

    /** Decodes token ids to text, skipping special tokens. */
    String decode(int[] tokens);

    /**
     * Generates, streaming tokens to {@code listener}.
     *
     * @throws io.triptych.api.InvalidRequestException for out-of-range options, token ids outside
     *         the vocabulary, or a prompt longer than the context
     * @throws io.triptych.api.CancelledException if the request's cancellation was set
     * @throws io.triptych.api.BackendUnavailableException if no backend can run the model
     */
    GenerationResult generate(GenerationRequest request, TokenListener listener);

    /** Generates without streaming; see {@link #generate(GenerationRequest, TokenListener)}. */
    default GenerationResult generate(GenerationRequest request) {
        return generate(request, (i, t, s) -> { });
    }
}
