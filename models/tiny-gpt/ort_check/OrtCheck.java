import ai.onnxruntime.*;
import com.google.gson.*;
import java.nio.*;
import java.nio.file.*;
import java.util.*;

public class OrtCheck {
  static ByteBuffer read(String f) throws Exception {
    return ByteBuffer.wrap(Files.readAllBytes(Paths.get(f))).order(ByteOrder.LITTLE_ENDIAN);
  }
  static long[] shape(JsonObject o) {
    JsonArray a = o.getAsJsonArray("shape"); long[] s = new long[a.size()];
    for (int i = 0; i < s.length; i++) s[i] = a.get(i).getAsLong(); return s;
  }
  public static void main(String[] args) throws Exception {
    JsonObject c = JsonParser.parseString(Files.readString(Paths.get("case.json"))).getAsJsonObject();
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    OrtSession s = env.createSession(c.get("model").getAsString(), new OrtSession.SessionOptions());
    System.out.println("inputs: " + s.getInputInfo().keySet());
    System.out.println("outputs: " + s.getOutputInfo().keySet());
    double worst = 0;
    for (JsonElement st : c.getAsJsonArray("steps")) {
      JsonObject feeds = st.getAsJsonObject().getAsJsonObject("feeds");
      Map<String, OnnxTensor> in = new LinkedHashMap<>();
      for (String n : feeds.keySet()) {
        JsonObject f = feeds.getAsJsonObject(n);
        ByteBuffer b = read(f.get("file").getAsString());
        if (f.get("dtype").getAsString().equals("int64")) in.put(n, OnnxTensor.createTensor(env, b.asLongBuffer(), shape(f)));
        else in.put(n, OnnxTensor.createTensor(env, b.asFloatBuffer(), shape(f)));
      }
      try (OrtSession.Result r = s.run(in)) {
        JsonObject exp = st.getAsJsonObject().getAsJsonObject("expect");
        for (String n : exp.keySet()) {
          JsonObject e = exp.getAsJsonObject(n);
          OnnxTensor t = (OnnxTensor) r.get(n).get();
          long[] es = shape(e), gs = t.getInfo().getShape();
          if (!Arrays.equals(es, gs)) throw new RuntimeException(n + " shape " + Arrays.toString(gs) + " != " + Arrays.toString(es));
          FloatBuffer g = t.getFloatBuffer(); FloatBuffer x = read(e.get("file").getAsString()).asFloatBuffer();
          double d = 0; for (int i = 0; i < x.limit(); i++) d = Math.max(d, Math.abs(g.get(i) - x.get(i)));
          worst = Math.max(worst, d);
        }
      }
      System.out.println("step ok, running max abs diff " + worst);
    }
    System.out.println("ORT vs torch max abs diff: " + worst);
    if (!(worst < 1e-3)) throw new RuntimeException("ORT output differs from torch: " + worst);
    // Greedy decoding loop as an engine would run it (past starts empty, then 1 token/step).
    int layers = c.get("layers").getAsInt(), heads = c.get("heads").getAsInt(), hs = c.get("head_size").getAsInt();
    List<Long> seq = new ArrayList<>();
    for (JsonElement e : c.getAsJsonArray("greedy_prompt")) seq.add(e.getAsLong());
    long[] cur = seq.stream().mapToLong(Long::longValue).toArray();
    int total = 0;
    Map<String, OnnxTensor> past = new HashMap<>();
    for (int i = 0; i < layers; i++) {
      past.put("past_key_values." + i + ".key", OnnxTensor.createTensor(env, FloatBuffer.allocate(0), new long[]{1, heads, 0, hs}));
      past.put("past_key_values." + i + ".value", OnnxTensor.createTensor(env, FloatBuffer.allocate(0), new long[]{1, heads, 0, hs}));
    }
    List<Long> got = new ArrayList<>();
    for (int step = 0; step < c.getAsJsonArray("greedy_expect").size(); step++) {
      long[] pos = new long[cur.length];
      for (int i = 0; i < cur.length; i++) pos[i] = total + i;
      long[] mask = new long[total + cur.length];
      Arrays.fill(mask, 1L);
      Map<String, OnnxTensor> in = new HashMap<>(past);
      in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(cur), new long[]{1, cur.length}));
      in.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[]{1, cur.length}));
      in.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[]{1, mask.length}));
      OrtSession.Result r = s.run(in);
      float[][][] logits = (float[][][]) r.get("logits").get().getValue();
      float[] last = logits[0][cur.length - 1];
      int best = 0;
      for (int i = 1; i < last.length; i++) if (last[i] > last[best]) best = i;
      got.add((long) best);
      total += cur.length;
      cur = new long[]{best};
      past = new HashMap<>();
      for (int i = 0; i < layers; i++) {
        past.put("past_key_values." + i + ".key", (OnnxTensor) r.get("present." + i + ".key").get());
        past.put("past_key_values." + i + ".value", (OnnxTensor) r.get("present." + i + ".value").get());
      }
    }
    List<Long> exp = new ArrayList<>();
    for (JsonElement e : c.getAsJsonArray("greedy_expect")) exp.add(e.getAsLong());
    System.out.println("greedy ORT   " + got);
    System.out.println("greedy torch " + exp);
    if (!got.equals(exp)) throw new RuntimeException("greedy decoding differs");
    System.out.println("OK");
  }
}
