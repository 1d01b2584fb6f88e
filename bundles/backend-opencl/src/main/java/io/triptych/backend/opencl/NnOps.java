package io.triptych.backend.opencl;

import java.util.Arrays;
import java.util.Map;

import io.triptych.api.InvalidRequestException;

/** Float32 network operators on the device: products, normalisations, reductions, convolution, resizing. */
final class NnOps {
    /** Rows up to which a product with contiguous rows of B runs {@code matmul_rows} instead of local-memory tiles. */
    private static final long FEW_ROWS = 8;
    private static final long TILE = 16;
    /** Output columns per work-item: float4 in the tiled product, float8 in the few-rows one. */
    private static final long TILE_VECTOR = 4, ROWS_VECTOR = 8;
    /** Work-group size of the few-rows product: small, so that narrow outputs still give both cores work. */
    private static final long ROWS_GROUP = 16;

    private NnOps() {
    }

    static void register(Map<String, Op> ops) {
        ops.put("ai.onnx:MatMul", NnOps::matMul);
        ops.put("ai.onnx:Gemm", NnOps::gemm);
        ops.put("ai.onnx:Softmax", (x, n) -> softmax(x, n, false));
        ops.put("ai.onnx:LogSoftmax", (x, n) -> softmax(x, n, true));
        ops.put("ai.onnx:ReduceSum", (x, n) -> reduce(x, n, 0));
        ops.put("ai.onnx:ReduceMean", (x, n) -> reduce(x, n, 1));
        ops.put("ai.onnx:ReduceMax", (x, n) -> reduce(x, n, 2));
        ops.put("ai.onnx:ReduceMin", (x, n) -> reduce(x, n, 3));
        ops.put("ai.onnx:ReduceProd", (x, n) -> reduce(x, n, 4));
        ops.put("ai.onnx:ReduceSumSquare", (x, n) -> reduce(x, n, 5));
        ops.put("ai.onnx:LayerNormalization", NnOps::layerNorm);
        ops.put("ai.onnx:Conv", NnOps::conv);
        ops.put("ai.onnx:MaxPool", (x, n) -> pool(x, n, 0, false));
        ops.put("ai.onnx:AveragePool", (x, n) -> pool(x, n, 1, false));
        ops.put("ai.onnx:GlobalAveragePool", (x, n) -> pool(x, n, 1, true));
        ops.put("ai.onnx:GroupNormalization", NnOps::groupNorm);
        ops.put("ai.onnx:InstanceNormalization", NnOps::instanceNorm);
        ops.put("ai.onnx:Resize", NnOps::resize);
        ops.put("ai.onnx:Trilu", NnOps::trilu);
    }

    /** Operand layout of a product: element (m, k) of A at {@code offset + m*rowStride + k*colStride}. */
    record Operand(Value value, long offset, long rowStride, long colStride) {
    }

    /**
     * {@code out[batch, M, N] = act(alpha * A B + beta * bias) + residual}, batched over {@code batch}
     * (broadcast strides per batch dimension, collapsed), with the bias read at {@code m*biasRs + n*biasCs},
     * {@code act} the unary kernel's operation (none when {@code null}) and the residual, when given, of
     * the output's layout.
     */
    static void product(Exec x, Value out, Operand a, Operand b, long m, long nCols, long k, long[] batch, long[] aBatch, long[] bBatch,
                        float alpha, float beta, Value bias, long biasRs, long biasCs, ElementwiseOps.UnaryCall act, Value residual) {
        long[][] c = Shapes.collapse(batch, aBatch, bBatch);
        long batches = Shapes.size(batch);
        boolean few = m <= FEW_ROWS && b.colStride() == 1 && nCols >= ROWS_VECTOR;
        ClBuffer biasBuffer = bias == null ? out.buffer : x.buffer(bias);
        ClDevice.Launch launch = x.kernel(few ? "matmul_rows" : "matmul_tiled").mem(out.buffer).mem(x.buffer(a.value()))
                .mem(x.buffer(b.value())).mem(biasBuffer).i(m).i(nCols).i(k).i(a.offset()).i(a.rowStride()).i(a.colStride())
                .i(b.offset()).i(b.rowStride()).i(b.colStride()).i(c[0].length).i8(c[0]).i8(c[1]).i8(c[2]).f(alpha).f(beta)
                .i(biasRs).i(biasCs).i(bias == null ? 0 : 1).i(act == null ? -1 : act.code()).f(act == null ? 0 : act.alpha())
                .f(act == null ? 0 : act.beta())
                .mem(residual == null ? out.buffer : x.buffer(residual)).i(residual == null ? 0 : 1);
        if (few) {
            long vectors = (nCols + ROWS_VECTOR - 1) / ROWS_VECTOR;
            launch.run(new long[] {ClDevice.roundUp(vectors, ROWS_GROUP), m, batches}, new long[] {ROWS_GROUP, 1, 1});
        } else {
            launch.run(new long[] {ClDevice.roundUp(nCols, TILE) / TILE_VECTOR, ClDevice.roundUp(m, TILE), batches}, new long[] {TILE / TILE_VECTOR, TILE, 1});
        }
    }

