package io.triptych.backend.ortcuda;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import io.triptych.api.BackendUnavailableException;
import io.triptych.api.TriptychException;
import io.triptych.api.tensor.Tensor;
import io.triptych.onnx.proto.Onnx.GraphProto;
import io.triptych.onnx.proto.Onnx.ModelProto;
import io.triptych.onnx.proto.Onnx.NodeProto;
import io.triptych.onnx.proto.Onnx.OperatorSetIdProto;
import io.triptych.onnx.proto.Onnx.TensorShapeProto;
import io.triptych.onnx.proto.Onnx.TypeProto;
import io.triptych.onnx.proto.Onnx.ValueInfoProto;
import io.triptych.ort.OrtCompiledModel;

/**
 * Finds the GPUs {@code ort-cuda} can really use: on each device it opens a session of a one-node
 * model (a + b) on the CUDA provider with CPU fallback disabled, runs it and checks the sum.
 * Anything short of that is a one-line reason, shown by {@code triptych backends}.
 */
final class CudaProbe {
    private static final Logger LOG = LoggerFactory.getLogger(CudaProbe.class);

    /** An upper bound on device ordinals tried when every GPU is wanted; enumeration stops at the first absent one. */
    private static final int MAX_DEVICES = 64;

    private static final float[] A = {1.5f, -2f};
    private static final float[] B = {2.25f, 8f};
    private static final float[] SUM = {3.75f, 6f};

    /** What the probe found: backends to register, and the unavailable ones with their reasons. */
    record Discovery(List<OrtCudaBackend> backends, List<UnavailableCuda> unavailable) {
    }

    /** One device's outcome: usable, absent (no such ordinal), or failing for {@code reason}. */
    private record Outcome(boolean usable, boolean absent, String reason) {
        static final Outcome USABLE = new Outcome(true, false, null);
    }

    private CudaProbe() {
    }

    /** Probes the configured device, or every device from 0 up to the first that is absent or fails. */
    static Discovery discover(OrtEnvironment env, CudaSettings settings) {
        List<OrtCudaBackend> backends = new ArrayList<>();
        List<UnavailableCuda> unavailable = new ArrayList<>();
        String buildProblem = buildProblem(OrtEnvironment.getAvailableProviders());
        if (buildProblem != null) {
            unavailable.add(new UnavailableCuda(OrtCudaBackend.id(Math.max(settings.deviceId(), 0)), buildProblem));
            return new Discovery(backends, unavailable);
        }
        boolean every = settings.deviceId() < 0;
        int first = every ? 0 : settings.deviceId();
        int last = every ? MAX_DEVICES - 1 : settings.deviceId();
        for (int device = first; device <= last; device++) {
            Outcome o = probe(env, settings, device);
            if (o.usable()) {
                backends.add(new OrtCudaBackend(env, settings, device));
                continue;
            }
            if (!(every && device > 0 && o.absent())) {
                unavailable.add(new UnavailableCuda(OrtCudaBackend.id(device), o.reason()));
            }
            break;
        }
        return new Discovery(backends, unavailable);
    }

    /** Why the loaded ONNX Runtime cannot run CUDA at all, or {@code null} if it has the CUDA provider. */
    static String buildProblem(Set<OrtProvider> available) {
        if (available.contains(OrtProvider.CUDA)) {
            return null;
        }
        List<String> names = available.stream().sorted().map(OrtProvider::getName).toList();
        return "this ONNX Runtime build has no CUDA provider (available: " + names + "); the CUDA distribution (mvn -Pcuda) has one";
    }

    private static Outcome probe(OrtEnvironment env, CudaSettings settings, int device) {
        OrtSession session;
        try {
            session = settings.open(device, options -> env.createSession(probeModel(), options));
        } catch (BackendUnavailableException e) {
            return new Outcome(false, false, e.getMessage());
        } catch (OrtException e) {
            return sessionFailure(device, e);
        }
        OrtCompiledModel model;
        try {
            model = new OrtCompiledModel(OrtCudaBackend.id(device), env, session);
        } catch (OrtException e) {
            try {
                session.close();
            } catch (OrtException ignored) {
                // the first failure is the one reported
            }
            return sessionFailure(device, e);
        }
        try (model) {
            Map<String, Tensor> out = model.run(Map.of("a", Tensor.of(A, 2), "b", Tensor.of(B, 2)));
            try (Tensor sum = out.get("sum")) {
                float[] got = sum.toFloatArray();
                if (!Arrays.equals(SUM, got)) {
                    return new Outcome(false, false, "CUDA device " + device + " computed " + Arrays.toString(A) + " + "
                            + Arrays.toString(B) + " as " + Arrays.toString(got));
                }
            }
            LOG.info("CUDA device {} runs ONNX Runtime's CUDA provider", device);
            return Outcome.USABLE;
        } catch (TriptychException e) {
            return new Outcome(false, false, "CUDA device " + device + " failed a test run: " + CudaLibraries.ortMessage(e.getMessage()));
        }
    }

    /** The reason a session could not be created on {@code device}, the absent-device and no-driver cases named plainly. */
    private static Outcome sessionFailure(int device, OrtException e) {
        LOG.debug("CUDA probe of device {} failed", device, e);
        if (String.valueOf(e.getMessage()).contains("invalid device ordinal")) {
            return new Outcome(false, true, "no CUDA device " + device);
        }
        String missingLibrary = CudaLibraries.system().whySessionFailed();
        return new Outcome(false, false, missingLibrary != null ? missingLibrary
                : "CUDA device " + device + " cannot run a session: " + CudaLibraries.ortMessage(e.getMessage()));
    }

    /** The probe graph: sum = a + b over two float vectors of length 2. */
    static byte[] probeModel() {
        TypeProto vector = TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                .setElemType(1) // TensorProto.DataType FLOAT
                .setShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(2)))).build();
        GraphProto graph = GraphProto.newBuilder().setName("ort-cuda-probe")
                .addNode(NodeProto.newBuilder().setOpType("Add").addInput("a").addInput("b").addOutput("sum"))
                .addInput(ValueInfoProto.newBuilder().setName("a").setType(vector))
                .addInput(ValueInfoProto.newBuilder().setName("b").setType(vector))
                .addOutput(ValueInfoProto.newBuilder().setName("sum").setType(vector))
                .build();
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("triptych")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build().toByteArray();
    }
}
