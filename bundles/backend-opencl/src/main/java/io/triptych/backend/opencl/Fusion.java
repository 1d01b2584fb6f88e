package io.triptych.backend.opencl;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiPredicate;

import io.triptych.onnx.proto.Onnx.AttributeProto;

/**
 * Folds cheap element-wise and copy work into the kernel that produces or reads its data, when a
 * graph is compiled: on PoCL every launch costs about as much as a small kernel's work, so fewer
 * launches matter more than fewer operations. In order:
 * <ul>
 * <li>a {@code Mul} by a scalar constant of a {@code MatMul}'s result becomes the product's alpha;
 * <li>a {@code MatMul} by a weight matrix whose result only feeds an {@code Add} of a bias vector
 * becomes one {@code MatMul} with the bias as a third input, added in the product's epilogue
 * ({@code acc + bias}, the same float sum the {@code Add} would compute);
 * <li>a one-input activation (or {@code FastGelu}) that alone reads a product's result runs in that
 * epilogue too, and then an {@code Add} of another value (a residual stream);
 * <li>a {@code Transpose} that only feeds a {@code MatMul} or a {@code Concat} becomes strides of
 * that input (the product kernels and Concat's copies read any strides), saving its copy;
 * <li>each tree of element-wise operators whose intermediates have one reader and are no graph
 * output (an erf GELU: Div, Erf, Add, Mul, Mul) becomes one {@link ElementwiseChain};
 * <li>a {@code Split} whose parts only those strided readers take leaves contiguous parts as views.
 * </ul>
 * Every folded operation is the float operation the unfused node would do, in the same order, so
 * results stay bit for bit the same.
 */
final class Fusion {
    /**
     * Attribute prefix of an input (by index) that its node reads through a Transpose's permutation
     * (empty: reversed dimensions) instead of the Transpose's copy; see {@link Exec#view}.
     */
    static final String TRANSPOSED = "triptych.transposed";
    /** Attributes of a MatMul's activation: the unary kernel's op code and parameters. */
    static final String ACTIVATION = "triptych.activation", ACTIVATION_ALPHA = "triptych.activation.alpha",
            ACTIVATION_BETA = "triptych.activation.beta";
    /** Attribute of a MatMul whose result a scalar {@code Mul} scaled: the scalar. */
    static final String SCALE = "triptych.scale";
    /** Attribute (1) of a Split whose readers all take its parts as views with an offset. */
    static final String SLICED = "triptych.sliced";
    private static final String MATMUL = "ai.onnx:MatMul", ADD = "ai.onnx:Add", MUL = "ai.onnx:Mul", TRANSPOSE = "ai.onnx:Transpose",
            CONCAT = "ai.onnx:Concat", SPLIT = "ai.onnx:Split", FAST_GELU = "com.microsoft:FastGelu";
    /** Operators whose output shares their input's data under another shape (and offset). */
    private static final Set<String> VIEWS = Set.of("ai.onnx:Reshape", "ai.onnx:Squeeze", "ai.onnx:Unsqueeze", "ai.onnx:Flatten");

    private Fusion() {
    }

    /**
     * The schedule with fusible nodes merged.
     *
     * @param values the initial values by slot (initializers and constants; {@code null} for values computed later)
     * @param kept slots that must stay visible (graph outputs)
     */
    static List<Node> fuse(List<Node> schedule, Value[] values, Collection<Integer> kept) {
        int slots = values.length;
        List<Node> epilogues = residuals(activations(biases(scales(schedule, values, kept), values, kept), values, kept), slots, kept);
        return slices(chains(transposes(epilogues, slots, kept), slots, kept), slots, kept);
    }