    /**
     * MatMul, with a scale, an optional bias vector along the columns as input 2, an activation and a
     * residual as input 3 when {@link Fusion} folded them in, and operands as {@link Exec#view} gives them.
     */
    private static void matMul(Exec x, Node n) {
        Value a = x.need(n, 0), b = x.need(n, 1), bias = x.in(n, 2), residual = x.in(n, 3);
        requireFloat(n, a, b);
        Exec.View av = x.view(n, 0), bv = x.view(n, 1);
        long[] as = av.shape(), bs = bv.shape(), aStrides = av.strides(), bStrides = bv.strides();
        if (as.length == 1) {
            as = new long[] {1, as[0]};
            aStrides = new long[] {0, aStrides[0]};
        }
        if (bs.length == 1) {
            bs = new long[] {bs[0], 1};
            bStrides = new long[] {bStrides[0], 1};
        }
        long m = as[as.length - 2], k = as[as.length - 1], k2 = bs[bs.length - 2], cols = bs[bs.length - 1];
        if (k != k2) {
            throw new InvalidRequestException("MatMul node '" + n.name + "': shapes " + Arrays.toString(av.shape()) + " and "
                    + Arrays.toString(bv.shape()) + " do not multiply");
        }
        long[] aBatchShape = Arrays.copyOf(as, as.length - 2);
        long[] bBatchShape = Arrays.copyOf(bs, bs.length - 2);
        long[] batch = Shapes.broadcast(aBatchShape, bBatchShape);
        long[] aBatch = Shapes.broadcastStrides(aBatchShape, Arrays.copyOf(aStrides, aBatchShape.length), batch);
        long[] bBatch = Shapes.broadcastStrides(bBatchShape, Arrays.copyOf(bStrides, bBatchShape.length), batch);
        long[] shape = Arrays.copyOf(batch, batch.length + 2);
        shape[batch.length] = m;
        shape[batch.length + 1] = cols;
        long[] result = shape;
        if (av.shape().length == 1 || bv.shape().length == 1) {
            result = Arrays.stream(shape).limit(batch.length).toArray();
            if (av.shape().length != 1) {
                result = Arrays.copyOf(result, result.length + 1);
                result[result.length - 1] = m;
            }
            if (bv.shape().length != 1) {
                result = Arrays.copyOf(result, result.length + 1);
                result[result.length - 1] = cols;
            }
        }
        boolean inEpilogue = residual != null && residual.isFloat() && Arrays.equals(residual.shape, result);
        Value out = x.allocate(shape);
        product(x, out, new Operand(a, av.offset(), aStrides[as.length - 2], aStrides[as.length - 1]),
                new Operand(b, bv.offset(), bStrides[bs.length - 2], bStrides[bs.length - 1]), m, cols, k, batch, aBatch, bBatch,
                n.f(Fusion.SCALE, 1f), 1f, bias, 0, bias == null || bias.size() == 1 ? 0 : 1, activation(n), inEpilogue ? residual : null);
        if (result != shape) {
            Value view = out.reshaped(result);
            out.release();
            out = view;
        }
        if (residual != null && !inEpilogue) {
            Value sum = ElementwiseOps.add(x, n, out, residual);
            out.release();
            out = sum;
        }
        x.out(n, 0, out);
    }

