package io.triptych.api.predictor;

import java.util.List;

/**
 * The outcome of selective decoding on a stream of frames: a label is decoded only where the
 * predicted embedding drifted past the threshold since the last decode.
 *
 * @param labels the label in force for every frame
 * @param decodedFrames indexes of the frames that were decoded
 * @param agreement fraction of frames whose label equals decoding every frame
 */
public record StreamDecoding(List<String> labels, List<Integer> decodedFrames, double agreement) {

    public StreamDecoding {
        labels = List.copyOf(labels);
        decodedFrames = List.copyOf(decodedFrames);
    }

    /** How many times fewer decodes were made than frames. */
    public double savings() {
        return decodedFrames.isEmpty() ? 0 : (double) labels.size() / decodedFrames.size();
    }
}
