package io.triptych.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import io.triptych.api.backend.CompiledModel;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.onnx.proto.Onnx.AttributeProto;
import io.triptych.onnx.proto.Onnx.GraphProto;
import io.triptych.onnx.proto.Onnx.ModelProto;
import io.triptych.onnx.proto.Onnx.NodeProto;
import io.triptych.onnx.proto.Onnx.OperatorSetIdProto;
import io.triptych.onnx.proto.Onnx.TensorProto;
import io.triptych.onnx.proto.Onnx.TensorShapeProto;
import io.triptych.onnx.proto.Onnx.TypeProto;
import io.triptych.onnx.proto.Onnx.ValueInfoProto;

/**
 * {@link Fusion}'s MatMul + scalar Mul, bias Add, activation and residual Add, transposed MatMul and
 * Concat inputs, Split views and element-wise chains, on small graphs against ONNX Runtime (fused or
 * left alone, the results must agree) and against the same graph run unfused.
 */
class FusionTest {
    private static final Random RANDOM = new Random(7);

    @Test
    void biasAddFoldsIntoTheProductOnEitherSide() {
        matMulAdd(new long[] {1, 1, 64}, 64, 200, 200, false, false);
        matMulAdd(new long[] {2, 5, 19}, 19, 21, 21, true, false);
        matMulAdd(new long[] {40, 70}, 70, 33, 33, false, false);
        matMulAdd(new long[] {3, 6}, 6, 4, 4, true, false);
        matMulAdd(new long[] {1, 12}, 12, 16, 1, false, false);
    }

    @Test
    void productReadTwiceOrReturnedStaysSeparate() {
        matMulAdd(new long[] {1, 3, 16}, 16, 24, 24, false, true);
    }

    @Test
    void activationsRunInTheProductEpilogue() {
        assertEquals(1, fuse(Set.of(), "MatMul x w p", "Relu p y").size());
        // tiny-random-gpt2's MatMul + FastGelu with bias, on both product kernels (few rows, tiles)
        activated(new long[] {1, 1, 32}, 128, "FastGelu", true, false);
        activated(new long[] {2, 9, 19}, 21, "FastGelu", true, false);
        activated(new long[] {3, 16}, 12, "FastGelu", false, false);
        activated(new long[] {1, 2, 24}, 40, "Relu", true, false);
        activated(new long[] {17, 5}, 9, "LeakyRelu", false, false);
    }

    @Test
    void productReadTwiceKeepsItsActivationSeparate() {
        assertEquals(2, fuse(Set.of(2), "MatMul x w p", "Relu p y").size());
        // p read by Relu and Add: Relu joins Add's chain instead
        List<Node> fused = fuse(Set.of(), "MatMul x w p", "Relu p y", "Add p y z");
        assertEquals(List.of("ai.onnx:MatMul", "ElementwiseChain"), fused.stream().map(n -> n.op).toList());
        assertEquals(-1, fused.get(0).i(Fusion.ACTIVATION, -1));
        activated(new long[] {1, 3, 16}, 24, "FastGelu", true, true);
    }