    /** The activation that {@link Fusion} folded into a MatMul, or {@code null}. */
    private static ElementwiseOps.UnaryCall activation(Node n) {
        long code = n.i(Fusion.ACTIVATION, -1);
        return code < 0 ? null : new ElementwiseOps.UnaryCall((int) code, n.f(Fusion.ACTIVATION_ALPHA, 0), n.f(Fusion.ACTIVATION_BETA, 0));
    }

    private static void gemm(Exec x, Node n) {
        Value a = x.need(n, 0), b = x.need(n, 1), c = x.in(n, 2);
        requireFloat(n, a, b);
        boolean ta = n.i("transA", 0) == 1, tb = n.i("transB", 0) == 1;
        long m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
        long cols = tb ? b.shape[0] : b.shape[1];
        if ((tb ? b.shape[1] : b.shape[0]) != k) {
            throw new InvalidRequestException("Gemm node '" + n.name + "': shapes " + Arrays.toString(a.shape) + " and "
                    + Arrays.toString(b.shape) + " do not multiply");
        }
        long[] shape = {m, cols};
        long biasRs = 0, biasCs = 0;
        if (c != null) {
            long[] s = Shapes.broadcastStrides(c.shape, shape);
            biasRs = s[0];
            biasCs = s[1];
        }
        Value out = x.allocate(shape);
        product(x, out, new Operand(a, 0, ta ? 1 : a.shape[1], ta ? a.shape[1] : 1), new Operand(b, 0, tb ? 1 : b.shape[1], tb ? b.shape[1] : 1),
                m, cols, k, new long[0], new long[0], new long[0], n.f("alpha", 1f), n.f("beta", 1f), c, biasRs, biasCs, null, null);
        x.out(n, 0, out);
    }

    private static void requireFloat(Node n, Value... values) {
        for (Value v : values) {
            if (!v.isFloat()) {
                throw new InvalidRequestException(n.op + " node '" + n.name + "' computes float tensors, got " + v.dtype);
            }
        }
    }

    private static void softmax(Exec x, Node n, boolean log) {
        Value a = x.need(n, 0);
        requireFloat(n, a);
        int rank = a.shape.length;
        int axis = Shapes.axis(n.i("axis", n.opset >= 13 ? -1 : 1), rank);
        long outer = Shapes.size(a.shape, 0, axis);
        long len = n.opset >= 13 ? a.shape[axis] : Shapes.size(a.shape, axis, rank);
        long inner = n.opset >= 13 ? Shapes.size(a.shape, axis + 1, rank) : 1;
        Value out = x.allocate(a.shape);
        x.kernel("softmax").mem(out.buffer).mem(x.buffer(a)).i(outer).i(len).i(inner).i(log ? 1 : 0).run(outer * inner);
        x.out(n, 0, out);
    }

    private static void reduce(Exec x, Node n, int op) {
        Value a = x.need(n, 0);
        requireFloat(n, a);
        int rank = a.shape.length;
        boolean axesAsInput = n.opset >= 18 || (n.op.equals("ai.onnx:ReduceSum") && n.opset >= 13);
        long[] axes = axesAsInput ? (x.in(n, 1) == null ? null : x.ints(n, x.in(n, 1))) : n.ints("axes");
        if (axes == null || axes.length == 0) {
            if (n.i("noop_with_empty_axes", 0) == 1) {
                x.out(n, 0, a.reshaped(a.shape));
                return;
            }
            axes = new long[rank];
            for (int k = 0; k < rank; k++) {
                axes[k] = k;
            }
        }
        boolean[] reduced = new boolean[rank];
        for (long ax : axes) {
            reduced[Shapes.axis(ax, rank)] = true;
        }
        Value current = a.reshaped(a.shape);
        long[] shape = a.shape.clone();
        boolean first = true;
        for (int k = rank - 1; k >= 0; k--) {
            if (!reduced[k]) {
                continue;
            }
            long outer = Shapes.size(shape, 0, k), len = shape[k], inner = Shapes.size(shape, k + 1, rank);
            shape[k] = 1;
            Value next = x.allocate(shape.clone());
            int step = op == 5 && !first ? 0 : op;
            x.kernel("reduce_axis").mem(next.buffer).mem(x.buffer(current)).i(outer).i(len).i(inner).i(step).run(outer * inner);
            current.release();
            current = next;
            first = false;
        }
        if (n.i("keepdims", 1) == 0) {
            long[] kept = new long[rank - Math.toIntExact(Arrays.stream(axes).distinct().count())];
            for (int k = 0, j = 0; k < rank; k++) {
                if (!reduced[k]) {
                    kept[j++] = a.shape[k];
                }
            }
            Value view = current.reshaped(kept);
            current.release();
            current = view;
        }
        x.out(n, 0, current);
    }

