package io.triptych.backend.opencl;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import io.triptych.api.ModelLoadException;
import io.triptych.api.tensor.DType;
import io.triptych.onnx.proto.Onnx.StringStringEntryProto;
import io.triptych.onnx.proto.Onnx.TensorProto;

/** Decodes ONNX {@link TensorProto}s (inline, raw or in external data files) into host values. */
final class Initializers {

    private Initializers() {
    }

    /**
     * The tensor's elements as a float or integer host value.
     *
     * @param folder where external data files lie
     * @throws ModelLoadException for element types the backend cannot hold or unreadable data
     */
    static Value decode(TensorProto t, Path folder) {
        DType dtype = DType.fromOnnxCode(t.getDataType());
        long[] shape = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        int n = Math.toIntExact(Shapes.size(shape));
        if (dtype == null || dtype == DType.FLOAT16 || dtype == DType.FLOAT64) {
            throw new ModelLoadException("the opencl backend runs float32 graphs; tensor '" + t.getName() + "' is "
                    + (dtype == null ? "of ONNX type " + t.getDataType() : dtype));
        }
        ByteBuffer raw = t.getDataLocation() == TensorProto.DataLocation.EXTERNAL ? external(t, folder)
                : t.hasRawData() ? t.getRawData().asReadOnlyByteBuffer() : null;
        if (raw != null) {
            raw = raw.order(ByteOrder.LITTLE_ENDIAN);
            long expected = (long) n * dtype.byteSize();
            if (raw.remaining() != expected) {
                throw new ModelLoadException("tensor '" + t.getName() + "' holds " + raw.remaining() + " bytes, its shape needs " + expected);
            }
        }
        if (dtype == DType.FLOAT32) {
            float[] f = new float[n];
            if (raw != null) {
                raw.asFloatBuffer().get(f);
            } else {
                checkCount(t, t.getFloatDataCount(), n);
                for (int k = 0; k < n; k++) {
                    f[k] = t.getFloatData(k);
                }
            }
            return Value.ofFloats(shape, f);
        }
        long[] v = new long[n];
        for (int k = 0; k < n; k++) {
            if (raw != null) {
                v[k] = switch (dtype) {
                    case INT64 -> raw.getLong(k * 8);
                    case INT32 -> raw.getInt(k * 4);
                    case UINT8 -> raw.get(k) & 0xFF;
                    default -> raw.get(k);
                };
            } else if (dtype == DType.INT64) {
                checkCount(t, t.getInt64DataCount(), n);
                v[k] = t.getInt64Data(k);
            } else {
                checkCount(t, t.getInt32DataCount(), n);
                v[k] = t.getInt32Data(k);
            }
        }
        return Value.ofInts(dtype, shape, v);
    }

    private static void checkCount(TensorProto t, int count, int n) {
        if (count != n) {
            throw new ModelLoadException("tensor '" + t.getName() + "' holds " + count + " values, its shape needs " + n);
        }
    }

    private static ByteBuffer external(TensorProto t, Path folder) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = Long.parseLong(e.getValue());
                case "length" -> length = Long.parseLong(e.getValue());
                default -> { }
            }
        }
        if (location == null) {
            throw new ModelLoadException("external tensor '" + t.getName() + "' names no location");
        }
        Path file = folder.resolve(location).normalize();
        if (!file.startsWith(folder.normalize())) {
            throw new ModelLoadException("external tensor '" + t.getName() + "' points outside the model folder: " + location);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long len = length >= 0 ? length : ch.size() - offset;
            if (offset < 0 || offset + len > ch.size()) {
                throw new ModelLoadException("external tensor '" + t.getName() + "' lies past the end of " + location);
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, offset, len);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read external data " + location + " of tensor '" + t.getName() + "': " + e.getMessage(), e);
        }
    }
}