    /**
     * {@code y = act(x W (+ b))} (FastGelu takes {@code b} as its bias input), against ONNX Runtime
     * and bit for bit against the same graph with the product returned too, which keeps it unfused.
     */
    private static void activated(long[] xShape, long n, String act, boolean bias, boolean alsoReturnProduct) {
        long k = xShape[xShape.length - 1];
        float[] x = new float[Math.toIntExact(Tensor.elementCount(xShape))];
        for (int i = 0; i < x.length; i++) {
            x[i] = RANDOM.nextFloat() * 4 - 2;
        }
        TensorProto w = floats("w", k, n), b = floats("b", n);
        Map<String, Tensor> inputs = Map.of("x", Tensor.of(x, xShape));
        ModelPart[] parts = new ModelPart[2];
        for (int returned = 0; returned < 2; returned++) {
            GraphProto.Builder g = GraphProto.newBuilder().setName("activated").addInput(info("x", xShape)).addInitializer(w).addInitializer(b);
            g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("mm").addInput("x").addInput("w").addOutput("p"));
            NodeProto.Builder a = NodeProto.newBuilder().setOpType(act).setName("act").addOutput("y");
            if (act.equals("FastGelu")) {
                a.setDomain("com.microsoft").addInput("p");
                if (bias) {
                    a.addInput("b");
                }
            } else if (bias) {
                g.addNode(NodeProto.newBuilder().setOpType("Add").setName("add").addInput("p").addInput("b").addOutput("q"));
                a.addInput("q");
            } else {
                a.addInput("p");
            }
            g.addNode(a).addOutput(info("y", null));
            if (returned == 1 || alsoReturnProduct) {
                g.addOutput(info("p", null));
            }
            parts[returned] = Reference.part(write(model(g)));
        }
        Reference.assertMatchesOrt(parts[0], inputs, 1e-5);
        try (CompiledModel fused = Reference.OPENCL.compile(parts[0]); CompiledModel unfused = Reference.OPENCL.compile(parts[1])) {
            Map<String, Tensor> f = fused.run(inputs), u = unfused.run(inputs);
            assertArrayEquals(u.get("y").toFloatArray(), f.get("y").toFloatArray());
            f.values().forEach(Tensor::close);
            u.values().forEach(Tensor::close);
        }
    }

    @Test
    void residualAddRunsInTheProductEpilogue() {
        assertEquals(1, fuse(Set.of(), "MatMul x w p", "Add r p y").size());
        assertEquals(1, fuse(Set.of(), "MatMul x w p", "Relu p a", "Add a r y").size());
        // tiny-gpt's block: x W + b, then the residual stream added; few rows and tiles, either side
        residual(new long[] {1, 1, 64}, 64, new long[] {1, 1, 64}, true, null, false);
        residual(new long[] {2, 9, 19}, 21, new long[] {2, 9, 21}, false, null, false);
        residual(new long[] {3, 16}, 12, new long[] {3, 12}, true, "Relu", false);
        residual(new long[] {1, 2, 24}, 40, new long[] {1, 2, 40}, false, "Relu", false);
        residual(new long[] {12}, 8, new long[] {8}, true, null, false);
    }

    @Test
    void residualReadTwiceReturnedOrBroadcastStaysSeparate() {
        assertEquals(2, fuse(Set.of(2), "MatMul x w p", "Add r p y").size());
        assertEquals(3, fuse(Set.of(), "MatMul x w p", "Add r p y", "Relu p z").size());
        // a second Add of the same product is no residual of its own
        assertEquals(2, fuse(Set.of(), "MatMul x w p", "Add r p a", "Add a q y").size());
        residual(new long[] {2, 5, 16}, 24, new long[] {2, 5, 24}, true, null, true);
        // broadcast residuals: a vector, a batch of one, a larger result than the product
        residual(new long[] {2, 5, 16}, 24, new long[] {24}, true, null, false);
        residual(new long[] {2, 1, 16}, 24, new long[] {1, 1, 24}, false, null, false);
        residual(new long[] {1, 3, 16}, 24, new long[] {4, 3, 24}, true, "Relu", false);
    }

    /**
     * {@code y = r + act(x W + b)} (the Add's operands in either order, {@code act} none when
     * {@code null}), against ONNX Runtime and bit for bit against the same graph with the product
     * returned too, which keeps every node separate; {@code alsoReturnSum} returns the Add's operand.
     */
    private static void residual(long[] xShape, long n, long[] rShape, boolean residualFirst, String act, boolean alsoReturnSum) {
        long k = xShape[xShape.length - 1];
        TensorProto w = floats("w", k, n), b = floats("b", n);
        Map<String, Tensor> inputs = Map.of("x", random(xShape), "r", random(rShape));
        ModelPart[] parts = new ModelPart[2];
        for (int returned = 0; returned < 2; returned++) {
            GraphProto.Builder g = GraphProto.newBuilder().setName("residual").addInput(info("x", xShape)).addInput(info("r", rShape))
                    .addInitializer(w).addInitializer(b);
            g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("mm").addInput("x").addInput("w").addOutput("p"));
            g.addNode(NodeProto.newBuilder().setOpType("Add").setName("bias").addInput("p").addInput("b").addOutput("q"));
            String sum = "q";
            if (act != null) {
                g.addNode(NodeProto.newBuilder().setOpType(act).setName("act").addInput("q").addOutput("a"));
                sum = "a";
            }
            g.addNode(NodeProto.newBuilder().setOpType("Add").setName("res").addInput(residualFirst ? "r" : sum)
                    .addInput(residualFirst ? sum : "r").addOutput("y"));
            g.addOutput(info("y", null));
            if (returned == 1) {
                g.addOutput(info("p", null));
            }
            if (alsoReturnSum) {
                g.addOutput(info(sum, null));
            }
            parts[returned] = Reference.part(write(model(g)));
        }
        sameAsUnfusedAndOrt(parts, inputs);
    }

    @Test
    void scalarMulBecomesTheProductsAlpha() {
        assertEquals(1, fuse(Set.of(), "MatMul x w p", "Mul p s y").size());
        assertEquals(1, fuse(Set.of(), "MatMul x w p", "Mul s p q", "Add r q y").size());
        // attention scores: Q K^T scaled, on both product kernels, with a residual after the scale
        scaled(new long[] {2, 3, 1, 16}, new long[] {2, 3, 16, 9}, null, false);
        scaled(new long[] {2, 3, 7, 16}, new long[] {2, 3, 16, 7}, new long[] {2, 3, 7, 7}, false);
    }

    @Test
    void scaledProductReadTwiceReturnedOrByAVectorStaysSeparate() {
        assertEquals(2, fuse(Set.of(2), "MatMul x w p", "Mul p s y").size());
        assertEquals(2, fuse(Set.of(), "MatMul x w p", "Mul p v y").size());
        assertEquals(3, fuse(Set.of(), "MatMul x w p", "Mul p s y", "Relu p z").size());
        // a second scale would change the order of the products
        assertEquals(2, fuse(Set.of(), "MatMul x w p", "Mul p s q", "Mul q s y").size());
        // a bias before the scale: (acc + b) * s is not alpha * acc + b
        assertEquals(2, fuse(Set.of(), "MatMul x w p", "Add p r q", "Mul q s y").size());
        scaled(new long[] {2, 3, 1, 16}, new long[] {2, 3, 16, 9}, null, true);
    }

    /**
     * {@code y = (a b) * 0.125 (+ r)}, against ONNX Runtime and bit for bit against the graph with
     * the product returned too; {@code alsoReturnScaled} keeps the scaled product an output.
     */
    private static void scaled(long[] aShape, long[] bShape, long[] rShape, boolean alsoReturnScaled) {
        Map<String, Tensor> inputs = new TreeMap<>(Map.of("a", random(aShape), "b", random(bShape)));
        if (rShape != null) {
            inputs.put("r", random(rShape));
        }
        ModelPart[] parts = new ModelPart[2];
        for (int returned = 0; returned < 2; returned++) {
            GraphProto.Builder g = GraphProto.newBuilder().setName("scaled").addInput(info("a", aShape)).addInput(info("b", bShape))
                    .addInitializer(TensorProto.newBuilder().setName("c").setDataType(DType.FLOAT32.onnxCode()).addFloatData(0.125f));
            g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("mm").addInput("a").addInput("b").addOutput("p"));
            g.addNode(NodeProto.newBuilder().setOpType("Mul").setName("scale").addInput("p").addInput("c").addOutput(rShape == null ? "y" : "s"));
            if (rShape != null) {
                g.addInput(info("r", rShape));
                g.addNode(NodeProto.newBuilder().setOpType("Add").setName("res").addInput("s").addInput("r").addOutput("y"));
            }
            g.addOutput(info("y", null));
            if (returned == 1) {
                g.addOutput(info("p", null));
            }
            if (alsoReturnScaled && rShape != null) {
                g.addOutput(info("s", null));
            }
            parts[returned] = Reference.part(write(model(g)));
        }
        sameAsUnfusedAndOrt(parts, inputs);
    }

    /** {@code parts[0]} against ONNX Runtime, and its outputs bit for bit against {@code parts[1]}'s. */
    private static void sameAsUnfusedAndOrt(ModelPart[] parts, Map<String, Tensor> inputs) {
        Reference.assertMatchesOrt(parts[0], inputs, 1e-5);
        Reference.assertMatchesOrt(parts[1], inputs, 1e-5); // TEMPDEBUG
        try (CompiledModel fused = Reference.OPENCL.compile(parts[0]); CompiledModel unfused = Reference.OPENCL.compile(parts[1])) {
            Map<String, Tensor> f = fused.run(inputs), u = unfused.run(inputs);
            f.forEach((name, t) -> assertArrayEquals(u.get(name).toFloatArray(), t.toFloatArray(), name));
            f.values().forEach(Tensor::close);
            u.values().forEach(Tensor::close);
        }
    }

    @Test
    void splitPartsReadThroughStridesStayViews() {
        String[] attention = {"Split x > q k", "Reshape q c r", "Transpose r t", "MatMul t w y", "Concat p k z"};
        assertEquals(1, fuse(Set.of(), attention).get(0).i(Fusion.SLICED, 0));
        // decoding (one row: contiguous parts, views) and prompts or batches (strided parts, copies)
        split(1, 1);
        split(1, 3);
        split(2, 1);
    }

    @Test
    void splitPartsReturnedOrReadElsewhereAreCopies() {
        String[] attention = {"Split x > q k", "Reshape q c r", "MatMul r w y", "Concat p k z"};
        assertEquals(0, fuse(Set.of(2), attention).get(0).i(Fusion.SLICED, 0));
        assertEquals(0, fuse(Set.of(4), attention).get(0).i(Fusion.SLICED, 0));
        assertEquals(0, fuse(Set.of(), "Split x > q k", "Relu q y", "Concat p k z").get(0).i(Fusion.SLICED, 0));
        assertEquals(0, fuse(Set.of(), "Split x > q k", "Reshape q c r", "Relu r y", "Concat p k z").get(0).i(Fusion.SLICED, 0));
    }

    /**
     * Attention's input projection split into q, k and v ({@code [b, s, 3 * 2 * 4]}, two heads of 4):
     * q as heads against a weight, k appended to a key cache, v as rows of a product and (transposed)
     * its second operand; against ONNX Runtime and bit for bit against the graph with q, k and v returned.
     */
    private static void split(long b, long s) {
        long[] qkvShape = {b, s, 24}, pastShape = {b, 2, 3, 4};
        Map<String, Tensor> inputs = Map.of("qkv", random(qkvShape), "past", random(pastShape));
        List<TensorProto> weights = List.of(floats("w", 4, 5), floats("w2", 3, 8), floats("w3", 8, 5), longs("heads", b, s, 2, 4),
                longs("rows", -1, 8));
        ModelPart[] parts = new ModelPart[2];
        for (int returned = 0; returned < 2; returned++) {
            GraphProto.Builder g = GraphProto.newBuilder().setName("split").addInput(info("qkv", qkvShape)).addInput(info("past", pastShape))
                    .addAllInitializer(weights);
            g.addNode(NodeProto.newBuilder().setOpType("Split").setName("split").addInput("qkv").addOutput("q").addOutput("k").addOutput("v")
                    .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(2)));
            for (String part : List.of("q", "k")) {
                g.addNode(NodeProto.newBuilder().setOpType("Reshape").setName("r" + part).addInput(part).addInput("heads").addOutput(part + "r"));
                g.addNode(NodeProto.newBuilder().setOpType("Transpose").setName("t" + part).addInput(part + "r").addOutput(part + "t")
                        .addAttribute(AttributeProto.newBuilder().setName("perm").setType(AttributeProto.AttributeType.INTS)
                                .addAllInts(List.of(0L, 2L, 1L, 3L))));
            }
            g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("mq").addInput("qt").addInput("w").addOutput("y"));
            g.addNode(NodeProto.newBuilder().setOpType("Concat").setName("cat").addInput("past").addInput("kt").addOutput("present")
                    .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(2)));
            g.addNode(NodeProto.newBuilder().setOpType("Reshape").setName("rv").addInput("v").addInput("rows").addOutput("vr"));
            g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("mv").addInput("vr").addInput("w3").addOutput("z"));
            g.addNode(NodeProto.newBuilder().setOpType("Reshape").setName("rv2").addInput("v").addInput("rows").addOutput("vr2"));
            g.addNode(NodeProto.newBuilder().setOpType("Transpose").setName("tv").addInput("vr2").addOutput("vt"));
            g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("mv2").addInput("w2").addInput("vt").addOutput("z2"));
            g.addOutput(info("y", null)).addOutput(info("present", null)).addOutput(info("z", null)).addOutput(info("z2", null));
            if (returned == 1) {
                g.addOutput(info("q", null)).addOutput(info("k", null)).addOutput(info("v", null));
            }
            parts[returned] = Reference.part(write(model(g)));
        }
        sameAsUnfusedAndOrt(parts, inputs);
    }

    private static TensorProto longs(String name, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(DType.INT64.onnxCode()).addDims(values.length);
        for (long v : values) {
            t.addInt64Data(v);
        }
        return t.build();
    }

    @Test
    void transposedOperandsAreReadThroughStrides() {
        assertEquals(1, fuse(Set.of(), "Transpose a t", "MatMul t b y").size());
        // attention: Q [b, s, h, d] as [b, h, s, d] times K [b, h, t, d] as [b, h, d, t]
        transposedMatMul(new long[] {2, 5, 3, 4}, new long[] {0, 2, 1, 3}, new long[] {2, 3, 7, 4}, new long[] {0, 1, 3, 2}, false);
        // reversed by default; few rows with contiguous B (the row kernel)
        transposedMatMul(new long[] {9, 6}, new long[0], new long[] {9, 12}, null, false);
        // broadcast batch dimensions, B transposed with column stride 3
        transposedMatMul(new long[] {4, 1, 2, 3}, null, new long[] {5, 8, 3}, new long[] {0, 2, 1}, false);
        transposedMatMul(new long[] {7}, new long[] {0}, new long[] {7, 3}, null, false);
    }

    @Test
    void transposeReturnedOrReadTwiceStaysACopy() {
        assertEquals(2, fuse(Set.of(1), "Transpose a t", "MatMul t b y").size());
        assertEquals(3, fuse(Set.of(), "Transpose a t", "MatMul t b y", "Relu t r").size());
        transposedMatMul(new long[] {3, 2, 5}, new long[] {0, 2, 1}, new long[] {3, 2, 4}, null, true);
    }

    @Test
    void transposedConcatInputsAreReadThroughStrides() {
        assertEquals(1, fuse(Set.of(), "Transpose k t", "Concat past t y").size());
        // a key cache: past [b, h, t, d] and the new keys [b, s, h, d] as [b, h, s, d]
        GraphProto.Builder g = GraphProto.newBuilder().setName("cache").addInput(info("past", new long[] {2, 3, 4, 5}))
                .addInput(info("k", new long[] {2, 1, 3, 5})).addInput(info("w", new long[] {5, 4}));
        g.addNode(NodeProto.newBuilder().setOpType("Transpose").setName("tk").addInput("k").addOutput("kt").addAttribute(AttributeProto.newBuilder()
                .setName("perm").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of(0L, 2L, 1L, 3L))));
        g.addNode(NodeProto.newBuilder().setOpType("Concat").setName("cat").addInput("past").addInput("kt").addOutput("y")
                .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(2)));
        // and a reversed (default) transpose as a first input
        g.addNode(NodeProto.newBuilder().setOpType("Transpose").setName("tw").addInput("w").addOutput("wt"));
        g.addNode(NodeProto.newBuilder().setOpType("Concat").setName("cat2").addInput("wt").addInput("wt2").addOutput("z")
                .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(0)));
        g.addInput(info("wt2", new long[] {2, 5}));
        g.addOutput(info("y", null)).addOutput(info("z", null));
        Map<String, Tensor> inputs = new TreeMap<>();
        for (ValueInfoProto v : g.getInputList()) {
            long[] shape = v.getType().getTensorType().getShape().getDimList().stream().mapToLong(d -> d.getDimValue()).toArray();
            float[] f = new float[Math.toIntExact(Tensor.elementCount(shape))];
            for (int i = 0; i < f.length; i++) {
                f[i] = RANDOM.nextFloat() * 4 - 2;
            }
            inputs.put(v.getName(), Tensor.of(f, shape));
        }
        Reference.assertMatchesOrt(Reference.part(write(model(g))), inputs, 0);
    }

    /**
     * {@code y = op(a) op(b)}, op a Transpose by {@code perm} (empty: without the attribute; null: no
     * Transpose); {@code alsoReturn}: the transposes are outputs too.
     */
    private static void transposedMatMul(long[] aShape, long[] aPerm, long[] bShape, long[] bPerm, boolean alsoReturn) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("transposed");
        NodeProto.Builder mm = NodeProto.newBuilder().setOpType("MatMul").setName("mm").addOutput("y");
        Map<String, Tensor> inputs = new TreeMap<>();
        for (String side : List.of("a", "b")) {
            long[] shape = side.equals("a") ? aShape : bShape, perm = side.equals("a") ? aPerm : bPerm;
            float[] v = new float[Math.toIntExact(Tensor.elementCount(shape))];
            for (int i = 0; i < v.length; i++) {
                v[i] = RANDOM.nextFloat() * 4 - 2;
            }
            inputs.put(side, Tensor.of(v, shape));
            g.addInput(info(side, shape));
            if (perm == null) {
                mm.addInput(side);
                continue;
            }
            NodeProto.Builder t = NodeProto.newBuilder().setOpType("Transpose").setName("t" + side).addInput(side).addOutput(side + "t");
            if (perm.length > 0) {
                t.addAttribute(AttributeProto.newBuilder().setName("perm").setType(AttributeProto.AttributeType.INTS)
                        .addAllInts(Arrays.stream(perm).boxed().toList()));
            }
            g.addNode(t);
            mm.addInput(side + "t");
            if (alsoReturn) {
                g.addOutput(info(side + "t", null));
            }
        }
        g.addNode(mm).addOutput(info("y", null));
        Reference.assertMatchesOrt(Reference.part(write(model(g))), inputs, 1e-5);
    }

    @Test
    void erfGeluRunsAsOneKernelWithTheUnfusedResults() {
        // tiny-gpt's GELU: y = x * (erf(x / sqrt 2) + 1) * 0.5, x read by the first and the fourth node
        String[] gelu = {"Div x c0 d", "Erf d e", "Add e c1 a", "Mul x a m", "Mul m c2 y"};
        assertEquals(1, fuse(Set.of(), gelu).size());
        chain(gelu, Map.of("x", new long[] {2, 3, 40}), new float[] {1.4142135f, 1f, 0.5f});
    }

    @Test
    void chainsBroadcastTheirInputs() {
        String[] tree = {"Sub p q u", "Mul u r v", "Tanh v w", "Add w c0 t", "LeakyRelu t y"};
        assertEquals(1, fuse(Set.of(), tree).size());
        chain(tree, Map.of("p", new long[] {4, 1, 6}, "q", new long[] {5, 1}, "r", new long[] {6}), new float[] {0.25f});
        chain(tree, Map.of("p", new long[] {0, 1, 6}, "q", new long[] {5, 1}, "r", new long[] {1}), new float[] {0.25f});
        chain(new String[] {"Max p q u", "Pow u c0 v", "Sigmoid v y"}, Map.of("p", new long[] {7}, "q", new long[] {3, 1}), new float[] {2f});
    }

    @Test
    void valuesReadTwiceOrReturnedEndAChain() {
        // a is read by Tanh and Mul: Add stays a node of its own, Tanh and Mul fuse
        String[] twice = {"Add p q a", "Tanh a t", "Mul a t y"};
        List<Node> fused = fuse(Set.of(), twice);
        assertEquals(List.of("ai.onnx:Add", "ElementwiseChain"), fused.stream().map(n -> n.op).toList());
        chain(twice, Map.of("p", new long[] {3, 5}, "q", new long[] {5}), new float[0]);
        // a graph output is never folded away, so every node here is a chain of one
        String[] pair = {"Add p q a", "Relu a y"};
        assertEquals(2, fuse(Set.of(2), pair).size());
    }

    @Test
    void oneCompiledChainRunsOnShapesThatChangeBetweenRuns() {
        // every launch site keeps its kernel arguments across runs: sizes, strides and buffers must follow each run
        GraphProto.Builder g = graph(new String[] {"Sub p q u", "Mul u q v", "Tanh v y"});
        g.addInput(dynamic("p", 3)).addInput(dynamic("q", 2)).addOutput(info("y", null));
        ModelPart part = Reference.part(write(model(g)));
        long[][][] shapes = {{{2, 3, 4}, {3, 4}}, {{5, 1, 7}, {2, 1}}, {{2, 3, 4}, {3, 4}}, {{1, 0, 3}, {1, 3}}, {{2, 3, 4}, {1, 4}}};
        try (CompiledModel ort = Reference.ORT.compile(part); CompiledModel cl = Reference.OPENCL.compile(part)) {
            for (long[][] s : shapes) {
                Map<String, Tensor> inputs = Map.of("p", random(s[0]), "q", random(s[1]));
                Map<String, Tensor> e = ort.run(inputs), a = cl.run(inputs);
                Reference.assertSameOutputs(e, a, 1e-5);
                e.values().forEach(Tensor::close);
                a.values().forEach(Tensor::close);
            }
        }
    }

    private static Tensor random(long[] shape) {
        float[] v = new float[Math.toIntExact(Tensor.elementCount(shape))];
        for (int i = 0; i < v.length; i++) {
            v[i] = RANDOM.nextFloat() * 4 - 2;
        }
        return Tensor.of(v, shape);
    }

    /** A float input whose {@code rank} dimensions are all named, so each run may give other sizes. */
    private static ValueInfoProto dynamic(String name, int rank) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (int k = 0; k < rank; k++) {
            s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(name + k));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(DType.FLOAT32.onnxCode()).setShape(s))).build();
    }

    @Test
    void integerChainsRunOnTheHost() {
        GraphProto.Builder g = graph(new String[] {"Add p q u", "Mul u q y"});
        g.addInput(info("p", DType.INT64, new long[] {2, 3})).addInput(info("q", DType.INT64, new long[] {3})).addOutput(info("y", DType.INT64, null));
        Map<String, Tensor> in = Map.of("p", Tensor.of(new long[] {1, -2, 3, 40, 5, 6}, 2, 3), "q", Tensor.of(new long[] {7, 8, -9}, 3));
        Reference.assertMatchesOrt(Reference.part(write(model(g))), in, 0);
    }

    /**
     * Runs nodes ("Op input... output", output {@code y}) on random inputs of the given shapes and
     * scalar constants {@code c0, c1, ...}: against ONNX Runtime, and bit for bit against the same
     * graph with every value returned, which keeps each node a kernel of its own.
     */
    private static void chain(String[] nodes, Map<String, long[]> shapes, float[] constants) {
        Map<String, Tensor> inputs = new TreeMap<>();
        shapes.forEach((name, shape) -> {
            float[] v = new float[Math.toIntExact(Tensor.elementCount(shape))];
            for (int i = 0; i < v.length; i++) {
                v[i] = RANDOM.nextFloat() * 4 - 2;
            }
            inputs.put(name, Tensor.of(v, shape));
        });
        ModelPart fused = Reference.part(write(model(chainGraph(nodes, shapes, constants, false))));
        ModelPart unfused = Reference.part(write(model(chainGraph(nodes, shapes, constants, true))));
        Reference.assertMatchesOrt(fused, inputs, 1e-5);
        try (CompiledModel a = Reference.OPENCL.compile(fused); CompiledModel b = Reference.OPENCL.compile(unfused)) {
            Tensor y = a.run(inputs).get("y");
            Map<String, Tensor> all = b.run(inputs);
            assertArrayEquals(all.get("y").toFloatArray(), y.toFloatArray());
            y.close();
            all.values().forEach(Tensor::close);
        }
    }

    private static GraphProto.Builder chainGraph(String[] nodes, Map<String, long[]> shapes, float[] constants, boolean returnAll) {
        GraphProto.Builder g = graph(nodes);
        shapes.forEach((name, shape) -> g.addInput(info(name, shape)));
        for (int k = 0; k < constants.length; k++) {
            g.addInitializer(TensorProto.newBuilder().setName("c" + k).setDataType(DType.FLOAT32.onnxCode()).addFloatData(constants[k]));
        }
        for (String n : nodes) {
            String out = n.substring(n.lastIndexOf(' ') + 1);
            if (returnAll || out.equals("y")) {
                g.addOutput(info(out, null));
            }
        }
        return g;
    }

    /** A graph of nodes written "Op input... output" (LeakyRelu with alpha 0.3). */
    private static GraphProto.Builder graph(String[] nodes) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("chain");
        for (String n : nodes) {
            String[] w = n.split(" ");
            NodeProto.Builder b = NodeProto.newBuilder().setOpType(w[0]).setName(w[0] + "_" + w[w.length - 1]).addOutput(w[w.length - 1]);
            for (int k = 1; k < w.length - 1; k++) {
                b.addInput(w[k]);
            }
            if (w[0].equals("LeakyRelu")) {
                b.addAttribute(AttributeProto.newBuilder().setName("alpha").setType(AttributeProto.AttributeType.FLOAT).setF(0.3f));
            }
            g.addNode(b);
        }
        return g;
    }

    /**
     * {@link Fusion} over nodes written as for {@link #graph} (or "Op input... > output..."), every
     * value a slot of its own, {@code s} a float scalar constant (2) and {@code v} a constant vector;
     * {@code kept}: slots returned.
     */
    private static List<Node> fuse(Set<Integer> kept, String... nodes) {
        Map<String, Integer> slots = new HashMap<>();
        List<Node> schedule = new ArrayList<>();
        for (String n : nodes) {
            String[] w = n.split(" ");
            int arrow = Arrays.asList(w).indexOf(">");
            int[] slot = Arrays.stream(w).skip(1).filter(v -> !v.equals(">")).mapToInt(v -> slots.computeIfAbsent(v, k -> slots.size())).toArray();
            int inputs = arrow < 0 ? slot.length - 1 : arrow - 1;
            schedule.add(new Node("ai.onnx:" + w[0], NodeProto.newBuilder().setOpType(w[0]).build(), Arrays.copyOf(slot, inputs),
                    Arrays.copyOfRange(slot, inputs, slot.length), 17));
        }
        Value[] values = new Value[slots.size()];
        if (slots.containsKey("s")) {
            values[slots.get("s")] = Value.ofFloats(new long[0], new float[] {2f});
        }
        if (slots.containsKey("v")) {
            values[slots.get("v")] = Value.ofFloats(new long[] {1}, new float[] {2f});
        }
        return Fusion.fuse(schedule, values, kept);
    }

    /** {@code y = x W + b} (or {@code b + x W}); with {@code alsoReturnProduct} the product is a graph output too. */
    private static void matMulAdd(long[] xShape, long k, long n, long biasLength, boolean biasFirst, boolean alsoReturnProduct) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("fusion");
        g.addInput(info("x", xShape));
        g.addInitializer(floats("w", k, n));
        g.addInitializer(floats("b", biasLength));
        g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("mm").addInput("x").addInput("w").addOutput("p"));
        g.addNode(NodeProto.newBuilder().setOpType("Add").setName("add").addInput(biasFirst ? "b" : "p").addInput(biasFirst ? "p" : "b")
                .addOutput("y"));
        g.addOutput(info("y", null));
        if (alsoReturnProduct) {
            g.addOutput(info("p", null));
        }
        ModelProto m = model(g);
        float[] x = new float[Math.toIntExact(Tensor.elementCount(xShape))];
        for (int i = 0; i < x.length; i++) {
            x[i] = RANDOM.nextFloat() * 4 - 2;
        }
        Reference.assertMatchesOrt(Reference.part(write(m)), Map.of("x", Tensor.of(x, xShape)), 1e-5);
    }

    private static TensorProto floats(String name, long... shape) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(DType.FLOAT32.onnxCode());
        for (long d : shape) {
            t.addDims(d);
        }
        for (long i = 0; i < Tensor.elementCount(shape); i++) {
            t.addFloatData(RANDOM.nextFloat() * 2 - 1);
        }
        return t.build();
    }

    private static ModelProto model(GraphProto.Builder g) {
        return ModelProto.newBuilder().setIrVersion(8).setGraph(g).addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1)).build();
    }

    private static ValueInfoProto info(String name, long[] shape) {
        return info(name, DType.FLOAT32, shape);
    }

    /** A tensor value; {@code shape} null leaves it unspecified (outputs). */
    private static ValueInfoProto info(String name, DType dtype, long[] shape) {
        TypeProto.Tensor.Builder t = TypeProto.Tensor.newBuilder().setElemType(dtype.onnxCode());
        if (shape != null) {
            TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
            for (long d : shape) {
                s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
            }
            t.setShape(s);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(t)).build();
    }

    private static Path write(ModelProto m) {
        try {
            Path file = Files.createTempFile("fusion", ".onnx");
            file.toFile().deleteOnExit();
            Files.write(file, m.toByteArray());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
