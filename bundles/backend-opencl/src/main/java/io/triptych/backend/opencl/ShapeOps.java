package io.triptych.backend.opencl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.tensor.DType;

/**
 * Shape computation and data movement. Shape arithmetic runs on the host; views (reshape,
 * squeeze, identity, a transpose that keeps the layout, split parts that Fusion allows) share their
 * input's buffer; every copy (transpose, slice, expand, concat, split, tile, pad) is one strided
 * walk, a kernel for floats.
 */
final class ShapeOps {
    private ShapeOps() {
    }

    static void register(Map<String, Op> ops) {
        ops.put("ai.onnx:Shape", ShapeOps::shape);
        ops.put("ai.onnx:Size", (x, n) -> x.out(n, 0, Value.ofInts(DType.INT64, new long[0], new long[] {x.need(n, 0).size()})));
        ops.put("ai.onnx:ConstantOfShape", ShapeOps::constantOfShape);
        ops.put("ai.onnx:Range", ShapeOps::range);
        ops.put("ai.onnx:Reshape", ShapeOps::reshape);
        ops.put("ai.onnx:Flatten", (x, n) -> {
            Value a = x.need(n, 0);
            int axis = (int) (n.i("axis", 1) < 0 ? n.i("axis", 1) + a.shape.length : n.i("axis", 1));
            x.out(n, 0, a.reshaped(new long[] {Shapes.size(a.shape, 0, axis), Shapes.size(a.shape, axis, a.shape.length)}));
        });
        ops.put("ai.onnx:Squeeze", ShapeOps::squeeze);
        ops.put("ai.onnx:Unsqueeze", ShapeOps::unsqueeze);
        ops.put("ai.onnx:Identity", (x, n) -> x.out(n, 0, x.need(n, 0).reshaped(x.need(n, 0).shape)));
        ops.put("ai.onnx:Dropout", (x, n) -> {
            Value a = x.need(n, 0);
            x.out(n, 0, a.reshaped(a.shape));
            if (x.wants(n, 1)) {
                long[] ones = new long[Math.toIntExact(a.size())];
                Arrays.fill(ones, 1);
                x.out(n, 1, Value.ofInts(DType.BOOL, a.shape, ones));
            }
        });
        ops.put("ai.onnx:Transpose", ShapeOps::transpose);
        ops.put("ai.onnx:Slice", ShapeOps::slice);
        ops.put("ai.onnx:Expand", ShapeOps::expand);
        ops.put("ai.onnx:Concat", ShapeOps::concat);
        ops.put("ai.onnx:Split", ShapeOps::split);
        ops.put("ai.onnx:Tile", ShapeOps::tile);
        ops.put("ai.onnx:Pad", ShapeOps::pad);
        ops.put("ai.onnx:Gather", ShapeOps::gather);
    }

    private static void shape(Exec x, Node n) {
        long[] s = x.need(n, 0).shape;
        int rank = s.length;
        int start = (int) clampAxis(n.i("start", 0), rank);
        int end = (int) clampAxis(n.i("end", rank), rank);
        long[] v = Arrays.copyOfRange(s, start, Math.max(start, end));
        x.out(n, 0, Value.ofInts(DType.INT64, new long[] {v.length}, v));
    }

    private static long clampAxis(long a, int rank) {
        long v = a < 0 ? a + rank : a;
        return Math.max(0, Math.min(rank, v));
    }

    private static void constantOfShape(Exec x, Node n) {
        long[] shape = x.ints(n, x.need(n, 0));
        var t = n.tensor("value");
        Value fill = t == null ? Value.ofFloats(new long[] {1}, new float[] {0}) : Initializers.decode(t, null);
        long count = Shapes.size(shape);
        if (fill.isFloat()) {
            Value out = x.allocate(shape.clone());
            x.kernel("fill").mem(out.buffer).f(fill.floats[0]).i(count).run(count);
            x.out(n, 0, out);
        } else {
            long[] v = new long[Math.toIntExact(count)];
            Arrays.fill(v, fill.ints[0]);
            x.out(n, 0, Value.ofInts(fill.dtype, shape.clone(), v));
        }
    }

    private static void range(Exec x, Node n) {
        Value start = x.need(n, 0);
        double s = x.numbers(start)[0], limit = x.numbers(x.need(n, 1))[0], delta = x.numbers(x.need(n, 2))[0];
        int count = (int) Math.max(0, Math.ceil((limit - s) / delta));
        long[] shape = {count};
        if (start.isFloat()) {
            float[] f = new float[count];
            for (int k = 0; k < count; k++) {
                f[k] = (float) (s + k * delta);
            }
            x.out(n, 0, Value.ofFloats(shape, f));
        } else {
            long[] v = new long[count];
            for (int k = 0; k < count; k++) {
                v[k] = (long) s + k * (long) delta;
            }
            x.out(n, 0, Value.ofInts(start.dtype, shape, v));
        }
    }

