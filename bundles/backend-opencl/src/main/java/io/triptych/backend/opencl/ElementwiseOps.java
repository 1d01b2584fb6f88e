package io.triptych.backend.opencl;

import java.util.List;
import java.util.Map;
import java.util.function.LongBinaryOperator;
import java.util.function.LongUnaryOperator;

import io.triptych.api.tensor.DType;

/** Element-wise operators with numpy broadcasting: float32 on the device, integers and booleans on the host. */
final class ElementwiseOps {

    private ElementwiseOps() {
    }

    /** Binary kernel op codes (see {@code apply_binary} in elementwise.cl) with their integer counterparts. */
    private enum Binary {
        ADD(0, Long::sum), SUB(1, (a, b) -> a - b), MUL(2, (a, b) -> a * b), DIV(3, (a, b) -> a / b),
        POW(4, (a, b) -> (long) Math.pow(a, b)), MAX(5, Math::max), MIN(6, Math::min), PRELU(7, (a, b) -> a < 0 ? a * b : a),
        MOD(8, Math::floorMod), FMOD(8, (a, b) -> a % b);

        final int code;
        final LongBinaryOperator ints;

        Binary(int code, LongBinaryOperator ints) {
            this.code = code;
            this.ints = ints;
        }
    }

    /** Unary kernel op codes (see {@code apply_unary} in elementwise.cl). */
    static final int NEG = 0, ABS = 1, SQRT = 2, EXP = 3, LOG = 4, TANH = 5, ERF = 6, RELU = 7, SIGMOID = 8, RECIPROCAL = 9,
            FLOOR = 10, CEIL = 11, SIN = 12, COS = 13, LEAKY_RELU = 14, CLIP = 15, GELU = 16, GELU_TANH = 17, SOFTPLUS = 18,
            ELU = 19, HARD_SIGMOID = 20, ROUND = 21, SIGN = 22, SOFTSIGN = 23, HARD_SWISH = 24;

    private static final Map<String, Binary> BINARY = Map.of("Add", Binary.ADD, "Sub", Binary.SUB, "Mul", Binary.MUL, "Div", Binary.DIV,
            "Pow", Binary.POW, "PRelu", Binary.PRELU);
    private static final Map<String, Binary> VARIADIC = Map.of("Max", Binary.MAX, "Min", Binary.MIN, "Sum", Binary.ADD);
    /** Operators of the unary kernel without parameters, and those of them that also take integers. */
    private static final Map<String, Integer> UNARY = Map.ofEntries(Map.entry("Neg", NEG), Map.entry("Abs", ABS), Map.entry("Sign", SIGN),
            Map.entry("Sqrt", SQRT), Map.entry("Exp", EXP), Map.entry("Log", LOG), Map.entry("Tanh", TANH), Map.entry("Erf", ERF),
            Map.entry("Relu", RELU), Map.entry("Sigmoid", SIGMOID), Map.entry("Reciprocal", RECIPROCAL), Map.entry("Floor", FLOOR),
            Map.entry("Ceil", CEIL), Map.entry("Round", ROUND), Map.entry("Sin", SIN), Map.entry("Cos", COS), Map.entry("Softplus", SOFTPLUS),
            Map.entry("Softsign", SOFTSIGN), Map.entry("HardSwish", HARD_SWISH));
    private static final Map<String, LongUnaryOperator> UNARY_INTS = Map.of("Neg", v -> -v, "Abs", Math::abs, "Sign", Long::signum,
            "Relu", v -> Math.max(v, 0), "Floor", v -> v, "Ceil", v -> v, "Round", v -> v);

    /** One call of the unary kernel: op code and parameters. */
    record UnaryCall(int code, float alpha, float beta) {
    }

