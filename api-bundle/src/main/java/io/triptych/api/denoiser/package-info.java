/**
 * Iterative denoising (text-to-image diffusion): the {@code Denoiser} service, its request, progress listener and results.
 */
@Export
@Version("1.0.0")
package io.triptych.api.denoiser;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