    private static void reshape(Exec x, Node n) {
        Value a = x.need(n, 0);
        long[] spec = x.ints(n, x.need(n, 1));
        boolean allowZero = n.i("allowzero", 0) == 1;
        long[] shape = new long[spec.length];
        int inferred = -1;
        long known = 1;
        for (int k = 0; k < spec.length; k++) {
            if (spec[k] == -1) {
                if (inferred >= 0) {
                    throw n.error("more than one -1 in shape " + Arrays.toString(spec));
                }
                inferred = k;
                continue;
            }
            shape[k] = spec[k] == 0 && !allowZero ? a.shape[k] : spec[k];
            known *= shape[k];
        }
        if (inferred >= 0) {
            shape[inferred] = known == 0 ? 0 : a.size() / known;
        }
        if (Shapes.size(shape) != a.size()) {
            throw new InvalidRequestException(n.op + " node '" + n.name + "': cannot reshape " + Arrays.toString(a.shape)
                    + " to " + Arrays.toString(spec));
        }
        x.out(n, 0, a.reshaped(shape));
    }

    private static long[] axes(Exec x, Node n) {
        return n.opset >= 13 ? (x.in(n, 1) == null ? null : x.ints(n, x.in(n, 1))) : n.ints("axes");
    }

    private static void squeeze(Exec x, Node n) {
        Value a = x.need(n, 0);
        long[] axes = axes(x, n);
        List<Long> dims = new ArrayList<>();
        boolean[] drop = new boolean[a.shape.length];
        if (axes == null) {
            for (int k = 0; k < drop.length; k++) {
                drop[k] = a.shape[k] == 1;
            }
        } else {
            for (long ax : axes) {
                int k = Shapes.axis(ax, a.shape.length);
                if (a.shape[k] != 1) {
                    throw n.error("cannot squeeze dimension " + k + " of " + Arrays.toString(a.shape));
                }
                drop[k] = true;
            }
        }
        for (int k = 0; k < drop.length; k++) {
            if (!drop[k]) {
                dims.add(a.shape[k]);
            }
        }
        x.out(n, 0, a.reshaped(dims.stream().mapToLong(Long::longValue).toArray()));
    }

    private static void unsqueeze(Exec x, Node n) {
        Value a = x.need(n, 0);
        long[] axes = axes(x, n);
        int rank = a.shape.length + axes.length;
        boolean[] added = new boolean[rank];
        for (long ax : axes) {
            added[Shapes.axis(ax, rank)] = true;
        }
        long[] shape = new long[rank];
        for (int k = 0, j = 0; k < rank; k++) {
            shape[k] = added[k] ? 1 : a.shape[j++];
        }
        x.out(n, 0, a.reshaped(shape));
    }

    private static void transpose(Exec x, Node n) {
        Value a = x.need(n, 0);
        int rank = a.shape.length;
        long[] perm = permutation(n.ints("perm"), rank);
        long[] strides = Shapes.strides(a.shape);
        long[] shape = new long[rank];
        long[] src = new long[rank];
        // moving only dimensions of size 1 (attention's heads back to rows when decoding one token) keeps the layout: a view
        boolean inOrder = true;
        for (int k = 0, last = -1; k < rank; k++) {
            shape[k] = a.shape[(int) perm[k]];
            src[k] = strides[(int) perm[k]];
            if (shape[k] != 1) {
                inOrder &= perm[k] > last;
                last = (int) perm[k];
            }
        }
        if (inOrder) {
            x.out(n, 0, a.reshaped(shape));
            return;
        }
        Value out = x.allocate(a.dtype, shape);
        x.copy(a, 0, src, out, 0, Shapes.strides(shape), shape);
        x.out(n, 0, out);
    }

    /** A Transpose's permutation; absent or empty, the dimensions reversed. */
    static long[] permutation(long[] perm, int rank) {
        if (perm != null && perm.length > 0) {
            return perm;
        }
        long[] reversed = new long[rank];
        for (int k = 0; k < rank; k++) {
            reversed[k] = rank - 1 - k;
        }
        return reversed;
    }

