package io.triptych.backend.opencl;

import java.util.Arrays;
import java.util.Map;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.tensor.DType;

/**
 * ONNX Runtime contrib operators (domain {@code com.microsoft}) that transformer exports of ORT's
 * optimiser use, with the semantics of ORT's ContribOperators.md.
 */
final class ContribOps {

    private ContribOps() {
    }

    static void register(Map<String, Op> ops) {
        ops.put("com.microsoft:Attention", ContribOps::attention);
        ops.put("com.microsoft:SkipLayerNormalization", ContribOps::skipLayerNorm);
        ops.put("com.microsoft:EmbedLayerNormalization", ContribOps::embedLayerNorm);
        ops.put("com.microsoft:FastGelu", ContribOps::fastGelu);
    }

    /**
     * Multi-head self-attention with packed QKV weights [in, 3H], an optional 2-D or 3-D key mask
     * (0 = masked, adds {@code mask_filter_value}), causal masking when unidirectional, and a
     * combined past/present cache [2, batch, heads, seq, head_size].
     */
    private static void attention(Exec x, Node n) {
        Value in = x.need(n, 0), weights = x.need(n, 1), bias = x.in(n, 2), mask = x.in(n, 3), past = x.in(n, 4);
        for (int i = 5; i < x.inputCount(n); i++) {
            if (x.in(n, i) != null) {
                throw n.error("input " + i + " (relative position bias or past sequence length) is not implemented");
            }
        }
        long[] qkvSizes = n.ints("qkv_hidden_sizes");
        if (qkvSizes != null && (qkvSizes[0] != qkvSizes[1] || qkvSizes[1] != qkvSizes[2])) {
            throw n.error("different Q, K and V hidden sizes are not implemented");
        }
        if (n.i("do_rotary", 0) != 0) {
            throw n.error("rotary embeddings are not implemented");
        }
        if (in.shape.length != 3) {
            throw new InvalidRequestException("Attention node '" + n.name + "': input must be [batch, sequence, hidden], got "
                    + Arrays.toString(in.shape));
        }
        long batch = in.shape[0], seq = in.shape[1], inner = in.shape[2];
        long heads = n.i("num_heads", 0);
        long hidden3 = weights.shape[1];
        long hidden = hidden3 / 3;
        if (heads <= 0 || hidden % heads != 0 || weights.shape[0] != inner) {
            throw n.error("weights " + Arrays.toString(weights.shape) + " do not fit input " + Arrays.toString(in.shape)
                    + " with " + heads + " heads");
        }
        long headSize = hidden / heads;
        long pastLen = past == null ? 0 : past.shape[3];
        if (past != null && (past.shape.length != 5 || past.shape[0] != 2 || past.shape[1] != batch || past.shape[2] != heads
                || past.shape[4] != headSize)) {
            throw new InvalidRequestException("Attention node '" + n.name + "': past must be [2, " + batch + ", " + heads
                    + ", past_sequence, " + headSize + "], got " + Arrays.toString(past.shape));
        }
        long total = pastLen + seq;
        int maskRank = 0;
        if (mask != null) {
            maskRank = mask.shape.length;
            long[] expected = maskRank == 2 ? new long[] {batch, total} : new long[] {batch, seq, total};
            if ((maskRank != 2 && maskRank != 3) || !Arrays.equals(mask.shape, expected)) {
                throw new InvalidRequestException("Attention node '" + n.name + "': mask_index must be " + Arrays.toString(expected)
                        + " (1-D and 4-D masks are not implemented), got " + Arrays.toString(mask.shape));
            }
        }
        Value qkv = x.allocate(new long[] {batch, seq, hidden3});
        NnOps.product(x, qkv, new NnOps.Operand(in, 0, inner, 1), new NnOps.Operand(weights, 0, hidden3, 1), batch * seq, hidden3, inner,
                new long[0], new long[0], new long[0], 1f, 1f, bias, 0, 1, null, null);
        Value present = x.allocate(new long[] {2, batch, heads, total, headSize});
        Value scores = x.allocate(new long[] {batch, heads, seq, total});
        Value out = x.allocate(new long[] {batch, seq, hidden});
        float scale = n.f("scale", (float) (1 / Math.sqrt(headSize)));
        long rows = batch * heads * seq;
        if (rows == 0 && past != null) { // no query rows to write present
            x.copy(past, 0, Shapes.strides(past.shape), present, 0, Shapes.strides(present.shape), past.shape);
        }
        x.kernel("attention").mem(out.buffer).mem(scores.buffer).mem(qkv.buffer).mem(past == null ? qkv.buffer : x.buffer(past))
                .mem(present.buffer).mem(mask == null ? qkv.buffer : x.buffer(mask)).i(batch).i(heads).i(seq).i(pastLen).i(headSize)
                .f(scale).i(n.i("unidirectional", 0)).f(n.f("mask_filter_value", -10000f)).i(maskRank).run(rows);
        scores.release();
        qkv.release();
        x.out(n, 0, out);
        x.out(n, 1, present);
    }