    static void register(Map<String, Op> ops) {
        BINARY.forEach((name, op) -> binary(ops, name, op));
        ops.put("ai.onnx:Mod", (x, n) -> x.out(n, 0, binary(x, n, n.i("fmod", 0) == 1 ? Binary.FMOD : Binary.MOD, x.need(n, 0), x.need(n, 1))));
        VARIADIC.forEach((name, op) -> variadic(ops, name, op));
        compare(ops, "Equal", (a, b) -> a == b);
        compare(ops, "Less", (a, b) -> a < b);
        compare(ops, "LessOrEqual", (a, b) -> a <= b);
        compare(ops, "Greater", (a, b) -> a > b);
        compare(ops, "GreaterOrEqual", (a, b) -> a >= b);
        logic(ops, "And", (a, b) -> a & b);
        logic(ops, "Or", (a, b) -> a | b);
        logic(ops, "Xor", (a, b) -> a ^ b);
        ops.put("ai.onnx:Not", (x, n) -> {
            Value a = x.need(n, 0);
            long[] v = x.ints(n, a).clone();
            for (int k = 0; k < v.length; k++) {
                v[k] = v[k] == 0 ? 1 : 0;
            }
            x.out(n, 0, Value.ofInts(DType.BOOL, a.shape, v));
        });
        ops.put("ai.onnx:Where", ElementwiseOps::where);

        UNARY.forEach((name, code) -> unary(ops, name, code, UNARY_INTS.get(name)));
        for (String op : List.of("ai.onnx:LeakyRelu", "ai.onnx:Elu", "ai.onnx:HardSigmoid", "ai.onnx:Gelu", "com.microsoft:Gelu")) {
            ops.put(op, (x, n) -> {
                UnaryCall c = unaryCall(n);
                x.out(n, 0, unary(x, x.need(n, 0), c.code(), c.alpha(), c.beta()));
            });
        }
        ops.put("ai.onnx:Clip", ElementwiseOps::clip);
        ops.put("ai.onnx:Cast", ElementwiseOps::cast);
    }

    /** The unary kernel call that runs a one-input float node, or {@code null} if it is not one. */
    static UnaryCall unaryCall(Node n) {
        return switch (n.op) {
            case "ai.onnx:LeakyRelu" -> new UnaryCall(LEAKY_RELU, n.f("alpha", 0.01f), 0);
            case "ai.onnx:Elu" -> new UnaryCall(ELU, n.f("alpha", 1f), 0);
            case "ai.onnx:HardSigmoid" -> new UnaryCall(HARD_SIGMOID, n.f("alpha", 0.2f), n.f("beta", 0.5f));
            case "ai.onnx:Gelu" -> new UnaryCall(n.s("approximate", "none").equals("tanh") ? GELU_TANH : GELU, 0, 0);
            case "com.microsoft:Gelu" -> new UnaryCall(GELU, 0, 0);
            default -> {
                Integer code = n.op.startsWith("ai.onnx:") ? UNARY.get(n.op.substring(8)) : null;
                yield code == null ? null : new UnaryCall(code, 0, 0);
            }
        };
    }

    /** Whether a generated kernel can run the node when its inputs are float ({@link ElementwiseChain}). */
    static boolean fusible(Node n) {
        return n.inputs.length == 1 ? unaryCall(n) != null : n.inputs.length == 2 && binaryOf(n) != null;
    }

    /** The OpenCL expression of a {@linkplain #fusible fusible} node over its operands, the float operations of its own kernel. */
    static String expression(Node n, String... operands) {
        if (n.inputs.length == 1) {
            UnaryCall c = unaryCall(n);
            return "apply_unary(" + c.code() + ", " + operands[0] + ", " + literal(c.alpha()) + ", " + literal(c.beta()) + ")";
        }
        return "apply_binary(" + binaryOf(n).code + ", " + operands[0] + ", " + operands[1] + ")";
    }

    private static Binary binaryOf(Node n) {
        String name = n.op.startsWith("ai.onnx:") ? n.op.substring(8) : "";
        return BINARY.getOrDefault(name, VARIADIC.get(name));
    }

    /** An exact OpenCL float literal. */
    private static String literal(float v) {
        return Float.isFinite(v) ? Float.toHexString(v) + "f" : Float.isNaN(v) ? "NAN" : v > 0 ? "INFINITY" : "-INFINITY";
    }

    private static void binary(Map<String, Op> ops, String name, Binary op) {
        ops.put("ai.onnx:" + name, (x, n) -> x.out(n, 0, binary(x, n, op, x.need(n, 0), x.need(n, 1))));
    }

    private static void variadic(Map<String, Op> ops, String name, Binary op) {
        ops.put("ai.onnx:" + name, (x, n) -> {
            Value acc = x.need(n, 0);
            Value result = acc.reshaped(acc.shape);
            for (int i = 1; i < x.inputCount(n); i++) {
                Value next = binary(x, n, op, result, x.need(n, i));
                result.release();
                result = next;
            }
            x.out(n, 0, result);
        });
    }

