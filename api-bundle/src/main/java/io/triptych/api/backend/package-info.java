/**
 * The compute backend SPI: a backend says who it is, what device it drives, which ONNX operators it runs, and compiles a model part into something that runs.
 */
@Export
@Version("1.0.0")
package io.triptych.api.backend;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
