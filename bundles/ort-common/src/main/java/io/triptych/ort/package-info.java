/**
 * ONNX Runtime sessions behind the {@link io.triptych.api.backend.CompiledModel} SPI, shared by the
 * backends built on ONNX Runtime's execution providers ({@code ort-cpu}, {@code ort-cuda}): the
 * provider is chosen by the session options a backend passes in, everything else is the same.
 */
@Export
@Version("1.0.0")
package io.triptych.ort;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
