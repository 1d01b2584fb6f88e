/**
 * Typed n-dimensional tensors: element types, shapes and zero-copy views over NIO buffers.
 */
@Export
@Version("1.0.0")
package io.triptych.api.tensor;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