    private static void slice(Exec x, Node n) {
        Value a = x.need(n, 0);
        int rank = a.shape.length;
        long[] starts, ends, axes, steps;
        if (n.opset < 10) {
            starts = n.ints("starts");
            ends = n.ints("ends");
            axes = n.ints("axes");
            steps = null;
        } else {
            starts = x.ints(n, x.need(n, 1));
            ends = x.ints(n, x.need(n, 2));
            axes = x.in(n, 3) == null ? null : x.ints(n, x.in(n, 3));
            steps = x.in(n, 4) == null ? null : x.ints(n, x.in(n, 4));
        }
        long[] shape = a.shape.clone();
        long[] strides = Shapes.strides(a.shape);
        long[] src = strides.clone();
        long offset = 0;
        for (int i = 0; i < starts.length; i++) {
            int ax = axes == null ? i : Shapes.axis(axes[i], rank);
            long dim = a.shape[ax];
            long step = steps == null ? 1 : steps[i];
            if (step == 0) {
                throw n.error("step 0");
            }
            long s = starts[i] < 0 ? starts[i] + dim : starts[i];
            long e = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (step > 0) {
                s = Math.max(0, Math.min(dim, s));
                e = Math.max(0, Math.min(dim, e));
            } else {
                s = Math.max(-1, Math.min(dim - 1, s));
                e = Math.max(-1, Math.min(dim - 1, e));
            }
            long len = step > 0 ? Math.max(0, (e - s + step - 1) / step) : Math.max(0, (s - e - step - 1) / -step);
            shape[ax] = len;
            src[ax] = strides[ax] * step;
            if (len > 0) {
                offset += s * strides[ax];
            }
        }
        Value out = x.allocate(a.dtype, shape);
        x.copy(a, offset, src, out, 0, Shapes.strides(shape), shape);
        x.out(n, 0, out);
    }

    private static void expand(Exec x, Node n) {
        Value a = x.need(n, 0);
        long[] shape = Shapes.broadcast(a.shape, x.ints(n, x.need(n, 1)));
        Value out = x.allocate(a.dtype, shape);
        x.copy(a, 0, Shapes.broadcastStrides(a.shape, shape), out, 0, Shapes.strides(shape), shape);
        x.out(n, 0, out);
    }

    /** Concatenation, reading each input as {@link Exec#view} gives it. */
    private static void concat(Exec x, Node n) {
        Exec.View[] in = new Exec.View[x.inputCount(n)];
        for (int i = 0; i < in.length; i++) {
            in[i] = x.view(n, i);
        }
        Value first = in[0].value();
        int rank = in[0].shape().length;
        int axis = Shapes.axis(n.i("axis", 0), rank);
        long[] shape = in[0].shape().clone();
        shape[axis] = 0;
        for (int i = 0; i < in.length; i++) {
            Value v = in[i].value();
            if (in[i].shape().length != rank || v.dtype != first.dtype) {
                throw new InvalidRequestException(n.op + " node '" + n.name + "': input " + i + " is " + v.dtype
                        + Arrays.toString(in[i].shape()) + ", input 0 is " + first.dtype + Arrays.toString(in[0].shape()));
            }
            shape[axis] += in[i].shape()[axis];
        }
        Value out = x.allocate(first.dtype, shape);
        long[] dst = Shapes.strides(shape);
        long at = 0;
        for (Exec.View v : in) {
            x.copy(v.value(), v.offset(), v.strides(), out, at * dst[axis], dst, v.shape());
            at += v.shape()[axis];
        }
        x.out(n, 0, out);
    }

    private static void split(Exec x, Node n) {
        Value a = x.need(n, 0);
        int axis = Shapes.axis(n.i("axis", 0), a.shape.length);
        long[] sizes = n.opset >= 13 ? (x.in(n, 1) == null ? null : x.ints(n, x.in(n, 1))) : n.ints("split");
        int parts = n.outputs.length;
        if (sizes == null) {
            long dim = a.shape[axis];
            long chunk = (dim + parts - 1) / parts;
            sizes = new long[parts];
            for (int k = 0; k < parts; k++) {
                sizes[k] = Math.max(0, Math.min(chunk, dim - k * chunk));
            }
        }
        long[] src = Shapes.strides(a.shape);
        // with nothing outside the axis each part is a contiguous run of the input: a view, where Fusion found readers that take one
        boolean views = a.isFloat() && n.i(Fusion.SLICED, 0) == 1 && Shapes.size(a.shape, 0, axis) == 1;
        if (views) {
            x.buffer(a);
        }
        long at = 0;
        for (int k = 0; k < sizes.length; k++) {
            long[] shape = a.shape.clone();
            shape[axis] = sizes[k];
            if (x.wants(n, k)) {
                Value out = views ? a.view(shape, at * src[axis]) : x.allocate(a.dtype, shape);
                if (!views) {
                    x.copy(a, at * src[axis], src, out, 0, Shapes.strides(shape), shape);
                }
                x.out(n, k, out);
            }
            at += sizes[k];
        }
    }

