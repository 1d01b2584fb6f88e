package io.triptych.engine.support;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The backend preferences in force, as a service: configured through the Config Admin PID
 * {@value #PID}. Its service properties change whenever the configuration does, so engines that
 * reference it with an {@code updated} callback re-rank their models at once.
 */
@ProviderType
public interface BackendPolicy {
    /** Config Admin PID of the backend preferences. */
    String PID = "io.triptych.backends";

    /** The preferences now in force. */
    BackendPreferences current();
}
