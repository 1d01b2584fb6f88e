package io.triptych.engine.support.internal;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.triptych.api.InvalidRequestException;
import io.triptych.engine.support.BackendPolicy;
import io.triptych.engine.support.BackendPreferences;

/** The {@link BackendPolicy} service; modified in place, so its references see property updates, not a new service. */
@Component(service = BackendPolicy.class, immediate = true, configurationPid = BackendPolicy.PID)
@Designate(ocd = BackendPolicyConfig.class)
public final class BackendPolicyComponent implements BackendPolicy {
    private static final Logger LOG = LoggerFactory.getLogger(BackendPolicyComponent.class);

    private volatile BackendPreferences current = BackendPreferences.NONE;

    @Activate
    public BackendPolicyComponent(BackendPolicyConfig config) {
        modified(config);
    }

    @Modified
    void modified(BackendPolicyConfig config) {
        try {
            current = BackendPreferences.parse(config.order(), config.pins());
            LOG.info("backend preferences: order {}, pins {}", current.order(), current.pins());
        } catch (InvalidRequestException e) {
            // a bad configuration must not stop serving: keep the preferences in force
            LOG.error("ignoring the configuration of {}: {}", BackendPolicy.PID, e.getMessage());
        }
    }

    @Override
    public BackendPreferences current() {
        return current;
    }
}