    private static void tile(Exec x, Node n) {
        Value a = x.need(n, 0);
        long[] repeats = x.ints(n, x.need(n, 1));
        int rank = a.shape.length;
        long[] shape = new long[rank];
        for (int k = 0; k < rank; k++) {
            shape[k] = a.shape[k] * repeats[k];
        }
        Value out = x.allocate(a.dtype, shape);
        long[] dst = Shapes.strides(shape);
        long[] src = Shapes.strides(a.shape);
        long[] blockStrides = new long[rank];
        for (int k = 0; k < rank; k++) {
            blockStrides[k] = a.shape[k] * dst[k];
        }
        for (int start : Exec.offsets(repeats, blockStrides)[0]) {
            x.copy(a, 0, src, out, start, dst, a.shape);
        }
        x.out(n, 0, out);
    }

    private static void pad(Exec x, Node n) {
        Value a = x.need(n, 0);
        String mode = n.s("mode", "constant");
        if (!mode.equals("constant")) {
            throw n.error("mode '" + mode + "' is not implemented (constant only)");
        }
        int rank = a.shape.length;
        long[] given = n.opset >= 11 ? x.ints(n, x.need(n, 1)) : n.ints("pads");
        long[] axes = n.opset >= 18 && x.in(n, 3) != null ? x.ints(n, x.in(n, 3)) : null;
        long[] pads = new long[2 * rank];
        int count = axes == null ? rank : axes.length;
        for (int i = 0; i < count; i++) {
            int ax = axes == null ? i : Shapes.axis(axes[i], rank);
            pads[ax] = given[i];
            pads[ax + rank] = given[i + count];
        }
        double fill = n.opset >= 11 ? (x.in(n, 2) == null ? 0 : x.numbers(x.in(n, 2))[0]) : n.f("value", 0);
        long[] shape = new long[rank];
        long[] inner = new long[rank];
        long srcOffset = 0, dstOffset = 0;
        long[] srcStrides = Shapes.strides(a.shape);
        for (int k = 0; k < rank; k++) {
            shape[k] = a.shape[k] + pads[k] + pads[k + rank];
            inner[k] = Math.max(0, a.shape[k] + Math.min(0, pads[k]) + Math.min(0, pads[k + rank]));
        }
        long[] dstStrides = Shapes.strides(shape);
        for (int k = 0; k < rank; k++) {
            srcOffset += Math.max(0, -pads[k]) * srcStrides[k];
            dstOffset += Math.max(0, pads[k]) * dstStrides[k];
        }
        Value out = x.allocate(a.dtype, shape);
        long total = Shapes.size(shape);
        if (out.isFloat()) {
            x.kernel("fill").mem(out.buffer).f(fill).i(total).run(total);
        } else {
            Arrays.fill(out.ints, (long) fill);
        }
        x.copy(a, srcOffset, srcStrides, out, dstOffset, dstStrides, inner);
        x.out(n, 0, out);
    }

    private static void gather(Exec x, Node n) {
        Value data = x.need(n, 0);
        Value idx = x.need(n, 1);
        int rank = data.shape.length;
        int axis = Shapes.axis(n.i("axis", 0), rank);
        long axisLen = data.shape[axis];
        long[] indices = x.ints(n, idx);
        for (long i : indices) {
            if (i < -axisLen || i >= axisLen) {
                throw new InvalidRequestException(n.op + " node '" + n.name + "': index " + i + " is out of range [" + -axisLen
                        + ", " + axisLen + ")");
            }
        }
        long[] shape = new long[rank - 1 + idx.shape.length];
        System.arraycopy(data.shape, 0, shape, 0, axis);
        System.arraycopy(idx.shape, 0, shape, axis, idx.shape.length);
        System.arraycopy(data.shape, axis + 1, shape, axis + idx.shape.length, rank - axis - 1);
        long inner = Shapes.size(data.shape, axis + 1, rank);
        long count = Shapes.size(shape);
        if (data.isFloat()) {
            Value out = x.allocate(shape);
            x.kernel("gather").mem(out.buffer).mem(x.buffer(data)).mem(x.buffer(idx)).i(axisLen).i(inner)
                    .i(indices.length).i(count).run(count);
            x.out(n, 0, out);
            return;
        }
        long[] v = new long[Math.toIntExact(count)];
        for (int k = 0; k < v.length; k++) {
            long in = k % inner;
            long j = (k / inner) % indices.length;
            long o = k / (inner * indices.length);
            long id = indices[(int) j] < 0 ? indices[(int) j] + axisLen : indices[(int) j];
            v[k] = data.ints[(int) ((o * axisLen + id) * inner + in)];
        }
        x.out(n, 0, Value.ofInts(data.dtype, shape, v));
    }
}