    /** {@code a + b}, broadcast: a residual that a product's epilogue cannot read at the output's offsets. */
    static Value add(Exec x, Node n, Value a, Value b) {
        return binary(x, n, Binary.ADD, a, b);
    }

    /** {@code a op b}, broadcast; on the device when either side is float. */
    private static Value binary(Exec x, Node n, Binary op, Value a, Value b) {
        long[] shape = Shapes.broadcast(a.shape, b.shape);
        long count = Shapes.size(shape);
        if (a.isFloat() || b.isFloat()) {
            if (!a.isFloat() || !b.isFloat()) {
                throw n.error("mixes float and " + (a.isFloat() ? b.dtype : a.dtype) + " inputs");
            }
            Value out = x.allocate(shape);
            long[][] c = Shapes.collapse(shape, Shapes.broadcastStrides(a.shape, shape), Shapes.broadcastStrides(b.shape, shape));
            x.kernel("binary").mem(out.buffer).mem(x.buffer(a)).mem(x.buffer(b)).i(op.code).i(count).i(c[0].length)
                    .i8(c[0]).i8(c[1]).i8(c[2]).run(count);
            return out;
        }
        int[][] off = Exec.offsets(shape, Shapes.broadcastStrides(a.shape, shape), Shapes.broadcastStrides(b.shape, shape));
        long[] av = x.ints(n, a), bv = x.ints(n, b);
        long[] r = new long[off[0].length];
        for (int k = 0; k < r.length; k++) {
            long p = av[off[0][k]], q = bv[off[1][k]];
            if ((op == Binary.DIV || op == Binary.MOD || op == Binary.FMOD) && q == 0) {
                throw n.error("integer division by zero");
            }
            r[k] = op.ints.applyAsLong(p, q);
        }
        return Value.ofInts(a.dtype, shape, narrow(a.dtype, r));
    }

    /** Wraps integer results to the width of their type, as C arithmetic does. */
    static long[] narrow(DType dtype, long[] v) {
        for (int k = 0; k < v.length; k++) {
            v[k] = switch (dtype) {
                case INT32 -> (int) v[k];
                case INT8 -> (byte) v[k];
                case UINT8 -> v[k] & 0xFF;
                case BOOL -> v[k] != 0 ? 1 : 0;
                default -> v[k];
            };
        }
        return v;
    }

    private interface Comparison {
        boolean test(double a, double b);
    }

    /** Comparisons produce booleans, which live on the host; float operands are read back. */
    private static void compare(Map<String, Op> ops, String name, Comparison c) {
        ops.put("ai.onnx:" + name, (x, n) -> {
            Value a = x.need(n, 0), b = x.need(n, 1);
            long[] shape = Shapes.broadcast(a.shape, b.shape);
            int[][] off = Exec.offsets(shape, Shapes.broadcastStrides(a.shape, shape), Shapes.broadcastStrides(b.shape, shape));
            double[] av = x.numbers(a), bv = x.numbers(b);
            long[] r = new long[off[0].length];
            for (int k = 0; k < r.length; k++) {
                r[k] = c.test(av[off[0][k]], bv[off[1][k]]) ? 1 : 0;
            }
            x.out(n, 0, Value.ofInts(DType.BOOL, shape, r));
        });
    }

    private static void logic(Map<String, Op> ops, String name, LongBinaryOperator f) {
        ops.put("ai.onnx:" + name, (x, n) -> {
            Value a = x.need(n, 0), b = x.need(n, 1);
            long[] shape = Shapes.broadcast(a.shape, b.shape);
            int[][] off = Exec.offsets(shape, Shapes.broadcastStrides(a.shape, shape), Shapes.broadcastStrides(b.shape, shape));
            long[] av = x.ints(n, a), bv = x.ints(n, b);
            long[] r = new long[off[0].length];
            for (int k = 0; k < r.length; k++) {
                r[k] = f.applyAsLong(av[off[0][k]] != 0 ? 1 : 0, bv[off[1][k]] != 0 ? 1 : 0);
            }
            x.out(n, 0, Value.ofInts(DType.BOOL, shape, r));
        });
    }

