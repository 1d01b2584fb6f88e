/**
 * Deployed models: descriptors of model folders, their ONNX parts, and the registry that deploys them from model bundles and watched folders.
 */
@Export
@Version("1.1.0")
package io.triptych.api.model;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
