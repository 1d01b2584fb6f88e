// Runs one ONNX model with the real ONNX Runtime (Java API) on raw tensors written by Python
// (models/shapes/ortrun.py), so our exports are checked by an independent ONNX implementation.
//   java -cp onnxruntime-<v>.jar OrtRun.java model.onnx <dir>
// <dir>/inputs.txt: one line per input "name dtype d0,d1,... file" (dtype float32|int64,
// raw little-endian data). Writes <dir>/outputs.txt in the same format and out_<i>.bin files.
import ai.onnxruntime.*;
import java.nio.*;
import java.nio.file.*;
import java.util.*;

public class OrtRun {
    public static void main(String[] args) throws Exception {
        Path dir = Paths.get(args[1]);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(1);
            so.setInterOpNumThreads(1);
            try (OrtSession s = env.createSession(args[0], so)) {
                Map<String, OnnxTensor> in = new LinkedHashMap<>();
                for (String line : Files.readAllLines(dir.resolve("inputs.txt"))) {
                    if (line.isBlank()) continue;
                    String[] f = line.trim().split(" ");
                    long[] shape = f[2].isEmpty() || f[2].equals("-") ? new long[0]
                            : Arrays.stream(f[2].split(",")).mapToLong(Long::parseLong).toArray();
                    ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(f[3]))).order(ByteOrder.LITTLE_ENDIAN);
                    OnnxTensor t = f[1].equals("int64")
                            ? OnnxTensor.createTensor(env, bb.asLongBuffer(), shape)
                            : OnnxTensor.createTensor(env, bb.asFloatBuffer(), shape);
                    in.put(f[0], t);
                }
                StringBuilder sb = new StringBuilder();
                try (OrtSession.Result r = s.run(in)) {
                    int i = 0;
                    for (Map.Entry<String, OnnxValue> e : r) {
                        OnnxTensor t = (OnnxTensor) e.getValue();
                        long[] shape = t.getInfo().getShape();
                        String file = "out_" + i++ + ".bin";
                        ByteBuffer bb;
                        String dtype;
                        if (t.getInfo().type == OnnxJavaType.INT64) {
                            LongBuffer lb = t.getLongBuffer();
                            bb = ByteBuffer.allocate(lb.remaining() * 8).order(ByteOrder.LITTLE_ENDIAN);
                            bb.asLongBuffer().put(lb);
                            dtype = "int64";
                        } else {
                            FloatBuffer fb = t.getFloatBuffer();
                            bb = ByteBuffer.allocate(fb.remaining() * 4).order(ByteOrder.LITTLE_ENDIAN);
                            bb.asFloatBuffer().put(fb);
                            dtype = "float32";
                        }
                        Files.write(dir.resolve(file), bb.array());
                        StringBuilder sh = new StringBuilder();
                        for (int k = 0; k < shape.length; k++) sh.append(k == 0 ? "" : ",").append(shape[k]);
                        sb.append(e.getKey()).append(' ').append(dtype).append(' ')
                          .append(shape.length == 0 ? "-" : sh).append(' ').append(file).append('\n');
                    }
                }
                Files.writeString(dir.resolve("outputs.txt"), sb.toString());
                for (OnnxTensor t : in.values()) t.close();
            }
        }
    }
}
