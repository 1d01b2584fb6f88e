package io.triptych.backend.ortcuda;

import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.backend.DeviceKind;
import io.triptych.api.backend.UnavailableBackend;
import io.triptych.ort.OrtRuntime;

/**
 * Probes the GPUs when activated (again on every configuration change) and registers one
 * {@link ComputeBackend} per GPU that passed — properties {@code backend.id} ({@code ort-cuda} on
 * device 0, {@code ort-cuda:N} on device N), {@code backend.device=cuda}, {@code backend.score}
 * and {@code backend.device.id} (the CUDA ordinal) — and an {@link UnavailableBackend} with the
 * reason for the probe that failed. A configuration error is reported the same way.
 */
@Component(immediate = true, configurationPid = OrtCudaConfig.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = OrtCudaConfig.class)
public final class OrtCudaBackends {
    /** Service property: the CUDA device ordinal of an {@code ort-cuda} backend. */
    public static final String PROPERTY_DEVICE_ID = "backend.device.id";

    private static final Logger LOG = LoggerFactory.getLogger(OrtCudaBackends.class);

    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Activate
    public OrtCudaBackends(BundleContext context, OrtCudaConfig config) {
        CudaProbe.Discovery found;
        try {
            found = CudaProbe.discover(OrtRuntime.environment(), CudaSettings.of(config));
        } catch (InvalidRequestException e) {
            found = new CudaProbe.Discovery(List.of(), List.of(new UnavailableCuda(OrtCudaBackend.ID, "configuration " + OrtCudaConfig.PID + ": " + e.getMessage())));
        }
        for (OrtCudaBackend b : found.backends()) {
            Dictionary<String, Object> p = properties(b.id());
            p.put(ComputeBackend.PROPERTY_SCORE, b.score());
            p.put(PROPERTY_DEVICE_ID, b.device());
            registrations.add(context.registerService(ComputeBackend.class, b, p));
            LOG.info("{} backend ready: {}", b.id(), b.deviceDescription());
        }
        for (UnavailableCuda u : found.unavailable()) {
            registrations.add(context.registerService(UnavailableBackend.class, u, properties(u.id())));
            LOG.info("{} unavailable: {}", u.id(), u.reason());
        }
    }

    @Deactivate
    void deactivate() {
        for (ServiceRegistration<?> r : registrations) {
            try {
                r.unregister();
            } catch (IllegalStateException alreadyGone) {
                // unregistered by the framework when this bundle stopped
            }
        }
        registrations.clear();
    }

    private static Dictionary<String, Object> properties(String id) {
        Dictionary<String, Object> p = new Hashtable<>();
        p.put(ComputeBackend.PROPERTY_ID, id);
        p.put(ComputeBackend.PROPERTY_DEVICE, DeviceKind.CUDA.id());
        return p;
    }
}
