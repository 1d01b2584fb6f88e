package io.triptych.backend.opencl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.onnx.proto.Onnx.GraphProto;
import io.triptych.onnx.proto.Onnx.ModelProto;
import io.triptych.onnx.proto.Onnx.NodeProto;
import io.triptych.onnx.proto.Onnx.OperatorSetIdProto;
import io.triptych.onnx.proto.Onnx.TensorProto;
import io.triptych.onnx.proto.Onnx.TensorShapeProto;
import io.triptych.onnx.proto.Onnx.TypeProto;
import io.triptych.onnx.proto.Onnx.ValueInfoProto;

/** {@link Fusion}'s MatMul + bias Add, on two-node graphs against ONNX Runtime (fused or left alone, the results must agree). */
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
        ModelProto m = ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build();
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

    /** A float tensor value; {@code shape} null leaves it unspecified (outputs). */
    private static ValueInfoProto info(String name, long[] shape) {
        TypeProto.Tensor.Builder t = TypeProto.Tensor.newBuilder().setElemType(DType.FLOAT32.onnxCode());
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
