package io.triptych.api.denoiser;

import org.osgi.annotation.versioning.ProviderType;

import io.triptych.api.model.ModelDescriptor;

/**
 * Draws images with one deployed diffusion pipeline. One service per model, with the properties
 * {@link ModelDescriptor#PROPERTY_ID}, {@link ModelDescriptor#PROPERTY_PARADIGM} ({@code diffusion})
 * and {@code backend.id}. Thread-safe.
 */
@ProviderType
public interface Denoiser {

    /** The pipeline this denoiser serves. */
    ModelDescriptor model();

    /** The id of the backend new requests run on. */
    String backendId();

    /**
     * Runs the pipeline, reporting each step to {@code listener}.
     *
     * @throws io.triptych.api.InvalidRequestException for out-of-range options or an unknown scheduler
     * @throws io.triptych.api.CancelledException if the request's cancellation was set
     */
    DenoiseResult denoise(DenoiseRequest request, ProgressListener listener);

    /** Runs the pipeline without progress reports. */
    default DenoiseResult denoise(DenoiseRequest request) {
        return denoise(request, (s, n, t) -> { });
    }
}
