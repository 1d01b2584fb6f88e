/**
 * What the engines share: {@link io.triptych.engine.support.ModelServer} serves one service per
 * deployed model on the preferred backend that compiles it and moves it when backends or
 * preferences change; {@link io.triptych.engine.support.BackendBinding} lets requests drain on
 * the backend they started on or migrate; {@link io.triptych.engine.support.BackendPreferences}
 * is the configured order and per-model pins.
 */
@Export
@Version("1.0.0")
package io.triptych.engine.support;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