    /**
     * A {@code Mul} by a float scalar constant that alone reads a plain product's result becomes the
     * product's alpha: {@code alpha * acc} is the float product the {@code Mul} would compute, and any
     * bias, activation or residual folded in later follows it as the unfused nodes would.
     */
    private static List<Node> scales(List<Node> schedule, Value[] values, Collection<Integer> kept) {
        int[] readers = readers(schedule, values.length), producer = producers(schedule, values.length);
        List<Node> out = new ArrayList<>(schedule);
        for (int i = 0; i < out.size(); i++) {
            Node mul = out.get(i);
            ProductOperand p = mul.op.equals(MUL) ? productOperand(mul, out, readers, producer, kept, (mm, scale) -> mm.inputs.length == 2
                    && scale >= 0 && values[scale] != null && values[scale].isFloat() && values[scale].shape.length == 0
                    && values[scale].floats != null) : null;
            if (p != null) {
                Node mm = out.get(p.at());
                out.set(p.at(), mm.fused(mul, mm.inputs, mul.outputs, floatAttribute(SCALE, values[p.other()].floats[0])));
                out.set(i, null);
            }
        }
        out.removeIf(n -> n == null);
        return out;
    }

    private static List<Node> biases(List<Node> schedule, Value[] values, Collection<Integer> kept) {
        int[] readers = readers(schedule, values.length), producer = producers(schedule, values.length);
        List<Node> out = new ArrayList<>(schedule);
        for (int i = 0; i < out.size(); i++) {
            Node add = out.get(i);
            ProductOperand p = add.op.equals(ADD) ? productOperand(add, out, readers, producer, kept,
                    (mm, bias) -> mm.inputs.length == 2 && biasOf(mm, values, bias)) : null;
            if (p != null) {
                Node mm = out.get(p.at());
                out.set(p.at(), mm.fused(add, new int[] {mm.inputs[0], mm.inputs[1], p.other()}, add.outputs));
                for (int o : add.outputs) {
                    if (o >= 0) {
                        producer[o] = p.at();
                    }
                }
                out.set(i, null);
            }
        }
        out.removeIf(n -> n == null);
        return out;
    }

    /**
     * A one-input element-wise node (an activation) or a {@code FastGelu} (whose bias becomes the
     * product's) that alone reads a MatMul's result runs in the product's epilogue, on the value the
     * product would have stored.
     */
    private static List<Node> activations(List<Node> schedule, Value[] values, Collection<Integer> kept) {
        int[] readers = readers(schedule, values.length), producer = producers(schedule, values.length);
        List<Node> out = new ArrayList<>(schedule);
        for (int i = 0; i < out.size(); i++) {
            Node act = out.get(i);
            boolean fast = act.op.equals(FAST_GELU);
            ElementwiseOps.UnaryCall call = fast ? new ElementwiseOps.UnaryCall(ElementwiseOps.GELU_TANH, 0, 0)
                    : act.inputs.length == 1 ? ElementwiseOps.unaryCall(act) : null;
            int product = act.inputs.length > 0 ? act.inputs[0] : -1;
            Node mm = product < 0 || producer[product] < 0 ? null : out.get(producer[product]);
            if (call == null || mm == null || !mm.op.equals(MATMUL) || readers[product] != 1 || kept.contains(product)) {
                continue;
            }
            int[] inputs = mm.inputs;
            if (fast && act.inputs.length > 1 && act.inputs[1] >= 0) {
                if (mm.inputs.length != 2 || !biasOf(mm, values, act.inputs[1])) {
                    continue;
                }
                inputs = new int[] {mm.inputs[0], mm.inputs[1], act.inputs[1]};
            }
            out.set(producer[product], mm.fused(act, inputs, act.outputs, intAttribute(ACTIVATION, call.code()),
                    floatAttribute(ACTIVATION_ALPHA, call.alpha()), floatAttribute(ACTIVATION_BETA, call.beta())));
            out.set(i, null);
        }
        out.removeIf(n -> n == null);
        return out;
    }

    /** Where in the schedule a binary node's product operand is computed, and the node's other operand. */
    private record ProductOperand(int at, int other) {
    }

