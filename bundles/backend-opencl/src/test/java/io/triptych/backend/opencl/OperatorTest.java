package io.triptych.backend.opencl;

import static io.triptych.backend.opencl.SingleOp.contrib;
import static io.triptych.backend.opencl.SingleOp.op;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.onnx.proto.Onnx.TensorProto;

/** Every operator family on small generated one-node models, against ONNX Runtime's CPU provider. */
class OperatorTest {

    @ParameterizedTest
    @ValueSource(strings = {"Add", "Sub", "Mul", "Div", "Max", "Min"})
    void binaryBroadcasts(String name) {
        op(name, 17).floats("a", 2, 3, 4).floats("b", 4).output("y").matchesOrt();
        op(name, 17).floats("a", 2, 1, 5).floats("b", 3, 1).output("y").matchesOrt();
        op(name, 17).floats("a", 1).floats("b", 3, 7, 1, 2).output("y").matchesOrt();
    }

    @Test
    void emptyDimensionsGiveEmptyResults() {
        op("Add", 17).floats("a", 2, 0, 3).floats("b", 3).output("y").matchesOrt();
        op("MatMul", 17).floats("a", 0, 4).floats("b", 4, 3).output("y").matchesOrt();
        op("Concat", 17).floats("a", 2, 0).floats("b", 2, 3).attr("axis", 1L).output("y").matchesOrt();
    }

