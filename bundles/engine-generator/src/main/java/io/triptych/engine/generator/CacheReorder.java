package io.triptych.engine.generator;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import io.triptych.api.ModelLoadException;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.TensorSpec;
import io.triptych.onnx.OnnxModelReader;
import io.triptych.onnx.proto.Onnx.AttributeProto;
import io.triptych.onnx.proto.Onnx.GraphProto;
import io.triptych.onnx.proto.Onnx.ModelProto;
import io.triptych.onnx.proto.Onnx.NodeProto;
import io.triptych.onnx.proto.Onnx.OperatorSetIdProto;
import io.triptych.onnx.proto.Onnx.TensorShapeProto;
import io.triptych.onnx.proto.Onnx.TypeProto;
import io.triptych.onnx.proto.Onnx.ValueInfoProto;

/**
 * The graph beam search reorders a decoder's key/value cache with: one {@code Gather} along the
 * batch axis per cache tensor, all taking the same int64 row indices. It is compiled beside the
 * decoder on the same backend, so the cache rows are picked where the cache lives (ONNX Runtime's
 * native memory, the OpenCL device) in one run per step, never copied through the host.
 */
final class CacheReorder {
    /** The part's name; not a path in any model folder, so it never clashes with the decoder's. */
    static final String PART = "triptych:reorder_cache.onnx";
    /** The input naming, for each new row, the row it is copied from: int64 [rows]. */
    static final String SOURCES = "sources";
    private static final int OPSET = 13;
    /** The IR version that goes with opset 13. */
    private static final int IR_VERSION = 7;
    private static final String ROWS = "rows";

    private CacheReorder() {
    }

    /** The output holding the reordered cache input {@code pastName}. */
    static String output(String pastName) {
        return pastName + ".reordered";
    }

    /**
     * Writes the reorder graph of {@code layout}'s cache to a temporary file; {@link #delete} it
     * when the model goes. The graph is the model's own (its cache names and types), and backends
     * read it only while compiling.
     *
     * @throws ModelLoadException if the file cannot be written
     */
    static ModelPart write(DecoderLayout layout) {
        int axis = layout.combinedCache ? 1 : 0;
        GraphProto.Builder graph = GraphProto.newBuilder().setName("reorder_cache")
                .addInput(info(SOURCES, DType.INT64, new long[] {-1}, 0));
        for (TensorSpec past : layout.past) {
            graph.addInput(info(past.name(), past.dtype(), past.shape(), -1));
            graph.addOutput(info(output(past.name()), past.dtype(), past.shape(), axis));
            graph.addNode(NodeProto.newBuilder().setOpType("Gather").setName("gather_" + past.name())
                    .addInput(past.name()).addInput(SOURCES).addOutput(output(past.name()))
                    .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(axis)));
        }
        ModelProto model = ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("triptych")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET)).setGraph(graph).build();
        Path file = null;
        try {
            file = Files.createTempFile("triptych-reorder-cache-", ".onnx");
            try (OutputStream out = Files.newOutputStream(file)) {
                model.writeTo(out);
            }
            return OnnxModelReader.read(file, PART);
        } catch (IOException e) {
            delete(file);
            throw new ModelLoadException("cannot write the cache reorder graph: " + e, e);
        } catch (RuntimeException e) {
            delete(file);
            throw e;
        }
    }

    /** Deletes a graph {@link #write} wrote. */
    static void delete(Path file) {
        try {
            if (file != null) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            // a leftover temporary file costs a few hundred bytes; it must not fail the model's withdrawal
        }
    }

    /** A tensor's type: the declared dimensions, those unknown named per axis, axis {@code rowsAxis} the row count. */
    private static ValueInfoProto info(String name, DType dtype, long[] shape, int rowsAxis) {
        TensorShapeProto.Builder dims = TensorShapeProto.newBuilder();
        for (int i = 0; i < shape.length; i++) {
            TensorShapeProto.Dimension.Builder d = dims.addDimBuilder();
            if (i == rowsAxis) {
                d.setDimParam(ROWS);
            } else if (shape[i] > 0) {
                d.setDimValue(shape[i]);
            } else {
                d.setDimParam("d" + i);
            }
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(dtype.onnxCode()).setShape(dims))).build();
    }
}
