/**
 * Prediction in representation space (JEPA / VL-JEPA): the {@code Predictor} service and its results.
 */
@Export
@Version("1.0.0")
package io.triptych.api.predictor;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