    @Test
    void powPReluAndMod() {
        op("Pow", 15).uniform("a", 0.1f, 3, 2, 5).uniform("b", -2, 2, 5).output("y").matchesOrt();
        op("Pow", 15).floats("a", 2, 5).constant("b", new float[] {2f}, 1).output("y").matchesOrt();
        op("PRelu", 16).floats("a", 2, 3, 4).floats("slope", 3, 1).output("y").matchesOrt();
        op("Mod", 13).input("a", Tensor.of(new long[] {7, -7, 7, -7}, 4)).input("b", Tensor.of(new long[] {3, 3, -3, -3}, 4))
                .output("y", DType.INT64).matchesOrt();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Neg", "Abs", "Exp", "Tanh", "Erf", "Relu", "Sigmoid", "Floor", "Ceil", "Round", "Sin", "Cos",
            "Softplus", "Softsign", "Sign", "HardSwish"})
    void unary(String name) {
        op(name, 17).uniform("x", -4, 4, 3, 5, 7).output("y").matchesOrt();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Sqrt", "Log", "Reciprocal"})
    void unaryOnPositiveNumbers(String name) {
        op(name, 17).uniform("x", 0.1f, 4, 3, 5).output("y").matchesOrt();
    }

    @Test
    void parameterisedActivations() {
        op("LeakyRelu", 16).floats("x", 4, 4).attr("alpha", 0.2f).output("y").matchesOrt();
        op("Elu", 6).floats("x", 4, 4).attr("alpha", 0.7f).output("y").matchesOrt();
        op("HardSigmoid", 6).floats("x", 4, 4).attr("alpha", 0.3f).attr("beta", 0.4f).output("y").matchesOrt();
        op("Clip", 13).floats("x", 4, 4).constant("lo", new float[] {-0.5f}).constant("hi", new float[] {0.7f}).output("y").matchesOrt();
        op("Clip", 13).floats("x", 4, 4).none().constant("hi", new float[] {0.7f}).output("y").matchesOrt();
        op("Gelu", 20).floats("x", 4, 4).output("y").matchesOrt();
        op("Gelu", 20).floats("x", 4, 4).attr("approximate", "tanh").output("y").matchesOrt();
    }

    @Test
    void integerArithmeticComparisonsAndLogic() {
        Tensor a = Tensor.of(new long[] {1, 5, -3, 8, 0, 2}, 2, 3);
        op("Add", 14).input("a", a).longs("b", 10, 20, 30).output("y", DType.INT64).matchesOrt();
        op("Mul", 14).input("a", a).longs("b", -2).output("y", DType.INT64).matchesOrt();
        op("Div", 14).input("a", a).longs("b", 2).output("y", DType.INT64).matchesOrt();
        op("Equal", 13).input("a", a).longs("b", 5).output("y", DType.BOOL).matchesOrt();
        op("Less", 13).floats("a", 3, 4).floats("b", 4).output("y", DType.BOOL).matchesOrt();
        op("GreaterOrEqual", 16).floats("a", 3, 4).floats("b", 3, 1).output("y", DType.BOOL).matchesOrt();
        Tensor p = Tensor.of(new boolean[] {true, false, true, false}, 4);
        Tensor q = Tensor.of(new boolean[] {true, true, false, false}, 4);
        op("And", 7).input("a", p).input("b", q).output("y", DType.BOOL).matchesOrt();
        op("Or", 7).input("a", p).input("b", q).output("y", DType.BOOL).matchesOrt();
        op("Xor", 7).input("a", p).input("b", q).output("y", DType.BOOL).matchesOrt();
        op("Not", 1).input("a", p).output("y", DType.BOOL).matchesOrt();
    }

    @Test
    void whereSelectsWithBroadcasting() {
        Tensor c = Tensor.of(new boolean[] {true, false, false, true, true, false}, 2, 1, 3);
        op("Where", 16).input("c", c).floats("x", 4, 3).floats("y", 1).output("z").matchesOrt();
        op("Where", 16).input("c", c).input("x", Tensor.of(new long[] {1, 2, 3}, 3)).input("y", Tensor.of(new long[] {-1}, 1))
                .output("z", DType.INT64).matchesOrt();
    }

    @Test
    void casts() {
        op("Cast", 13).uniform("x", -3, 3, 2, 5).attr("to", (long) DType.INT64.onnxCode()).output("y", DType.INT64).matchesOrt();
        op("Cast", 13).input("x", Tensor.of(new long[] {3, -1, 0}, 3)).attr("to", (long) DType.FLOAT32.onnxCode()).output("y").matchesOrt();
        op("Cast", 13).input("x", Tensor.of(new long[] {3, -1, 0}, 3)).attr("to", (long) DType.BOOL.onnxCode()).output("y", DType.BOOL).matchesOrt();
        op("Cast", 13).input("x", Tensor.of(new int[] {3, -1, 0}, 3)).attr("to", (long) DType.INT64.onnxCode()).output("y", DType.INT64).matchesOrt();
    }

    @Test
    void matMulShapes() {
        op("MatMul", 13).floats("a", 3, 5).floats("b", 5, 7).output("y").matchesOrt();
        op("MatMul", 13).floats("a", 2, 1, 17, 19).floats("b", 3, 19, 21).output("y").matchesOrt();
        op("MatMul", 13).floats("a", 5).floats("b", 5, 7).output("y").matchesOrt();
        op("MatMul", 13).floats("a", 2, 3, 5).floats("b", 5).output("y").matchesOrt();
        op("MatMul", 13).floats("a", 40, 70).floats("b", 70, 33).output("y").matchesOrt();
        // few rows with contiguous B: vload8 columns, the last group shifted left inside the row
        op("MatMul", 13).floats("a", 2, 3, 1, 19).floats("b", 19, 21).output("y").matchesOrt();
        op("MatMul", 13).floats("a", 1, 1, 64).floats("b", 64, 200).output("y").matchesOrt();
        op("MatMul", 13).floats("a", 8, 3).floats("b", 3, 8).output("y").matchesOrt();
    }

    @Test
    void gemmTransposesScalesAndAddsC() {
        op("Gemm", 13).floats("a", 5, 3).floats("b", 4, 5).floats("c", 4).attr("transA", 1L).attr("transB", 1L)
                .attr("alpha", 0.5f).attr("beta", 2f).output("y").matchesOrt();
        op("Gemm", 13).floats("a", 20, 6).floats("b", 6, 9).floats("c", 20, 1).output("y").matchesOrt();
        op("Gemm", 13).floats("a", 3, 6).floats("b", 6, 9).output("y").matchesOrt();
    }

    @Test
    void viewsAndCopies() {
        op("Transpose", 13).floats("x", 2, 3, 4).attr("perm", 2, 0, 1).output("y").matchesOrt();
        op("Transpose", 13).input("x", Tensor.of(new long[] {1, 2, 3, 4, 5, 6}, 2, 3)).output("y", DType.INT64).matchesOrt();
        // only dimensions of size 1 move (attention's heads when decoding one token): a view, the same values
        op("Transpose", 13).floats("x", 1, 4, 1, 3).attr("perm", 0, 2, 1, 3).output("y").matchesOrt();
        op("Transpose", 13).floats("x", 2, 1, 3, 1).attr("perm", 3, 0, 1, 2).output("y").matchesOrt();
        op("Transpose", 13).floats("x", 2, 1, 3).attr("perm", 2, 1, 0).output("y").matchesOrt();
        op("Reshape", 14).floats("x", 2, 3, 4).longs("s", 0, -1, 2).output("y").matchesOrt();
        op("Flatten", 13).floats("x", 2, 3, 4).attr("axis", 2L).output("y").matchesOrt();
        op("Unsqueeze", 13).floats("x", 3, 4).longs("axes", 0, -1).output("y").matchesOrt();
        op("Squeeze", 13).floats("x", 1, 3, 1, 4).longs("axes", 2).output("y").matchesOrt();
        op("Expand", 13).floats("x", 3, 1).longs("s", 2, 1, 4).output("y").matchesOrt();
        op("Concat", 13).floats("a", 2, 1, 3).floats("b", 2, 4, 3).floats("c", 2, 2, 3).attr("axis", -2L).output("y").matchesOrt();
        // more inputs than one launch takes: a copy each
        SingleOp many = op("Concat", 13);
        for (char c = 'a'; c <= 'i'; c++) {
            many.floats(String.valueOf(c), 2, c - 'a' + 1);
        }
        many.attr("axis", 1L).output("y").matchesOrt();
        op("Tile", 13).floats("x", 2, 3).longs("r", 2, 3).output("y").matchesOrt();
        op("Pad", 18).floats("x", 2, 3).longs("p", 1, -1, 0, 2).constant("v", new float[] {1.5f}).output("y").matchesOrt();
        op("Identity", 16).floats("x", 2, 3).output("y").matchesOrt();
    }

    @Test
    void slices() {
        op("Slice", 13).floats("x", 5, 6).longs("s", 1, -1).longs("e", 4, -6).longs("a", 0, 1).longs("st", 2, -2).output("y").matchesOrt();
        op("Slice", 13).floats("x", 5, 6).longs("s", 2).longs("e", Long.MAX_VALUE).output("y").matchesOrt();
        op("Slice", 13).floats("x", 5, 6).longs("s", 3).longs("e", 3).longs("a", 1).output("y").matchesOrt();
        op("Slice", 13).input("x", Tensor.of(new long[] {1, 2, 3, 4, 5}, 5)).longs("s", -2).longs("e", 100).output("y", DType.INT64).matchesOrt();
    }

    @Test
    void splits() {
        op("Split", 13).floats("x", 2, 7).longs("s", 3, 4).attr("axis", 1L).output("a").output("b").matchesOrt();
        op("Split", 13).floats("x", 6, 2).output("a").output("b").output("c").matchesOrt();
    }

    @Test
    void gathers() {
        op("Gather", 13).floats("x", 5, 4).input("i", Tensor.of(new long[] {4, 0, -1, 2}, 2, 2)).output("y").matchesOrt();
        op("Gather", 13).floats("x", 3, 5, 2).input("i", Tensor.of(new long[] {1}, new long[0])).attr("axis", 1L).output("y").matchesOrt();
        op("Gather", 13).input("x", Tensor.of(new long[] {2, 7, 9}, 3)).input("i", Tensor.of(new int[] {2, 0}, 2))
                .output("y", DType.INT64).matchesOrt();
    }

    @Test
    void shapeArithmetic() {
        op("Shape", 15).floats("x", 2, 3, 4).attr("start", 1L).output("y", DType.INT64).matchesOrt();
        op("Size", 13).floats("x", 2, 3, 4).output("y", DType.INT64).matchesOrt();
        op("ConstantOfShape", 9).longs("s", 2, 3).attr("value", TensorProto.newBuilder().setDataType(1).addDims(1).addFloatData(0.5f).build())
                .output("y").matchesOrt();
        op("ConstantOfShape", 9).longs("s", 4).attr("value", TensorProto.newBuilder().setDataType(7).addDims(1).addInt64Data(3).build())
                .output("y", DType.INT64).matchesOrt();
        op("Range", 11).input("a", Tensor.of(new long[] {2}, new long[0])).input("b", Tensor.of(new long[] {11}, new long[0]))
                .input("c", Tensor.of(new long[] {3}, new long[0])).output("y", DType.INT64).matchesOrt();
        op("Range", 11).input("a", Tensor.of(new float[] {0.5f})).input("b", Tensor.of(new float[] {-2f}))
                .input("c", Tensor.of(new float[] {-0.75f})).output("y").matchesOrt();
    }

    @Test
    void softmaxesAndReductions() {
        op("Softmax", 13).uniform("x", -5, 5, 2, 3, 7).attr("axis", 1L).output("y").matchesOrt();
        op("Softmax", 11).uniform("x", -5, 5, 2, 3, 7).output("y").matchesOrt();
        op("LogSoftmax", 13).uniform("x", -5, 5, 2, 7).output("y").matchesOrt();
        op("ReduceMean", 13).floats("x", 2, 3, 4).attr("axes", 1L, 2L).output("y").matchesOrt();
        op("ReduceMean", 13).floats("x", 2, 3, 4).attr("axes", new long[] {-1}).attr("keepdims", 0L).output("y").matchesOrt();
        op("ReduceSum", 13).floats("x", 2, 3, 4).longs("axes", 0, 2).attr("keepdims", 0L).output("y").matchesOrt();
        op("ReduceSum", 13).floats("x", 2, 3, 4).output("y").matchesOrt();
        op("ReduceMax", 13).floats("x", 2, 3, 4).attr("axes", new long[] {1}).output("y").matchesOrt();
        op("ReduceSumSquare", 13).floats("x", 2, 3, 4).attr("axes", 0L, 1L).output("y").matchesOrt();
    }

    @Test
    void normalisations() {
        op("LayerNormalization", 17).floats("x", 2, 3, 16).floats("g", 16).floats("b", 16).attr("epsilon", 1e-5f).output("y").matchesOrt(1e-4);
        op("LayerNormalization", 17).floats("x", 2, 3, 4).floats("g", 3, 4).attr("axis", 1L).output("y").matchesOrt(1e-4);
        op("InstanceNormalization", 6).floats("x", 2, 3, 5, 4).floats("s", 3).floats("b", 3).output("y").matchesOrt(1e-4);
        op("GroupNormalization", 18).floats("x", 2, 4, 3, 3).floats("s", 2).floats("b", 2).attr("num_groups", 2L).output("y").matchesOrt(1e-4);
    }

    @Test
    void convolutions() {
        op("Conv", 11).floats("x", 2, 3, 9, 8).floats("w", 4, 3, 3, 3).floats("b", 4).attr("pads", 1, 1, 1, 1).output("y").matchesOrt(1e-5);
        op("Conv", 11).floats("x", 1, 4, 9, 9).floats("w", 6, 2, 3, 2).attr("group", 2L).attr("strides", 2, 1).attr("dilations", 1, 2)
                .attr("pads", 0, 1, 2, 0).output("y").matchesOrt(1e-5);
        op("Conv", 11).floats("x", 1, 2, 7, 7).floats("w", 2, 2, 3, 3).attr("auto_pad", "SAME_UPPER").attr("strides", 2, 2).output("y").matchesOrt(1e-5);
        op("Conv", 11).floats("x", 2, 3, 10).floats("w", 5, 3, 3).floats("b", 5).attr("pads", 1, 1).output("y").matchesOrt(1e-5);
    }

    @Test
    void pooling() {
        op("AveragePool", 11).floats("x", 2, 3, 8, 7).attr("kernel_shape", 2, 2).attr("strides", 2, 2).output("y").matchesOrt(1e-5);
        op("AveragePool", 11).floats("x", 1, 2, 7, 7).attr("kernel_shape", 3, 3).attr("pads", 1, 1, 1, 1).attr("count_include_pad", 1L)
                .output("y").matchesOrt(1e-5);
        op("AveragePool", 11).floats("x", 1, 2, 7, 7).attr("kernel_shape", 3, 3).attr("pads", 1, 1, 1, 1).attr("strides", 2, 2)
                .attr("ceil_mode", 1L).output("y").matchesOrt(1e-5);
        op("MaxPool", 12).floats("x", 2, 3, 9, 8).attr("kernel_shape", 3, 2).attr("strides", 2, 1).attr("pads", 1, 0, 1, 1)
                .output("y").matchesOrt(1e-5);
        op("GlobalAveragePool", 1).floats("x", 2, 5, 4, 3).output("y").matchesOrt(1e-5);
    }

    @Test
    void resizes() {
        op("Resize", 13).floats("x", 1, 2, 3, 4).none().constant("s", new float[] {1, 1, 2, 2}, 4).attr("mode", "nearest").output("y").matchesOrt();
        op("Resize", 13).floats("x", 1, 2, 3, 4).none().constant("s", new float[] {1, 1, 2, 1.5f}, 4).attr("mode", "linear").output("y").matchesOrt();
        op("Resize", 13).floats("x", 1, 2, 5, 4).none().none().longs("sizes", 1, 2, 3, 7).attr("mode", "linear")
                .attr("coordinate_transformation_mode", "align_corners").output("y").matchesOrt();
        op("Resize", 13).floats("x", 1, 1, 4, 4).none().none().longs("sizes", 1, 1, 3, 6).attr("mode", "nearest")
                .attr("coordinate_transformation_mode", "asymmetric").attr("nearest_mode", "floor").output("y").matchesOrt();
    }

    @Test
    void trilu() {
        op("Trilu", 14).floats("x", 2, 4, 5).output("y").matchesOrt();
        op("Trilu", 14).floats("x", 4, 5).longs("k", -1).attr("upper", 0L).output("y").matchesOrt();
    }

    @Test
    void ortContribOperators() {
        contrib("FastGelu").floats("x", 2, 3, 8).floats("bias", 8).output("y").matchesOrt(1e-5);
        contrib("FastGelu").floats("x", 2, 8).output("y").matchesOrt(1e-5);
        contrib("SkipLayerNormalization").floats("x", 2, 3, 16).floats("skip", 2, 3, 16).floats("g", 16).floats("b", 16).floats("bias", 16)
                .attr("epsilon", 1e-5f).output("y").unusedOutput("mean").unusedOutput("inv").output("sum").matchesOrt(1e-4);
        contrib("Attention").floats("x", 2, 3, 16).floats("w", 16, 48).floats("bias", 48)
                .input("mask", Tensor.of(new int[] {1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1}, 2, 7))
                .floats("past", 2, 2, 4, 4, 4).attr("num_heads", 4L).attr("unidirectional", 1L)
                .output("y").output("present").matchesOrt(1e-4);
        contrib("Attention").floats("x", 1, 5, 8).floats("w", 8, 24).floats("bias", 24).attr("num_heads", 2L).output("y").matchesOrt(1e-4);
        // no new tokens: present is the past
        contrib("Attention").floats("x", 1, 0, 8).floats("w", 8, 24).floats("bias", 24).input("mask", Tensor.of(new int[] {1, 1, 1}, 1, 3))
                .floats("past", 2, 1, 2, 3, 4).attr("num_heads", 2L).output("y").output("present").matchesOrt(1e-4);
    }
}
