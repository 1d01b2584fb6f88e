/**
 * Paradigms, the typed exception hierarchy and cancellation shared by every Triptych service.
 */
@Export
@Version("1.0.0")
package io.triptych.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
