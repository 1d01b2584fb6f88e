package io.triptych.backend.opencl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import com.google.protobuf.ByteString;

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

/** A one-node ONNX model built in Java, its generated inputs, and a run on both backends. */
final class SingleOp {
    private static final Random RANDOM = new Random(42);

    private final NodeProto.Builder node = NodeProto.newBuilder();
    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("single");
    private final Map<String, Tensor> inputs = new LinkedHashMap<>();
    private final List<String> outputs = new ArrayList<>();
    private final String domain;
    private final int opset;

    private SingleOp(String op, String domain, int opset) {
        this.domain = domain;
        this.opset = opset;
        node.setOpType(op).setDomain(domain).setName(op.toLowerCase());
    }

    static SingleOp op(String op, int opset) {
        return new SingleOp(op, "", opset);
    }

    static SingleOp contrib(String op) {
        return new SingleOp(op, "com.microsoft", 1);
    }

    /** A graph input of random floats in [-2, 2). */
    SingleOp floats(String name, long... shape) {
        return uniform(name, -2, 2, shape);
    }

    /** A graph input of random floats in [from, to). */
    SingleOp uniform(String name, float from, float to, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.elementCount(shape))];
        for (int i = 0; i < v.length; i++) {
            v[i] = from + RANDOM.nextFloat() * (to - from);
        }
        return input(name, Tensor.of(v, shape));
    }

    /** A graph input holding the given tensor. */
    SingleOp input(String name, Tensor t) {
        node.addInput(name);
        inputs.put(name, t);
        graph.addInput(info(name, t.dtype(), t.shape()));
        return this;
    }

    /** An initializer of int64 values (shapes, axes, indices). */
    SingleOp longs(String name, long... values) {
        node.addInput(name);
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(DType.INT64.onnxCode()).addDims(values.length)
                .setRawData(ByteString.copyFrom(b.array())));
        return this;
    }

    /** An initializer of floats with a shape. */
    SingleOp constant(String name, float[] values, long... shape) {
        node.addInput(name);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(DType.FLOAT32.onnxCode());
        for (long d : shape) {
            t.addDims(d);
        }
        for (float v : values) {
            t.addFloatData(v);
        }
        graph.addInitializer(t);
        return this;
    }

    /** An omitted optional input. */
    SingleOp none() {
        node.addInput("");
        return this;
    }

    SingleOp attr(String name, long v) {
        node.addAttribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v));
        return this;
    }

    SingleOp attr(String name, float v) {
        node.addAttribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v));
        return this;
    }

    SingleOp attr(String name, String v) {
        node.addAttribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(v)));
        return this;
    }

    SingleOp attr(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        node.addAttribute(a);
        return this;
    }

    SingleOp attr(String name, TensorProto t) {
        node.addAttribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.TENSOR).setT(t));
        return this;
    }

    /** A graph output of the given element type. */
    SingleOp output(String name, DType dtype) {
        node.addOutput(name);
        outputs.add(name);
        graph.addOutput(ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(dtype.onnxCode()))));
        return this;
    }

    SingleOp output(String name) {
        return output(name, DType.FLOAT32);
    }

    /** A node output nobody reads. */
    SingleOp unusedOutput(String name) {
        node.addOutput(name);
        return this;
    }

    private static ValueInfoProto info(String name, DType dtype, long[] shape) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : shape) {
            s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(dtype.onnxCode()).setShape(s))).build();
    }

    /** Writes the model to a temporary file. */
    Path write() {
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(8).setGraph(graph.clone().addNode(node));
        m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(domain.isEmpty() ? opset : 17));
        if (!domain.isEmpty()) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(opset));
        }
        try {
            Path file = Files.createTempFile("op-" + node.getOpType(), ".onnx");
            file.toFile().deleteOnExit();
            Files.write(file, m.build().toByteArray());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs on ONNX Runtime and OpenCL and asserts the outputs agree within 1e-5 relative. */
    void matchesOrt() {
        matchesOrt(1e-5);
    }

    void matchesOrt(double tolerance) {
        Reference.assertMatchesOrt(Reference.part(write()), inputs, tolerance);
    }
}