    private static void layerNorm(Exec x, Node n) {
        Value a = x.need(n, 0), gamma = x.need(n, 1), beta = x.in(n, 2);
        requireFloat(n, a);
        int rank = a.shape.length;
        int axis = Shapes.axis(n.i("axis", -1), rank);
        long cols = Shapes.size(a.shape, axis, rank), rows = Shapes.size(a.shape, 0, axis);
        if (gamma.size() != cols || (beta != null && beta.size() != cols)) {
            throw n.error("scale and bias must hold the " + cols + " normalised elements");
        }
        Value out = x.allocate(a.shape);
        x.kernel("layer_norm").mem(out.buffer).mem(x.buffer(a)).mem(x.buffer(gamma)).mem(x.buffer(beta == null ? gamma : beta))
                .i(rows).i(cols).f(n.f("epsilon", 1e-5f)).i(beta == null ? 0 : 1).run(rows);
        x.out(n, 0, out);
    }

    private static void conv(Exec x, Node n) {
        Value in = x.need(n, 0), w = x.need(n, 1), bias = x.in(n, 2);
        requireFloat(n, in, w);
        int spatial = in.shape.length - 2;
        if (spatial < 1 || spatial > 2) {
            throw n.error("implements 1-D and 2-D convolution, got input " + Arrays.toString(in.shape));
        }
        long batch = in.shape[0], channels = in.shape[1];
        long h = spatial == 2 ? in.shape[2] : 1, wd = in.shape[in.shape.length - 1];
        long m = w.shape[0], kh = spatial == 2 ? w.shape[2] : 1, kw = w.shape[w.shape.length - 1];
        long group = n.i("group", 1);
        if (w.shape[1] * group != channels) {
            throw new InvalidRequestException("Conv node '" + n.name + "': weights " + Arrays.toString(w.shape) + " do not fit input "
                    + Arrays.toString(in.shape) + " with group " + group);
        }
        long[] strides = orDefault(n.ints("strides"), spatial, 1);
        long[] dilations = orDefault(n.ints("dilations"), spatial, 1);
        long[] pads = orDefault(n.ints("pads"), 2 * spatial, 0);
        long[] inDims = spatial == 2 ? new long[] {h, wd} : new long[] {wd};
        long[] kDims = spatial == 2 ? new long[] {kh, kw} : new long[] {kw};
        String autoPad = n.s("auto_pad", "NOTSET");
        long[] outDims = new long[spatial];
        for (int d = 0; d < spatial; d++) {
            long extent = (kDims[d] - 1) * dilations[d] + 1;
            if (autoPad.startsWith("SAME")) {
                outDims[d] = (inDims[d] + strides[d] - 1) / strides[d];
                long total = Math.max(0, (outDims[d] - 1) * strides[d] + extent - inDims[d]);
                pads[d] = autoPad.equals("SAME_UPPER") ? total / 2 : total - total / 2;
            } else {
                if (autoPad.equals("VALID")) {
                    pads[d] = 0;
                    pads[d + spatial] = 0;
                }
                outDims[d] = (inDims[d] + pads[d] + pads[d + spatial] - extent) / strides[d] + 1;
            }
        }
        long oh = spatial == 2 ? outDims[0] : 1, ow = outDims[spatial - 1];
        long[] shape = spatial == 2 ? new long[] {batch, m, oh, ow} : new long[] {batch, m, ow};
        Value out = x.allocate(shape);
        long count = Shapes.size(shape);
        int last = spatial - 1;
        x.kernel("conv2d").mem(out.buffer).mem(x.buffer(in)).mem(x.buffer(w)).mem(x.buffer(bias == null ? w : bias))
                .i(channels).i(h).i(wd).i(m).i(kh).i(kw).i(oh).i(ow).i(spatial == 2 ? strides[0] : 1).i(strides[last])
                .i(spatial == 2 ? pads[0] : 0).i(pads[last]).i(spatial == 2 ? dilations[0] : 1).i(dilations[last])
                .i(group).i(bias == null ? 0 : 1).i(count).run(count);
        x.out(n, 0, out);
    }

