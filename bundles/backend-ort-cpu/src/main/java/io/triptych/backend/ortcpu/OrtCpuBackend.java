package io.triptych.backend.ortcpu;

import java.util.Set;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.triptych.api.InvalidRequestException;
import io.triptych.api.ModelLoadException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.backend.DeviceKind;
import io.triptych.api.model.ModelPart;
import io.triptych.ort.OrtCompiledModel;
import io.triptych.ort.OrtRuntime;

/** The {@code ort-cpu} backend: every graph runs in an ONNX Runtime session on the CPU provider. */
@Component(service = ComputeBackend.class, immediate = true, configurationPid = OrtCpuConfig.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = {ComputeBackend.PROPERTY_ID + "=" + OrtCpuBackend.ID, ComputeBackend.PROPERTY_DEVICE + "=cpu"})
@Designate(ocd = OrtCpuConfig.class)
public final class OrtCpuBackend implements ComputeBackend {
    static final String ID = "ort-cpu";

    /** ORT's CPU provider implements the standard ONNX domains and its own contrib domain. */
    private static final Set<String> DOMAINS = Set.of(ModelPart.DEFAULT_DOMAIN, "ai.onnx.ml", "com.microsoft");

    private static final Logger LOG = LoggerFactory.getLogger(OrtCpuBackend.class);

    private final OrtEnvironment env;
    private final int intraOpThreads;
    private final int interOpThreads;
    private final OptLevel optLevel;
    private final int score;

    @Activate
    public OrtCpuBackend(OrtCpuConfig config) {
        this(config.intraOpThreads(), config.interOpThreads(), config.optimizationLevel(), config.score());
    }

    /** A backend outside OSGi (tests, benchmarks). */
    public OrtCpuBackend(int intraOpThreads, int interOpThreads, String optimizationLevel, int score) {
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new InvalidRequestException("ort-cpu thread counts must be ≥ 0, got " + intraOpThreads + "/" + interOpThreads);
        }
        try {
            this.optLevel = OptLevel.valueOf(optimizationLevel);
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("unknown ort-cpu optimizationLevel '" + optimizationLevel
                    + "' (NO_OPT, BASIC_OPT, EXTENDED_OPT or ALL_OPT)");
        }
        this.env = OrtRuntime.environment();
        this.intraOpThreads = intraOpThreads;
        this.interOpThreads = interOpThreads;
        this.score = score;
        LOG.info("ort-cpu backend ready: {}", deviceDescription());
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public DeviceKind deviceKind() {
        return DeviceKind.CPU;
    }

    @Override
    public String deviceDescription() {
        return "ONNX Runtime " + env.getVersion() + " CPU, " + Runtime.getRuntime().availableProcessors() + " cores, intra-op threads "
                + (intraOpThreads == 0 ? "auto" : intraOpThreads) + ", inter-op threads " + (interOpThreads == 0 ? "auto" : interOpThreads);
    }

    @Override
    public int score() {
        return score;
    }

    @Override
    public boolean supports(String operator) {
        return OrtRuntime.inDomains(operator, DOMAINS);
    }

    @Override
    public CompiledModel compile(ModelPart part) {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(intraOpThreads);
            options.setInterOpNumThreads(interOpThreads);
            options.setOptimizationLevel(optLevel);
            OrtSession session = env.createSession(part.file().toString(), options);
            return new OrtCompiledModel(ID, env, session);
        } catch (OrtException e) {
            throw new ModelLoadException("ort-cpu cannot load " + part.name() + ": " + e.getMessage(), e);
        }
    }
}
