package io.triptych.backend.opencl;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Every operator the backend implements, by {@code domain:OpType}; exactly what {@code supports} reports. */
final class Operators {
    /** Folded into initializers when a graph is compiled, so no kernel runs it. */
    static final String CONSTANT = "ai.onnx:Constant";
    private static final Map<String, Op> OPS;

    static {
        Map<String, Op> ops = new HashMap<>();
        ElementwiseOps.register(ops);
        ShapeOps.register(ops);
        NnOps.register(ops);
        ContribOps.register(ops);
        OPS = Collections.unmodifiableMap(ops);
    }

    private Operators() {
    }

    static Op get(String operator) {
        return OPS.get(operator);
    }

    static boolean supports(String operator) {
        return OPS.containsKey(operator) || operator.equals(CONSTANT);
    }

    /** The operator ids, sorted. */
    static Set<String> all() {
        Set<String> all = new TreeSet<>(OPS.keySet());
        all.add(CONSTANT);
        return Collections.unmodifiableSet(all);
    }
}
