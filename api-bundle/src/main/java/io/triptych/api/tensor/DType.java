package io.triptych.api.tensor;

/** Element types of a {@link Tensor}, with their size and their ONNX {@code TensorProto.DataType} code. */
public enum DType {
    FLOAT32(4, 1),
    FLOAT16(2, 10),
    FLOAT64(8, 11),
    INT8(1, 3),
    UINT8(1, 2),
    INT32(4, 6),
    INT64(8, 7),
    BOOL(1, 9);

    private final int byteSize;
    private final int onnxCode;

    DType(int byteSize, int onnxCode) {
        this.byteSize = byteSize;
        this.onnxCode = onnxCode;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The ONNX {@code TensorProto.DataType} number of this type. */
    public int onnxCode() {
        return onnxCode;
    }

    /**
     * The type with the given ONNX data type code.
     *
     * @return the type, or {@code null} if Triptych has no such element type (e.g. strings)
     */
    public static DType fromOnnxCode(int code) {
        for (DType t : values()) {
            if (t.onnxCode == code) {
                return t;
            }
        }
        return null;
    }
}