    /** 2-D pooling; {@code global} pools each whole feature map (GlobalAveragePool). */
    private static void pool(Exec x, Node n, int mode, boolean global) {
        Value in = x.need(n, 0);
        requireFloat(n, in);
        if (in.shape.length != 4) {
            throw n.error("implements 2-D pooling, got input " + Arrays.toString(in.shape));
        }
        if (!global && n.ints("dilations") != null && Arrays.stream(n.ints("dilations")).anyMatch(d -> d != 1)) {
            throw n.error("implements pooling without dilation");
        }
        if (n.outputs.length > 1 && n.outputs[1] >= 0) {
            throw n.error("does not produce MaxPool's indices output");
        }
        long h = in.shape[2], w = in.shape[3];
        long[] kernel = global ? new long[] {h, w} : n.ints("kernel_shape");
        long[] strides = global ? new long[] {1, 1} : orDefault(n.ints("strides"), 2, 1);
        long[] pads = global ? new long[4] : orDefault(n.ints("pads"), 4, 0);
        boolean ceil = !global && n.i("ceil_mode", 0) == 1;
        String autoPad = global ? "NOTSET" : n.s("auto_pad", "NOTSET");
        long[] inDims = {h, w};
        long[] outDims = new long[2];
        for (int d = 0; d < 2; d++) {
            if (autoPad.startsWith("SAME")) {
                outDims[d] = (inDims[d] + strides[d] - 1) / strides[d];
                long total = Math.max(0, (outDims[d] - 1) * strides[d] + kernel[d] - inDims[d]);
                pads[d] = autoPad.equals("SAME_UPPER") ? total / 2 : total - total / 2;
            } else {
                if (autoPad.equals("VALID")) {
                    pads[d] = 0;
                    pads[d + 2] = 0;
                }
                long span = inDims[d] + pads[d] + pads[d + 2] - kernel[d];
                outDims[d] = (ceil ? (span + strides[d] - 1) / strides[d] : span / strides[d]) + 1;
            }
        }
        long[] shape = {in.shape[0], in.shape[1], outDims[0], outDims[1]};
        Value out = x.allocate(shape);
        long count = Shapes.size(shape);
        x.kernel("pool2d").mem(out.buffer).mem(x.buffer(in)).i(h).i(w).i(kernel[0]).i(kernel[1]).i(outDims[0]).i(outDims[1])
                .i(strides[0]).i(strides[1]).i(pads[0]).i(pads[1]).i(mode).i(n.i("count_include_pad", 0)).i(count).run(count);
        x.out(n, 0, out);
    }

    private static long[] orDefault(long[] v, int length, long fill) {
        if (v != null) {
            return v.clone();
        }
        long[] d = new long[length];
        Arrays.fill(d, fill);
        return d;
    }

    private static void groupNorm(Exec x, Node n) {
        Value in = x.need(n, 0), scale = x.need(n, 1), bias = x.need(n, 2);
        long groups = n.i("num_groups", 0);
        long channels = in.shape[1];
        if (groups <= 0 || channels % groups != 0) {
            throw n.error("num_groups " + groups + " does not divide " + channels + " channels");
        }
        normalizeGroups(x, n, in, scale, bias, groups, scale.size() == channels && channels != groups);
    }

    private static void instanceNorm(Exec x, Node n) {
        Value in = x.need(n, 0);
        normalizeGroups(x, n, in, x.need(n, 1), x.need(n, 2), in.shape[1], true);
    }