    /**
     * The operand of a two-input node that is a {@code MatMul}'s result read by nothing else and no
     * graph output, where {@code fits} accepts that product and the other operand; {@code null} if none.
     */
    private static ProductOperand productOperand(Node binary, List<Node> schedule, int[] readers, int[] producer, Collection<Integer> kept,
                                                 BiPredicate<Node, Integer> fits) {
        if (binary.inputs.length != 2) {
            return null;
        }
        for (int side = 0; side < 2; side++) {
            int product = binary.inputs[side], other = binary.inputs[1 - side];
            Node mm = product < 0 || producer[product] < 0 ? null : schedule.get(producer[product]);
            if (mm != null && mm.op.equals(MATMUL) && readers[product] == 1 && !kept.contains(product) && fits.test(mm, other)) {
                return new ProductOperand(producer[product], other);
            }
        }
        return null;
    }

    private static AttributeProto intAttribute(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static AttributeProto floatAttribute(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    /**
     * An {@code Add} that alone reads a product's result (biased, activated or not) and adds another
     * computed value adds it in the product's epilogue, as the product's fourth input; the fused node
     * runs where the {@code Add} ran, when that value exists. The epilogue reads it at the output's own
     * offsets; a value of another shape (broadcast) is added by a separate launch then.
     */
    private static List<Node> residuals(List<Node> schedule, int slots, Collection<Integer> kept) {
        int[] readers = readers(schedule, slots), producer = producers(schedule, slots);
        List<Node> out = new ArrayList<>(schedule);
        for (int i = 0; i < out.size(); i++) {
            Node add = out.get(i);
            ProductOperand p = add.op.equals(ADD) ? productOperand(add, out, readers, producer, kept,
                    (mm, residual) -> mm.inputs.length <= 3 && residual >= 0 && residual != mm.outputs[0]) : null;
            if (p != null) {
                Node mm = out.get(p.at());
                int[] inputs = {mm.inputs[0], mm.inputs[1], mm.inputs.length > 2 ? mm.inputs[2] : -1, p.other()};
                out.set(i, mm.fused(add, inputs, add.outputs));
                out.set(p.at(), null);
            }
        }
        out.removeIf(n -> n == null);
        return out;
    }

    /** A {@code Transpose} read only by a {@code MatMul} operand or a {@code Concat} input becomes that input's strides. */
    private static List<Node> transposes(List<Node> schedule, int slots, Collection<Integer> kept) {
        int[] readers = readers(schedule, slots), producer = producers(schedule, slots);
        List<Node> out = new ArrayList<>(schedule);
        for (int i = 0; i < out.size(); i++) {
            Node first = out.get(i);
            int strided = first == null ? 0 : first.op.equals(MATMUL) ? 2 : first.op.equals(CONCAT) ? first.inputs.length : 0;
            for (int k = 0; k < strided; k++) {
                Node reader = out.get(i);
                int operand = reader.inputs[k];
                Node t = operand < 0 || producer[operand] < 0 ? null : out.get(producer[operand]);
                if (t != null && t.op.equals(TRANSPOSE) && readers[operand] == 1 && !kept.contains(operand)) {
                    int[] inputs = reader.inputs.clone();
                    inputs[k] = t.inputs[0];
                    long[] perm = t.ints("perm");
                    out.set(i, reader.fused(t, inputs, reader.outputs, AttributeProto.newBuilder().setName(TRANSPOSED + k)
                            .setType(AttributeProto.AttributeType.INTS).addAllInts(Arrays.stream(perm == null ? new long[0] : perm).boxed().toList())
                            .build()));
                    out.set(producer[operand], null);
                }
            }
        }
        out.removeIf(n -> n == null);
        return out;
    }

    /**
     * A {@code Split} whose parts reach only product operands and {@code Concat} inputs (which read
     * any {@link Exec.View}), directly or through reshaping views, and are no graph output, is marked
     * to leave its parts as views into its input where they are contiguous (see {@code ShapeOps.split}).
     */
    private static List<Node> slices(List<Node> schedule, int slots, Collection<Integer> kept) {
        List<List<int[]>> readers = new ArrayList<>();
        for (int s = 0; s < slots; s++) {
            readers.add(new ArrayList<>());
        }
        for (int i = 0; i < schedule.size(); i++) {
            int[] inputs = schedule.get(i).inputs;
            for (int k = 0; k < inputs.length; k++) {
                if (inputs[k] >= 0) {
                    readers.get(inputs[k]).add(new int[] {i, k});
                }
            }
        }
        List<Node> out = new ArrayList<>(schedule);
        for (int i = 0; i < out.size(); i++) {
            Node split = out.get(i);
            if (split.op.equals(SPLIT) && Arrays.stream(split.outputs).allMatch(o -> o < 0 || takesOffset(o, schedule, readers, kept))) {
                out.set(i, split.with(intAttribute(SLICED, 1)));
            }
        }
        return out;
    }

    /** Whether every reader of {@code slot} reads it through {@link Exec#view}, or is a view whose readers do. */
    private static boolean takesOffset(int slot, List<Node> schedule, List<List<int[]>> readers, Collection<Integer> kept) {
        if (kept.contains(slot)) {
            return false;
        }
        for (int[] r : readers.get(slot)) {
            Node n = schedule.get(r[0]);
            boolean viewed = n.op.equals(MATMUL) ? r[1] < 2 : n.op.equals(CONCAT);
            if (!viewed && !(VIEWS.contains(n.op) && r[1] == 0 && (n.outputs[0] < 0 || takesOffset(n.outputs[0], schedule, readers, kept)))) {
                return false;
            }
        }
        return true;
    }

    /** Grows a chain backwards from each element-wise node, last first, through producers read by it alone. */
    private static List<Node> chains(List<Node> schedule, int slots, Collection<Integer> kept) {
        int[] readers = readers(schedule, slots), producer = producers(schedule, slots);
        List<Node> out = new ArrayList<>(schedule);
        for (int root = out.size() - 1; root >= 0; root--) {
            if (out.get(root) == null || !elementwise(out.get(root))) {
                continue;
            }
            TreeSet<Integer> members = new TreeSet<>(List.of(root));
            ArrayDeque<Integer> open = new ArrayDeque<>(members);
            while (!open.isEmpty()) {
                for (int in : out.get(open.poll()).inputs) {
                    int p = producer[in];
                    if (p >= 0 && readers[in] == 1 && !kept.contains(in) && elementwise(out.get(p)) && members.add(p)) {
                        open.add(p);
                    }
                }
            }
            if (members.size() < 2) {
                continue;
            }
            List<Node> nodes = new ArrayList<>();
            Set<Integer> produced = new HashSet<>();
            for (int m : members) {
                nodes.add(out.get(m));
                produced.add(out.get(m).outputs[0]);
                out.set(m, null);
            }
            int[] inputs = nodes.stream().flatMapToInt(n -> Arrays.stream(n.inputs)).filter(in -> !produced.contains(in)).distinct().toArray();
            out.set(root, ElementwiseChain.node(nodes, inputs));
        }
        out.removeIf(n -> n == null);
        return out;
    }

    private static int[] readers(List<Node> schedule, int slots) {
        int[] readers = new int[slots];
        for (Node n : schedule) {
            for (int in : n.inputs) {
                if (in >= 0) {
                    readers[in]++;
                }
            }
        }
        return readers;
    }

    /** The schedule index of each slot's producer, or -1. */
    private static int[] producers(List<Node> schedule, int slots) {
        int[] producer = new int[slots];
        Arrays.fill(producer, -1);
        for (int i = 0; i < schedule.size(); i++) {
            for (int o : schedule.get(i).outputs) {
                if (o >= 0) {
                    producer[o] = i;
                }
            }
        }
        return producer;
    }

    /** An element-wise node with one output and every input given. */
    private static boolean elementwise(Node n) {
        return n.outputs.length == 1 && n.outputs[0] >= 0 && Arrays.stream(n.inputs).allMatch(in -> in >= 0) && ElementwiseOps.fusible(n);
    }

    /** Whether {@code bias} is a float vector along the columns of the product's weight matrix. */
    private static boolean biasOf(Node matMul, Value[] values, int bias) {
        Value w = matMul.inputs[1] < 0 ? null : values[matMul.inputs[1]];
        Value b = bias < 0 ? null : values[bias];
        return w != null && b != null && w.isFloat() && b.isFloat() && w.shape.length >= 2 && b.shape.length == 1
                && (b.shape[0] == w.shape[w.shape.length - 1] || b.shape[0] == 1);
    }
}
