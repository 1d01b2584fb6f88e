package io.triptych.backend.opencl;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A tree of element-wise operators that {@link Fusion} found, run as one kernel generated for it:
 * each work-item reads the chain's inputs at their broadcast offsets and applies the operators in
 * schedule order, the intermediates staying in registers. With an integer input (shape arithmetic,
 * which lives on the host) the nodes run one by one as they would unfused. Chains that read alike
 * (tiny-gpt's GELU in every block) generate the same source, which each device builds once.
 */
final class ElementwiseChain implements Op {
    /** The fused nodes in schedule order; the last one's output is the chain's. */
    private final List<Node> members;
    private final String source;

    private ElementwiseChain(List<Node> members, int[] inputs) {
        this.members = members;
        this.source = source(members, inputs);
    }

    /**
     * The node that runs {@code members} (in schedule order, each read only by a later one) on
     * {@code inputs}, the slots they read from outside.
     */
    static Node node(List<Node> members, int[] inputs) {
        Node root = members.get(members.size() - 1);
        String name = members.stream().map(m -> m.name).collect(Collectors.joining("+"));
        return new Node("ElementwiseChain", name, inputs, root.outputs, new ElementwiseChain(members, inputs));
    }

    /**
     * The kernel: broadcast offsets as in kernels.cl's {@code binary}, then one statement per node.
     * Contraction is off so that no product and sum merge into an fma that the separate kernels,
     * which store every intermediate, could not form.
     */
    private static String source(List<Node> members, int[] inputs) {
        Map<Integer, String> names = new HashMap<>();
        StringBuilder params = new StringBuilder(), strides = new StringBuilder(), unpack = new StringBuilder(),
                offsets = new StringBuilder(), walk = new StringBuilder(), body = new StringBuilder();
        for (int k = 0; k < inputs.length; k++) {
            params.append(", __global const float* in").append(k);
            strides.append(", int8 s").append(k);
            unpack.append(" vstore8(s").append(k).append(", 0, t").append(k).append(");");
            offsets.append(", t").append(k).append("[8], o").append(k).append(" = 0");
            walk.append("        o").append(k).append(" += c * t").append(k).append("[k];\n");
            body.append("    float x").append(k).append(" = in").append(k).append("[o").append(k).append("];\n");
            names.put(inputs[k], "x" + k);
        }
        for (int j = 0; j < members.size(); j++) {
            Node m = members.get(j);
            String[] operands = new String[m.inputs.length];
            for (int k = 0; k < operands.length; k++) {
                operands[k] = names.get(m.inputs[k]);
            }
            body.append("    float y").append(j).append(" = ").append(ElementwiseOps.expression(m, operands)).append(";\n");
            names.put(m.outputs[0], "y" + j);
        }
        return "#pragma OPENCL FP_CONTRACT OFF\n"
                + "__kernel void fused(__global float* out" + params + ", int n, int rank, int8 dims" + strides + ") {\n"
                + "    int i = get_global_id(0);\n"
                + "    if (i >= n) return;\n"
                + "    int d[8]" + offsets + ", r = i;\n"
                + "    vstore8(dims, 0, d);" + unpack + "\n"
                + "    for (int k = rank - 1; k >= 0; k--) {\n"
                + "        int c = r % d[k];\n"
                + "        r /= d[k];\n"
                + walk
                + "    }\n"
                + body
                + "    out[i] = y" + (members.size() - 1) + ";\n"
                + "}\n";
    }

    @Override
    public void run(Exec x, Node n) {
        Value[] in = new Value[n.inputs.length];
        boolean floats = true;
        for (int k = 0; k < in.length; k++) {
            in[k] = x.need(n, k);
            floats &= in[k].isFloat();
        }
        if (!floats) {
            for (Node m : members) {
                m.implementation.run(x, m);
            }
            for (Node m : members.subList(0, members.size() - 1)) {
                x.release(m.outputs[0]);
            }
            return;
        }
        long[] shape = {};
        for (Value v : in) {
            shape = Shapes.broadcast(shape, v.shape);
        }
        long[][] strides = new long[in.length][];
        for (int k = 0; k < in.length; k++) {
            strides[k] = Shapes.broadcastStrides(in[k].shape, shape);
        }
        long[][] c = Shapes.collapse(shape, strides);
        long count = Shapes.size(shape);
        Value out = x.allocate(shape);
        ClDevice.Launch launch = x.generated(source).mem(out.buffer);
        for (Value v : in) {
            launch.mem(x.buffer(v));
        }
        launch.i(count).i(c[0].length).i8(c[0]);
        for (int k = 0; k < in.length; k++) {
            launch.i8(c[k + 1]);
        }
        launch.run(count);
        x.out(n, 0, out);
    }
}
