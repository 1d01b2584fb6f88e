package io.triptych.backend.opencl;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.triptych.api.ModelLoadException;
import io.triptych.onnx.proto.Onnx.AttributeProto;
import io.triptych.onnx.proto.Onnx.NodeProto;
import io.triptych.onnx.proto.Onnx.TensorProto;

/**
 * One scheduled graph node: its operator id, value slots (-1 for an omitted optional input or
 * output) and attributes.
 */
final class Node {
    final String op;
    final String name;
    final int[] inputs;
    final int[] outputs;
    final int opset;
    /** What runs the node: its registered operator, or a kernel that {@link Fusion} generated. */
    final Op implementation;
    private final Map<String, AttributeProto> attributes;

    Node(String op, NodeProto proto, int[] inputs, int[] outputs, int opset) {
        this(op, proto.getName().isEmpty() ? op : proto.getName(), inputs, outputs, opset, Operators.get(op), new HashMap<>());
        proto.getAttributeList().forEach(a -> attributes.put(a.getName(), a));
    }

    /** A node without attributes that {@code implementation} runs. */
    Node(String op, String name, int[] inputs, int[] outputs, Op implementation) {
        this(op, name, inputs, outputs, 1, implementation, Map.of());
    }

    private Node(String op, String name, int[] inputs, int[] outputs, int opset, Op implementation, Map<String, AttributeProto> attributes) {
        this.op = op;
        this.name = name;
        this.inputs = inputs;
        this.outputs = outputs;
        this.opset = opset;
        this.implementation = implementation;
        this.attributes = attributes;
    }

    /** This node with another node folded in: the same operator and attributes (and {@code added}), other slots. */
    Node fused(Node other, int[] newInputs, int[] newOutputs, AttributeProto... added) {
        Map<String, AttributeProto> a = new HashMap<>(attributes);
        for (AttributeProto p : added) {
            a.put(p.getName(), p);
        }
        return new Node(op, name + "+" + other.name, newInputs, newOutputs, opset, implementation, a);
    }

    /** This node with the {@code added} attribute. */
    Node with(AttributeProto added) {
        Map<String, AttributeProto> a = new HashMap<>(attributes);
        a.put(added.getName(), added);
        return new Node(op, name, inputs, outputs, opset, implementation, a);
    }

    long i(String attribute, long otherwise) {
        AttributeProto a = attributes.get(attribute);
        return a == null ? otherwise : a.getI();
    }

    float f(String attribute, float otherwise) {
        AttributeProto a = attributes.get(attribute);
        return a == null ? otherwise : a.getF();
    }

    String s(String attribute, String otherwise) {
        AttributeProto a = attributes.get(attribute);
        return a == null ? otherwise : a.getS().toStringUtf8();
    }

    /** An INTS attribute, or {@code null} if absent. */
    long[] ints(String attribute) {
        AttributeProto a = attributes.get(attribute);
        if (a == null) {
            return null;
        }
        List<Long> l = a.getIntsList();
        return l.stream().mapToLong(Long::longValue).toArray();
    }

    TensorProto tensor(String attribute) {
        AttributeProto a = attributes.get(attribute);
        return a == null || !a.hasT() ? null : a.getT();
    }

    /** A model error naming this node. */
    ModelLoadException error(String message) {
        return new ModelLoadException(op + " node '" + name + "': " + message);
    }
}
