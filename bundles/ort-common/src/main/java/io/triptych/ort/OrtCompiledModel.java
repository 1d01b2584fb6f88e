package io.triptych.ort;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.triptych.api.BackendUnavailableException;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.TriptychException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.api.tensor.TensorSpec;

/**
 * One ONNX Runtime session, on whichever execution providers its options named. Outputs come back
 * as {@link OrtTensor}s in ONNX Runtime's memory, used in place when fed to a later run. Runs share
 * a read lock so that {@link #close()} waits for them.
 */
public final class OrtCompiledModel implements CompiledModel {
    private final String backendId;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final Map<String, TensorSpec> inputsByName = new HashMap<>();
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    /**
     * Wraps a session; closing this model closes the session.
     *
     * @param backendId the id of the backend that created the session, used in messages
     * @throws OrtException if the session's signature cannot be read
     */
    public OrtCompiledModel(String backendId, OrtEnvironment env, OrtSession session) throws OrtException {
        this.backendId = backendId;
        this.env = env;
        this.session = session;
        this.inputs = specs(session.getInputInfo());
        this.outputs = specs(session.getOutputInfo());
        inputs.forEach(s -> inputsByName.put(s.name(), s));
    }

    @Override
    public String backendId() {
        return backendId;
    }

    @Override
    public List<TensorSpec> inputs() {
        return inputs;
    }

    @Override
    public List<TensorSpec> outputs() {
        return outputs;
    }

    @Override
    public Map<String, Tensor> run(Map<String, ? extends Tensor> given, Set<String> outputNames) {
        lock.readLock().lock();
        Map<String, OnnxTensor> created = new HashMap<>();
        try {
            if (closed) {
                throw new BackendUnavailableException("the " + backendId + " model was closed");
            }
            Map<String, OnnxTensor> feed = new HashMap<>();
            for (TensorSpec spec : inputs) {
                Tensor t = given.get(spec.name());
                if (t == null) {
                    throw new InvalidRequestException("missing input '" + spec.name() + "' (model inputs: " + inputsByName.keySet() + ")");
                }
                check(spec, t);
                if (t instanceof OrtTensor own) {
                    feed.put(spec.name(), own.value());
                } else {
                    OnnxTensor onnx = OnnxTensor.createTensor(env, t.buffer(), t.shape(), javaType(t.dtype()));
                    created.put(spec.name(), onnx);
                    feed.put(spec.name(), onnx);
                }
            }
            for (String name : given.keySet()) {
                if (!inputsByName.containsKey(name)) {
                    throw new InvalidRequestException("unknown input '" + name + "' (model inputs: " + inputsByName.keySet() + ")");
                }
            }
            OrtSession.Result result = outputNames.isEmpty() ? session.run(feed) : session.run(feed, outputNames);
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<String, OnnxValue> e : result) {
                if (!(e.getValue() instanceof OnnxTensor tensor)) {
                    e.getValue().close();
                    throw new TriptychException("output '" + e.getKey() + "' is not a tensor");
                }
                out.put(e.getKey(), new OrtTensor(tensor, dtype(tensor.getInfo().type)));
            }
            return out;
        } catch (OrtException e) {
            throw new InvalidRequestException(backendId + " run failed: " + e.getMessage(), e);
        } finally {
            created.values().forEach(OnnxTensor::close);
            lock.readLock().unlock();
        }
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                session.close();
            }
        } catch (OrtException e) {
            throw new TriptychException("closing an ONNX Runtime session failed: " + e.getMessage(), e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    private static void check(TensorSpec spec, Tensor t) {
        long[] shape = t.shape();
        if (spec.dtype() != null && spec.dtype() != t.dtype()) {
            throw new InvalidRequestException("input '" + spec.name() + "' is " + t.dtype() + ", the model expects " + spec.dtype());
        }
        long[] declared = spec.shape();
        if (declared.length != shape.length) {
            throw new InvalidRequestException("input '" + spec.name() + "' has shape " + Arrays.toString(shape)
                    + ", the model expects rank " + declared.length + " " + spec);
        }
        for (int i = 0; i < shape.length; i++) {
            if (declared[i] >= 0 && declared[i] != shape[i]) {
                throw new InvalidRequestException("input '" + spec.name() + "' has shape " + Arrays.toString(shape)
                        + ", the model expects " + spec);
            }
        }
    }

    private static List<TensorSpec> specs(Map<String, NodeInfo> infos) {
        List<TensorSpec> specs = new ArrayList<>();
        for (NodeInfo node : infos.values()) {
            if (node.getInfo() instanceof TensorInfo info) {
                String[] names = info.getDimensionNames();
                specs.add(new TensorSpec(node.getName(), dtype(info.type), info.getShape(), Arrays.asList(names)));
            } else {
                specs.add(new TensorSpec(node.getName(), null, new long[0], List.of()));
            }
        }
        return List.copyOf(specs);
    }

    private static DType dtype(OnnxJavaType type) {
        return switch (type) {
            case FLOAT -> DType.FLOAT32;
            case FLOAT16 -> DType.FLOAT16;
            case DOUBLE -> DType.FLOAT64;
            case INT8 -> DType.INT8;
            case UINT8 -> DType.UINT8;
            case INT32 -> DType.INT32;
            case INT64 -> DType.INT64;
            case BOOL -> DType.BOOL;
            default -> null;
        };
    }

    private static OnnxJavaType javaType(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> OnnxJavaType.FLOAT;
            case FLOAT16 -> OnnxJavaType.FLOAT16;
            case FLOAT64 -> OnnxJavaType.DOUBLE;
            case INT8 -> OnnxJavaType.INT8;
            case UINT8 -> OnnxJavaType.UINT8;
            case INT32 -> OnnxJavaType.INT32;
            case INT64 -> OnnxJavaType.INT64;
            case BOOL -> OnnxJavaType.BOOL;
        };
    }

}