    private static void normalizeGroups(Exec x, Node n, Value in, Value scale, Value bias, long groups, boolean perChannel) {
        requireFloat(n, in, scale, bias);
        long channels = in.shape[1];
        long spatial = Shapes.size(in.shape, 2, in.shape.length);
        long rows = in.shape[0] * groups;
        Value out = x.allocate(in.shape);
        x.kernel("group_norm").mem(out.buffer).mem(x.buffer(in)).mem(x.buffer(scale)).mem(x.buffer(bias)).i(channels).i(groups)
                .i(spatial).f(n.f("epsilon", 1e-5f)).i(perChannel ? 1 : 0).i(rows).run(rows);
        x.out(n, 0, out);
    }

    private static void resize(Exec x, Node n) {
        Value in = x.need(n, 0);
        requireFloat(n, in);
        int rank = in.shape.length;
        Value scalesInput = n.opset >= 11 ? x.in(n, 2) : x.in(n, 1);
        Value sizesInput = n.opset >= 11 ? x.in(n, 3) : null;
        long[] shape = new long[rank];
        float[] scales = new float[rank];
        if (sizesInput != null && sizesInput.size() > 0) {
            long[] sizes = x.ints(n, sizesInput);
            for (int k = 0; k < rank; k++) {
                shape[k] = sizes[k];
                scales[k] = (float) sizes[k] / in.shape[k];
            }
        } else if (scalesInput != null && scalesInput.size() > 0) {
            float[] s = x.floats(scalesInput);
            for (int k = 0; k < rank; k++) {
                scales[k] = s[k];
                shape[k] = (long) Math.floor(in.shape[k] * s[k]);
            }
        } else {
            throw n.error("needs scales or sizes");
        }
        for (int k = 0; k < rank - 2; k++) {
            if (shape[k] != in.shape[k]) {
                throw n.error("resizes only the two innermost dimensions, got scales " + Arrays.toString(scales));
            }
        }
        String mode = n.s("mode", "nearest");
        if (!mode.equals("nearest") && !mode.equals("linear")) {
            throw n.error("mode '" + mode + "' is not implemented (nearest, linear)");
        }
        String transform = n.opset >= 11 ? n.s("coordinate_transformation_mode", "half_pixel") : "asymmetric";
        int transformCode = switch (transform) {
            case "half_pixel" -> 0;
            case "asymmetric" -> 1;
            case "align_corners" -> 2;
            case "pytorch_half_pixel" -> 3;
            default -> throw n.error("coordinate_transformation_mode '" + transform + "' is not implemented");
        };
        int nearestCode = switch (n.s("nearest_mode", "round_prefer_floor")) {
            case "round_prefer_ceil" -> 1;
            case "floor" -> 2;
            case "ceil" -> 3;
            default -> 0;
        };
        long h = rank >= 2 ? in.shape[rank - 2] : 1, w = in.shape[rank - 1];
        long oh = rank >= 2 ? shape[rank - 2] : 1, ow = shape[rank - 1];
        Value out = x.allocate(shape);
        long count = Shapes.size(shape);
        x.kernel("resize2d").mem(out.buffer).mem(x.buffer(in)).i(h).i(w).i(oh).i(ow).f(rank >= 2 ? scales[rank - 2] : 1)
                .f(scales[rank - 1]).i(transformCode).i(mode.equals("linear") ? 1 : 0).i(nearestCode).i(count).run(count);
        x.out(n, 0, out);
    }

    private static void trilu(Exec x, Node n) {
        Value in = x.need(n, 0);
        requireFloat(n, in);
        long k = x.in(n, 1) == null ? 0 : x.scalar(n, x.in(n, 1));
        int rank = in.shape.length;
        Value out = x.allocate(in.shape);
        long count = in.size();
        x.kernel("trilu").mem(out.buffer).mem(x.buffer(in)).i(in.shape[rank - 2]).i(in.shape[rank - 1]).i(k)
                .i(n.i("upper", 1)).i(count).run(count);
        x.out(n, 0, out);
    }
}
