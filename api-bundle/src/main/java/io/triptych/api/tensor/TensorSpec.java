package io.triptych.api.tensor;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The declared type of a model input or output, as read from the ONNX graph.
 *
 * @param name the tensor's name in the graph
 * @param dtype its element type, or {@code null} if Triptych has no such type
 * @param shape the dimensions; {@code -1} marks a dynamic dimension
 * @param dimNames the symbolic names of dynamic dimensions ({@code ""} where fixed or unnamed)
 */
public record TensorSpec(String name, DType dtype, long[] shape, List<String> dimNames) {

    public TensorSpec {
        Objects.requireNonNull(name, "name");
        shape = shape.clone();
        dimNames = List.copyOf(dimNames);
        if (dimNames.size() != shape.length) {
            throw new IllegalArgumentException("dimNames must name every dimension");
        }
    }

    /** The rank (number of dimensions). */
    public int rank() {
        return shape.length;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec s && name.equals(s.name) && dtype == s.dtype
                && Arrays.equals(shape, s.shape) && dimNames.equals(s.dimNames);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), dimNames);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(name).append(": ").append(dtype == null ? "?" : dtype.name().toLowerCase()).append('[');
        for (int i = 0; i < shape.length; i++) {
            b.append(i == 0 ? "" : ",").append(shape[i] >= 0 ? Long.toString(shape[i]) : dimNames.get(i).isEmpty() ? "?" : dimNames.get(i));
        }
        return b.append(']').toString();
    }
}
