package io.triptych.api.model;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import io.triptych.api.tensor.TensorSpec;

/**
 * One ONNX graph of a model folder (a decoder, a UNet, an encoder), as read from the file.
 *
 * @param name the path of the file relative to the model folder, with {@code /} separators
 *             (e.g. {@code unet/model.onnx})
 * @param file the absolute path of the {@code .onnx} file (external data files lie beside it)
 * @param inputs the graph inputs that are not initializers, in graph order
 * @param outputs the graph outputs, in graph order
 * @param operators every operator the graph (and its subgraphs) uses, as {@code domain:OpType};
 *                  the default ONNX domain is written {@code ai.onnx}
 * @param opsets the imported operator set version per domain
 */
public record ModelPart(String name, Path file, List<TensorSpec> inputs, List<TensorSpec> outputs,
                        Set<String> operators, Map<String, Long> opsets) {

    /** The name of the default ONNX operator domain in {@link #operators()}. */
    public static final String DEFAULT_DOMAIN = "ai.onnx";

    public ModelPart {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(file, "file");
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        operators = Set.copyOf(operators);
        opsets = Map.copyOf(opsets);
    }

    /** The input with the given name, or {@code null}. */
    public TensorSpec input(String inputName) {
        return inputs.stream().filter(s -> s.name().equals(inputName)).findFirst().orElse(null);
    }

    /** The output with the given name, or {@code null}. */
    public TensorSpec output(String outputName) {
        return outputs.stream().filter(s -> s.name().equals(outputName)).findFirst().orElse(null);
    }
}
