/**
 * Reads ONNX model files: {@link io.triptych.onnx.OnnxModelReader} turns a file into a
 * {@link io.triptych.api.model.ModelPart} (signature, operators, opsets) or the full parsed model.
 */
@Export
@Version("1.0.0")
package io.triptych.onnx;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
