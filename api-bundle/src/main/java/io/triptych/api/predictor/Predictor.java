package io.triptych.api.predictor;

import java.awt.image.BufferedImage;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

import io.triptych.api.model.ModelDescriptor;

/**
 * Predicts in representation space with one deployed JEPA / VL-JEPA model. One service per model,
 * with the properties {@link ModelDescriptor#PROPERTY_ID}, {@link ModelDescriptor#PROPERTY_PARADIGM}
 * ({@code jepa}) and {@code backend.id}. Thread-safe. Operations a model's parts cannot serve
 * (e.g. text without a {@code y_encoder}) throw {@link io.triptych.api.InvalidRequestException}.
 */
@ProviderType
public interface Predictor {

    /** The model this predictor serves. */
    ModelDescriptor model();

    /** The id of the backend new requests run on. */
    String backendId();

    /** Encodes an image with the context encoder. */
    Embedding encode(BufferedImage image);

    /**
     * Predicts the embeddings of {@code targets} from the rest of the image.
     *
     * @param targets target blocks on the patch grid; the context is every other patch
     */
    MaskedPrediction predictMasked(BufferedImage image, List<PatchBlock> targets);

    /** Predicts the text-space embedding of an image for a query (VL-JEPA); {@code query} may be empty. */
    float[] predict(BufferedImage image, String query);

    /** Ranks candidate labels by cosine similarity with the predicted embedding, best first. */
    List<ScoredLabel> classify(BufferedImage image, List<String> labels, String query);

    /** Ranks images by cosine similarity of their predicted embedding with a text, best first. */
    List<RankedImage> retrieve(String text, List<BufferedImage> images);

    /**
     * Labels a stream of frames, decoding only where the prediction drifts.
     *
     * @param threshold cosine distance from the last decoded embedding that triggers a decode
     */
    StreamDecoding decodeStream(List<BufferedImage> frames, List<String> labels, String query, double threshold);
}
