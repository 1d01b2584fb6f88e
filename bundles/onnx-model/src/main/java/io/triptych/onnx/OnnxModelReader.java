package io.triptych.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;

import io.triptych.api.ModelLoadException;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.TensorSpec;
import io.triptych.onnx.proto.Onnx.AttributeProto;
import io.triptych.onnx.proto.Onnx.FunctionProto;
import io.triptych.onnx.proto.Onnx.GraphProto;
import io.triptych.onnx.proto.Onnx.ModelProto;
import io.triptych.onnx.proto.Onnx.NodeProto;
import io.triptych.onnx.proto.Onnx.OperatorSetIdProto;
import io.triptych.onnx.proto.Onnx.StringStringEntryProto;
import io.triptych.onnx.proto.Onnx.TensorProto;
import io.triptych.onnx.proto.Onnx.TensorShapeProto;
import io.triptych.onnx.proto.Onnx.ValueInfoProto;

/** Reads ONNX files; every failure is a {@link ModelLoadException} with a one-line reason. */
public final class OnnxModelReader {

    private OnnxModelReader() {
    }

    /**
     * Parses a whole ONNX file and checks that the external data files it names exist.
     *
     * @throws ModelLoadException if the file is missing, truncated or not an ONNX model
     */
    public static ModelProto parse(Path file) {
        ModelProto model;
        try (InputStream in = Files.newInputStream(file)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            model = ModelProto.parseFrom(coded);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("missing ONNX file " + file.getFileName());
        } catch (InvalidProtocolBufferException e) {
            // protobuf's first sentence says what went wrong; the rest is advice about protobuf itself.
            String what = e.getMessage() == null ? e.toString() : e.getMessage().split("(?<=\\.) ")[0];
            throw new ModelLoadException("unreadable ONNX file " + file.getFileName() + " (truncated or corrupt): " + what, e);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read ONNX file " + file.getFileName() + ": " + e, e);
        }
        if (!model.hasGraph() || model.getIrVersion() <= 0) {
            throw new ModelLoadException("not an ONNX model: " + file.getFileName() + " has no graph or IR version");
        }
        checkExternalData(file, model.getGraph());
        return model;
    }

    /**
     * Reads the signature, operators and opsets of an ONNX file.
     *
     * @param name the part's name relative to its model folder
     * @throws ModelLoadException if the file is missing, truncated or not an ONNX model
     */
    public static ModelPart read(Path file, String name) {
        ModelProto model = parse(file);
        GraphProto graph = model.getGraph();
        Set<String> initializers = new HashSet<>();
        graph.getInitializerList().forEach(t -> initializers.add(t.getName()));
        List<TensorSpec> inputs = new ArrayList<>();
        for (ValueInfoProto v : graph.getInputList()) {
            if (!initializers.contains(v.getName())) {
                inputs.add(spec(v));
            }
        }
        List<TensorSpec> outputs = graph.getOutputList().stream().map(OnnxModelReader::spec).toList();
        Set<String> operators = new TreeSet<>();
        collectOperators(graph, operators);
        for (FunctionProto f : model.getFunctionsList()) {
            f.getNodeList().forEach(n -> operators.add(operatorId(n)));
        }
        Map<String, Long> opsets = new LinkedHashMap<>();
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            opsets.put(normalDomain(o.getDomain()), o.getVersion());
        }
        return new ModelPart(name, file.toAbsolutePath(), inputs, outputs, operators, opsets);
    }

    /** The operator id {@code domain:OpType} of a node, as {@link ModelPart#operators()} writes it. */
    public static String operatorId(NodeProto node) {
        return normalDomain(node.getDomain()) + ":" + node.getOpType();
    }

    private static String normalDomain(String domain) {
        return domain.isEmpty() ? ModelPart.DEFAULT_DOMAIN : domain;
    }

    private static void collectOperators(GraphProto graph, Set<String> into) {
        for (NodeProto node : graph.getNodeList()) {
            into.add(operatorId(node));
            for (AttributeProto a : node.getAttributeList()) {
                if (a.hasG()) {
                    collectOperators(a.getG(), into);
                }
                a.getGraphsList().forEach(g -> collectOperators(g, into));
            }
        }
    }

    private static TensorSpec spec(ValueInfoProto v) {
        if (!v.getType().hasTensorType()) {
            return new TensorSpec(v.getName(), null, new long[0], List.of());
        }
        var tensorType = v.getType().getTensorType();
        DType dtype = DType.fromOnnxCode(tensorType.getElemType());
        List<TensorShapeProto.Dimension> dims = tensorType.getShape().getDimList();
        long[] shape = new long[dims.size()];
        List<String> names = new ArrayList<>();
        for (int i = 0; i < shape.length; i++) {
            TensorShapeProto.Dimension d = dims.get(i);
            shape[i] = d.hasDimValue() ? d.getDimValue() : -1;
            names.add(d.hasDimParam() ? d.getDimParam() : "");
        }
        return new TensorSpec(v.getName(), dtype, shape, names);
    }

    private static void checkExternalData(Path file, GraphProto graph) {
        Path folder = file.toAbsolutePath().getParent();
        for (TensorProto t : graph.getInitializerList()) {
            if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
                continue;
            }
            for (StringStringEntryProto e : t.getExternalDataList()) {
                if (e.getKey().equals("location") && !Files.isRegularFile(folder.resolve(e.getValue()))) {
                    throw new ModelLoadException("missing external data file " + e.getValue() + " of " + file.getFileName());
                }
            }
        }
    }
}
