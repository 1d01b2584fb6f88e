package io.triptych.engine.denoiser;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import io.triptych.api.Paradigm;
import io.triptych.api.denoiser.Denoiser;
import io.triptych.engine.support.ModelEngine;

/** The denoiser engine: one {@link Denoiser} per deployed diffusion pipeline, each on its most preferred backend. */
@Component(immediate = true, property = "model.target=(model.paradigm=diffusion)")
public final class DenoiserEngine extends ModelEngine<Denoiser> {

    @Activate
    public DenoiserEngine(BundleContext context) {
        super(context, Denoiser.class, Paradigm.DIFFUSION, OnnxDenoiser::new);
    }
}
