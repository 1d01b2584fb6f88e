package io.triptych.backend.opencl;

import java.util.Hashtable;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.triptych.api.BackendUnavailableException;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.backend.DeviceKind;
import io.triptych.api.backend.UnavailableBackend;

/**
 * Probes OpenCL when activated (and again on every configuration change) and registers either
 * the {@code opencl} {@link ComputeBackend} or, where no device qualifies, an
 * {@link UnavailableBackend} saying why.
 */
@Component(service = {}, immediate = true, configurationPid = OpenClConfig.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = OpenClConfig.class)
public final class OpenClComponent {
    private static final Logger LOG = LoggerFactory.getLogger(OpenClComponent.class);

    private OpenClBackend backend;
    private ServiceRegistration<?> registration;

    @Activate
    void activate(BundleContext context, OpenClConfig config) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ComputeBackend.PROPERTY_ID, OpenClBackend.ID);
        props.put(ComputeBackend.PROPERTY_DEVICE, DeviceKind.OPENCL.id());
        try {
            backend = OpenClBackend.open(config.platform(), config.device(), config.deviceType(), config.score());
            props.put(ComputeBackend.PROPERTY_SCORE, config.score());
            props.put("opencl.device", backend.deviceName());
            registration = context.registerService(ComputeBackend.class, backend, props);
        } catch (BackendUnavailableException e) {
            LOG.warn("opencl backend unavailable: {}", e.getMessage());
            registration = context.registerService(UnavailableBackend.class, new Unavailable(e.getMessage()), props);
        }
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            registration.unregister();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private record Unavailable(String reason) implements UnavailableBackend {
        @Override
        public String id() {
            return OpenClBackend.ID;
        }

        @Override
        public DeviceKind deviceKind() {
            return DeviceKind.OPENCL;
        }
    }
}
