package io.triptych.backend.opencl;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.ModelLoadException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.api.tensor.TensorSpec;
import io.triptych.onnx.OnnxModelReader;
import io.triptych.onnx.proto.Onnx.AttributeProto;
import io.triptych.onnx.proto.Onnx.GraphProto;
import io.triptych.onnx.proto.Onnx.ModelProto;
import io.triptych.onnx.proto.Onnx.NodeProto;
import io.triptych.onnx.proto.Onnx.OperatorSetIdProto;
import io.triptych.onnx.proto.Onnx.TensorProto;

/**
 * An ONNX graph scheduled on one OpenCL device: nodes in topological order, initializers and
 * folded constants uploaded once, each intermediate released to the device's buffer pool after its
 * last reader. Shapes are worked out as the graph runs, so dynamic dimensions need no plan.
 * Runs take the device lock, one at a time per device.
 */
final class OpenClModel implements CompiledModel {
    private static final Set<DType> HELD = Set.of(DType.FLOAT32, DType.INT64, DType.INT32, DType.INT8, DType.UINT8, DType.BOOL);
    /** Small float constants keep a host copy so that operators reading them as parameters need no read-back. */
    private static final int HOST_COPY_LIMIT = 64;

    private final ClDevice device;
    private final ModelPart part;
    private final Value[] initial;
    private final List<Node> schedule;
    private final int[] lastUse;
    /** Kernel objects of this model's launch sites, created on first use and kept across runs. */
    private final Map<Exec.Site, ClDevice.Kernel> kernels = new HashMap<>();
    private final Map<String, Integer> inputSlots = new LinkedHashMap<>();
    private final Map<String, Integer> outputSlots = new LinkedHashMap<>();
    private boolean closed;

