package io.triptych.backend.opencl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Folds cheap element-wise work into the kernel that produces its input, when a graph is compiled:
 * on PoCL every launch costs about as much as a small kernel's work, so fewer launches matter more
 * than fewer operations. A {@code MatMul} by a weight matrix whose result only feeds an {@code Add}
 * of a bias vector becomes one {@code MatMul} with the bias as a third input, added in the
 * product's epilogue ({@code acc + bias}, the same float sum the {@code Add} would compute).
 */
final class Fusion {
    private static final String MATMUL = "ai.onnx:MatMul", ADD = "ai.onnx:Add";

    private Fusion() {
    }

    /**
     * The schedule with fusible pairs merged.
     *
     * @param values the initial values by slot (initializers and constants; {@code null} for values computed later)
     * @param kept slots that must stay visible (graph outputs)
     */
    static List<Node> fuse(List<Node> schedule, Value[] values, Collection<Integer> kept) {
        int[] readers = new int[values.length];
        for (Node n : schedule) {
            for (int in : n.inputs) {
                if (in >= 0) {
                    readers[in]++;
                }
            }
        }
        int[] producer = new int[values.length];
        Arrays.fill(producer, -1);
        List<Node> out = new ArrayList<>(schedule);
        for (int i = 0; i < out.size(); i++) {
            for (int o : out.get(i).outputs) {
                if (o >= 0) {
                    producer[o] = i;
                }
            }
        }
        for (int i = 0; i < out.size(); i++) {
            Node add = out.get(i);
            if (!add.op.equals(ADD) || add.inputs.length != 2) {
                continue;
            }
            for (int side = 0; side < 2; side++) {
                int product = add.inputs[side], bias = add.inputs[1 - side];
                Node mm = product < 0 || producer[product] < 0 ? null : out.get(producer[product]);
                if (mm != null && mm.op.equals(MATMUL) && mm.inputs.length == 2 && readers[product] == 1 && !kept.contains(product)
                        && biasOf(mm, values, bias)) {
                    out.set(producer[product], mm.fused(add, new int[] {mm.inputs[0], mm.inputs[1], bias}, add.outputs));
                    for (int o : add.outputs) {
                        if (o >= 0) {
                            producer[o] = producer[product];
                        }
                    }
                    out.set(i, null);
                    break;
                }
            }
        }
        out.removeIf(n -> n == null);
        return out;
    }

    /** Whether {@code bias} is a float vector along the columns of the product's weight matrix. */
    private static boolean biasOf(Node matMul, Value[] values, int bias) {
        Value w = matMul.inputs[1] < 0 ? null : values[matMul.inputs[1]];
        Value b = bias < 0 ? null : values[bias];
        return w != null && b != null && w.isFloat() && b.isFloat() && w.shape.length >= 2 && b.shape.length == 1
                && (b.shape[0] == w.shape[w.shape.length - 1] || b.shape[0] == 1);
    }
}
