/**
 * Autoregressive text generation: the {@code Generator} service, its request and search options, streaming listener and results.
 */
@Export
@Version("1.0.0")
package io.triptych.api.generator;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
