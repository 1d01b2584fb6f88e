package io.triptych.engine.predictor;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import io.triptych.api.Paradigm;
import io.triptych.api.predictor.Predictor;
import io.triptych.engine.support.ModelEngine;

/** The predictor engine: one {@link Predictor} per deployed JEPA model folder, each on its most preferred backend. */
@Component(immediate = true, property = "model.target=(model.paradigm=jepa)")
public final class PredictorEngine extends ModelEngine<Predictor> {

    @Activate
    public PredictorEngine(BundleContext context) {
        super(context, Predictor.class, Paradigm.JEPA, OnnxPredictor::new);
    }
}