    /** {@code sum = input + skip (+ bias)} (output 3), then layer normalisation with gamma and beta. */
    private static void skipLayerNorm(Exec x, Node n) {
        Value in = x.need(n, 0), skip = x.need(n, 1), gamma = x.need(n, 2), beta = x.in(n, 3), bias = x.in(n, 4);
        long cols = in.shape[in.shape.length - 1];
        long rows = in.size() / Math.max(cols, 1);
        if (skip.shape[skip.shape.length - 1] != cols || rows % Math.max(1, skip.size() / Math.max(cols, 1)) != 0) {
            throw new InvalidRequestException("SkipLayerNormalization node '" + n.name + "': skip " + Arrays.toString(skip.shape)
                    + " does not fit input " + Arrays.toString(in.shape));
        }
        Value out = x.allocate(in.shape);
        Value sum = x.allocate(in.shape);
        x.kernel("skip_layer_norm").mem(out.buffer).mem(sum.buffer).mem(x.buffer(in)).mem(x.buffer(skip)).mem(x.buffer(gamma))
                .mem(x.buffer(beta == null ? gamma : beta)).mem(x.buffer(bias == null ? gamma : bias)).i(rows).i(cols)
                .i(skip.size() / Math.max(cols, 1)).f(n.f("epsilon", 1e-12f)).i(beta == null ? 0 : 1).i(bias == null ? 0 : 1).run(rows);
        x.out(n, 0, out);
        x.out(n, 3, sum);
    }

    /**
     * Word + position (+ segment) embeddings, normalised (output 0); the raw sum (output 2); and
     * the mask index (output 1): per batch row, the count of mask ones, or 0 without a mask.
     */
    private static void embedLayerNorm(Exec x, Node n) {
        Value ids = x.need(n, 0), segments = x.in(n, 1), word = x.need(n, 2), position = x.need(n, 3), segmentEmb = x.in(n, 4);
        Value gamma = x.need(n, 5), beta = x.need(n, 6), mask = x.in(n, 7), positions = x.in(n, 8);
        long batch = ids.shape[0], seq = ids.shape[1], hidden = word.shape[1];
        long rows = batch * seq;
        checkIndices(n, "input_ids", x.ints(n, ids), word.shape[0]);
        Value positionRows = null;
        if (positions != null) {
            long[] p = x.ints(n, positions);
            checkIndices(n, "position_ids", p, position.shape[0]);
            long[] full = new long[(int) rows];
            for (int r = 0; r < rows; r++) {
                full[r] = p[(int) (r % p.length)];
            }
            positionRows = Value.ofInts(DType.INT64, new long[] {batch, seq}, full);
        } else if (seq > position.shape[0]) {
            throw new InvalidRequestException("EmbedLayerNormalization node '" + n.name + "': sequence " + seq + " is longer than the "
                    + position.shape[0] + " position embeddings");
        }
        if (segments != null) {
            checkIndices(n, "segment_ids", x.ints(n, segments), segmentEmb.shape[0]);
        }
        Value out = x.allocate(new long[] {batch, seq, hidden});
        Value sum = x.allocate(new long[] {batch, seq, hidden});
        x.kernel("embed_layer_norm").mem(out.buffer).mem(sum.buffer).mem(x.buffer(ids))
                .mem(x.buffer(segments == null ? ids : segments)).mem(x.buffer(positionRows == null ? ids : positionRows))
                .mem(x.buffer(word)).mem(x.buffer(position)).mem(x.buffer(segmentEmb == null ? word : segmentEmb))
                .mem(x.buffer(gamma)).mem(x.buffer(beta)).i(rows).i(seq).i(hidden).f(n.f("epsilon", 1e-12f))
                .i(segments == null ? 0 : 1).i(positionRows == null ? 0 : 1).run(rows);
        if (positionRows != null) {
            positionRows.release();
        }
        x.out(n, 0, out);
        if (x.wants(n, 1)) {
            long[] index = new long[(int) batch];
            if (mask != null) {
                long[] m = x.ints(n, mask);
                for (int r = 0; r < m.length; r++) {
                    index[(int) (r / seq)] += m[r] != 0 ? 1 : 0;
                }
            }
            x.out(n, 1, Value.ofInts(DType.INT32, new long[] {batch}, index));
        }
        x.out(n, 2, sum);
    }

    private static void checkIndices(Node n, String what, long[] ids, long limit) {
        for (long id : ids) {
            if (id < 0 || id >= limit) {
                throw new InvalidRequestException(n.op + " node '" + n.name + "': " + what + " value " + id + " is out of range [0, "
                        + limit + ")");
            }
        }
    }

    /** The tanh approximation of GELU, after adding an optional bias along the last dimension. */
    private static void fastGelu(Exec x, Node n) {
        Value in = x.need(n, 0), bias = x.in(n, 1);
        Value out = x.allocate(in.shape);
        long count = in.size();
        x.kernel("fast_gelu").mem(out.buffer).mem(x.buffer(in)).mem(x.buffer(bias == null ? in : bias)).i(count)
                .i(bias == null ? 0 : bias.size()).run(count);
        x.out(n, 0, out);
    }
}
