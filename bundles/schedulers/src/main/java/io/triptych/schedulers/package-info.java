/**
 * Diffusion schedulers that behave like Hugging Face diffusers' classes of the same names, built
 * from a diffusers {@code scheduler_config.json}, and noise generators that reproduce Python's
 * random streams bit for bit ({@link io.triptych.schedulers.TorchGenerator},
 * {@link io.triptych.schedulers.NumpyRandomState}). Plain Java: usable with or without OSGi.
 *
 * <pre>
 * Scheduler s = Schedulers.fromJson(Path.of("scheduler/scheduler_config.json"));
 * s.setTimesteps(20);
 * NoiseGenerator g = new TorchGenerator(seed);
 * NdArray x = NdArray.of(g.randn(n), shape).scale(s.initNoiseSigma());
 * for (double t : s.timesteps()) {
 *     NdArray eps = unet(s.scaleModelInput(x, t), t);
 *     x = s.step(eps, t, x, g).prevSample();
 * }
 * </pre>
 */
@Export
@Version("1.0.0")
package io.triptych.schedulers;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