    OpenClModel(ClDevice device, ModelPart part) {
        this.device = device;
        this.part = part;
        for (TensorSpec s : part.inputs()) {
            requireHeld("input", s);
        }
        for (TensorSpec s : part.outputs()) {
            requireHeld("output", s);
        }
        ModelProto model = OnnxModelReader.parse(part.file());
        GraphProto graph = model.getGraph();
        Map<String, Integer> opsets = new HashMap<>();
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            opsets.put(o.getDomain().isEmpty() ? ModelPart.DEFAULT_DOMAIN : o.getDomain(), (int) o.getVersion());
        }
        Map<String, Integer> slots = new HashMap<>();
        List<Value> values = new ArrayList<>();
        Path folder = part.file().toAbsolutePath().getParent();
        device.lock().lock();
        try {
            for (TensorProto t : graph.getInitializerList()) {
                values.add(pin(Initializers.decode(t, folder)));
                slots.put(t.getName(), values.size() - 1);
            }
            List<NodeProto> nodes = new ArrayList<>();
            for (NodeProto node : graph.getNodeList()) {
                if (OnnxModelReader.operatorId(node).equals(Operators.CONSTANT)) {
                    values.add(pin(constant(node, folder)));
                    slots.put(node.getOutput(0), values.size() - 1);
                } else {
                    nodes.add(node);
                }
            }
            for (TensorSpec s : part.inputs()) {
                values.add(null);
                slots.put(s.name(), values.size() - 1);
                inputSlots.put(s.name(), values.size() - 1);
            }
            List<Node> order = schedule(nodes, slots, values, opsets);
            for (TensorSpec s : part.outputs()) {
                Integer slot = slots.get(s.name());
                if (slot == null) {
                    throw new ModelLoadException("graph output '" + s.name() + "' is produced by no node");
                }
                outputSlots.put(s.name(), slot);
            }
            this.initial = values.toArray(new Value[0]);
            this.schedule = Fusion.fuse(order, initial, outputSlots.values());
            this.lastUse = new int[initial.length];
            Arrays.fill(lastUse, -1);
            for (int i = 0; i < schedule.size(); i++) {
                for (int in : schedule.get(i).inputs) {
                    if (in >= 0) {
                        lastUse[in] = i;
                    }
                }
            }
            outputSlots.values().forEach(s -> lastUse[s] = Integer.MAX_VALUE);
        } catch (RuntimeException e) {
            values.stream().filter(v -> v != null).forEach(Value::unpin);
            throw e;
        } finally {
            device.lock().unlock();
        }
    }

    private void requireHeld(String what, TensorSpec s) {
        if (s.dtype() == null || !HELD.contains(s.dtype())) {
            throw new ModelLoadException("the opencl backend runs float32 graphs; " + what + " '" + s.name() + "' of "
                    + part.name() + " is " + (s.dtype() == null ? "not a tensor type it holds" : s.dtype()));
        }
    }

    /** Float initializers go to the device now, once. */
    private Value pin(Value v) {
        v.pinned = true;
        if (v.isFloat()) {
            v.buffer = device.allocate(v.size() * 4);
            device.write(v.buffer, v.floats);
            if (v.size() > HOST_COPY_LIMIT) {
                v.floats = null;
            }
        }
        return v;
    }

    private static Value constant(NodeProto node, Path folder) {
        for (AttributeProto a : node.getAttributeList()) {
            switch (a.getName()) {
                case "value":
                    return Initializers.decode(a.getT(), folder);
                case "value_float":
                    return Value.ofFloats(new long[0], new float[] {a.getF()});
                case "value_floats":
                    float[] f = new float[a.getFloatsCount()];
                    for (int k = 0; k < f.length; k++) {
                        f[k] = a.getFloats(k);
                    }
                    return Value.ofFloats(new long[] {f.length}, f);
                case "value_int":
                    return Value.ofInts(DType.INT64, new long[0], new long[] {a.getI()});
                case "value_ints":
                    return Value.ofInts(DType.INT64, new long[] {a.getIntsCount()}, a.getIntsList().stream().mapToLong(Long::longValue).toArray());
                default:
                    break;
            }
        }
        throw new ModelLoadException("Constant node '" + node.getName() + "' has no value this backend reads (sparse or string)");
    }

    /** Kahn's algorithm over value availability; slots for every node output are added as nodes are placed. */
    private static List<Node> schedule(List<NodeProto> nodes, Map<String, Integer> slots, List<Value> values, Map<String, Integer> opsets) {
        Map<String, List<Integer>> readers = new HashMap<>();
        int[] waiting = new int[nodes.size()];
        for (int i = 0; i < nodes.size(); i++) {
            for (String in : nodes.get(i).getInputList()) {
                if (!in.isEmpty() && !slots.containsKey(in)) {
                    readers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
                    waiting[i]++;
                }
            }
        }
        ArrayDeque<Integer> ready = new ArrayDeque<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (waiting[i] == 0) {
                ready.add(i);
            }
        }
        List<Node> order = new ArrayList<>();
        while (!ready.isEmpty()) {
            NodeProto p = nodes.get(ready.poll());
            String op = OnnxModelReader.operatorId(p);
            int[] in = p.getInputList().stream().mapToInt(s -> s.isEmpty() ? -1 : slots.get(s)).toArray();
            int[] out = new int[p.getOutputCount()];
            for (int k = 0; k < out.length; k++) {
                String name = p.getOutput(k);
                if (name.isEmpty()) {
                    out[k] = -1;
                    continue;
                }
                values.add(null);
                out[k] = values.size() - 1;
                slots.put(name, out[k]);
                for (int reader : readers.getOrDefault(name, List.of())) {
                    if (--waiting[reader] == 0) {
                        ready.add(reader);
                    }
                }
            }
            order.add(new Node(op, p, in, out, opsets.getOrDefault(op.substring(0, op.lastIndexOf(':')), 1)));
        }
        if (order.size() != nodes.size()) {
            throw new ModelLoadException("the graph has a cycle or reads values no node produces ("
                    + (nodes.size() - order.size()) + " nodes cannot be scheduled)");
        }
        return order;
    }

    @Override
    public String backendId() {
        return OpenClBackend.ID;
    }

    @Override
    public List<TensorSpec> inputs() {
        return part.inputs();
    }

    @Override
    public List<TensorSpec> outputs() {
        return part.outputs();
    }

    @Override
    public Map<String, Tensor> run(Map<String, ? extends Tensor> given, Set<String> outputNames) {
        for (String name : given.keySet()) {
            if (!inputSlots.containsKey(name)) {
                throw new InvalidRequestException("unknown input '" + name + "' (model inputs: " + inputSlots.keySet() + ")");
            }
        }
        for (String name : outputNames) {
            if (!outputSlots.containsKey(name)) {
                throw new InvalidRequestException("unknown output '" + name + "' (model outputs: " + outputSlots.keySet() + ")");
            }
        }
        device.lock().lock();
        Value[] values = initial.clone();
        try {
            if (closed) {
                throw new BackendUnavailableException("the opencl model " + part.name() + " was closed");
            }
            for (TensorSpec spec : part.inputs()) {
                Tensor t = given.get(spec.name());
                if (t == null) {
                    throw new InvalidRequestException("missing input '" + spec.name() + "' (model inputs: " + inputSlots.keySet() + ")");
                }
                check(spec, t);
                values[inputSlots.get(spec.name())] = value(t);
            }
            Exec exec = new Exec(device, values, kernels);
            for (int i = 0; i < schedule.size(); i++) {
                Node node = schedule.get(i);
                exec.at(i);
                node.implementation.run(exec, node);
                for (int k = 0; k < node.outputs.length; k++) {
                    int out = node.outputs[k];
                    if (out < 0) {
                        continue;
                    }
                    if (lastUse[out] < 0 && values[out] != null) {
                        values[out].release(); // an output nobody reads
                        values[out] = null;
                    } else if (lastUse[out] >= 0 && values[out] == null) {
                        throw node.error("output " + k + " is read but not implemented");
                    }
                }
                for (int in : node.inputs) {
                    if (in >= 0 && lastUse[in] == i && values[in] != null) {
                        values[in].release();
                        values[in] = null;
                    }
                }
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<String, Integer> e : outputSlots.entrySet()) {
                if (outputNames.isEmpty() || outputNames.contains(e.getKey())) {
                    out.put(e.getKey(), tensor(exec, values[e.getValue()]));
                }
            }
            return out;
        } finally {
            for (Value v : values) {
                if (v != null) {
                    v.release();
                }
            }
            device.lock().unlock();
        }
    }

    private Value value(Tensor t) {
        long[] shape = t.shape();
        if (t instanceof DeviceTensor d && d.device() == device) {
            return Value.onDevice(shape, d.retainBuffer());
        }
        if (t.dtype() == DType.FLOAT32) {
            Value v = Value.onDevice(shape, device.allocate(Tensor.elementCount(shape) * 4));
            device.write(v.buffer, t.buffer());
            return v;
        }
        return Value.ofInts(t.dtype(), shape, t.toLongArray());
    }

    private Tensor tensor(Exec exec, Value v) {
        if (v.isFloat()) {
            return new DeviceTensor(device, v.shape, exec.buffer(v).retain());
        }
        Tensor t = Tensor.allocate(v.dtype, v.shape);
        var b = t.buffer();
        for (int k = 0; k < v.ints.length; k++) {
            switch (v.dtype) {
                case INT64 -> b.putLong(k * 8, v.ints[k]);
                case INT32 -> b.putInt(k * 4, (int) v.ints[k]);
                default -> b.put(k, (byte) v.ints[k]);
            }
        }
        return t;
    }

    private static void check(TensorSpec spec, Tensor t) {
        long[] shape = t.shape();
        long[] declared = spec.shape();
        if (spec.dtype() != t.dtype()) {
            throw new InvalidRequestException("input '" + spec.name() + "' is " + t.dtype() + ", the model expects " + spec.dtype());
        }
        boolean fits = declared.length == shape.length;
        for (int i = 0; fits && i < shape.length; i++) {
            fits = declared[i] < 0 || declared[i] == shape[i];
        }
        if (!fits) {
            throw new InvalidRequestException("input '" + spec.name() + "' has shape " + Arrays.toString(shape) + ", the model expects " + spec);
        }
    }

    @Override
    public void close() {
        device.lock().lock();
        try {
            if (!closed) {
                closed = true;
                device.release(kernels.values());
                kernels.clear();
                for (Value v : initial) {
                    if (v != null) {
                        v.unpin();
                    }
                }
            }
        } finally {
            device.lock().unlock();
        }
    }
}