    private static void where(Exec x, Node n) {
        Value cond = x.need(n, 0), a = x.need(n, 1), b = x.need(n, 2);
        long[] shape = Shapes.broadcast(cond.shape, Shapes.broadcast(a.shape, b.shape));
        long[] sc = Shapes.broadcastStrides(cond.shape, shape), sa = Shapes.broadcastStrides(a.shape, shape),
                sb = Shapes.broadcastStrides(b.shape, shape);
        long count = Shapes.size(shape);
        if (a.isFloat()) {
            Value out = x.allocate(shape);
            long[][] c = Shapes.collapse(shape, sc, sa, sb);
            x.kernel("where_select").mem(out.buffer).mem(x.buffer(cond)).mem(x.buffer(a)).mem(x.buffer(b)).i(count)
                    .i(c[0].length).i8(c[0]).i8(c[1]).i8(c[2]).i8(c[3]).run(count);
            x.out(n, 0, out);
            return;
        }
        int[][] off = Exec.offsets(shape, sc, sa, sb);
        long[] cv = x.ints(n, cond), av = x.ints(n, a), bv = x.ints(n, b);
        long[] r = new long[(int) count];
        for (int k = 0; k < r.length; k++) {
            r[k] = cv[off[0][k]] != 0 ? av[off[1][k]] : bv[off[2][k]];
        }
        x.out(n, 0, Value.ofInts(a.dtype, shape, r));
    }

    private static void unary(Map<String, Op> ops, String name, int code, LongUnaryOperator ints) {
        ops.put("ai.onnx:" + name, (x, n) -> {
            Value a = x.need(n, 0);
            if (a.isFloat()) {
                x.out(n, 0, unary(x, a, code, 0, 0));
            } else if (ints != null) {
                long[] v = a.ints.clone();
                for (int k = 0; k < v.length; k++) {
                    v[k] = ints.applyAsLong(v[k]);
                }
                x.out(n, 0, Value.ofInts(a.dtype, a.shape, narrow(a.dtype, v)));
            } else {
                throw n.error("is implemented for float tensors, got " + a.dtype);
            }
        });
    }

    static Value unary(Exec x, Value a, int code, float alpha, float beta) {
        Value out = x.allocate(a.shape);
        long count = a.size();
        x.kernel("unary").mem(out.buffer).mem(x.buffer(a)).i(code).i(count).f(alpha).f(beta).run(count);
        return out;
    }

    private static void clip(Exec x, Node n) {
        Value a = x.need(n, 0);
        Value lo = x.in(n, 1), hi = x.in(n, 2);
        if (a.isFloat()) {
            float min = lo != null ? x.floats(lo)[0] : n.f("min", Float.NEGATIVE_INFINITY);
            float max = hi != null ? x.floats(hi)[0] : n.f("max", Float.POSITIVE_INFINITY);
            x.out(n, 0, unary(x, a, CLIP, min, max));
            return;
        }
        long min = lo != null ? x.scalar(n, lo) : Long.MIN_VALUE;
        long max = hi != null ? x.scalar(n, hi) : Long.MAX_VALUE;
        long[] v = a.ints.clone();
        for (int k = 0; k < v.length; k++) {
            v[k] = Math.min(Math.max(v[k], min), max);
        }
        x.out(n, 0, Value.ofInts(a.dtype, a.shape, v));
    }

    private static void cast(Exec x, Node n) {
        Value a = x.need(n, 0);
        DType to = DType.fromOnnxCode((int) n.i("to", 0));
        if (to == null || to == DType.FLOAT16 || to == DType.FLOAT64) {
            throw n.error("cannot cast to ONNX type " + n.i("to", 0) + " (the opencl backend computes in float32)");
        }
        if (to == DType.FLOAT32) {
            if (a.isFloat()) {
                x.out(n, 0, a.reshaped(a.shape));
            } else {
                float[] f = new float[a.ints.length];
                for (int k = 0; k < f.length; k++) {
                    f[k] = a.dtype == DType.BOOL ? (a.ints[k] != 0 ? 1f : 0f) : a.ints[k];
                }
                x.out(n, 0, Value.ofFloats(a.shape, f));
            }
            return;
        }
        long[] v;
        if (a.isFloat()) {
            float[] f = x.floats(a);
            v = new long[f.length];
            for (int k = 0; k < f.length; k++) {
                v[k] = to == DType.BOOL ? (f[k] != 0 ? 1 : 0) : (long) f[k];
            }
        } else {
            v = a.ints.clone();
        }
        x.out(n, 0, Value.ofInts(to, a.shape, narrow(to, v)));
    }
}
