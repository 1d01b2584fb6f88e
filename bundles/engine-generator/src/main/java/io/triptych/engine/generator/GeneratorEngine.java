package io.triptych.engine.generator;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import io.triptych.api.Paradigm;
import io.triptych.api.generator.Generator;
import io.triptych.engine.support.ModelEngine;

/** The generator engine: one {@link Generator} per deployed LLM, each on its most preferred backend. */
@Component(immediate = true, property = "model.target=(model.paradigm=llm)")
public final class GeneratorEngine extends ModelEngine<Generator> {

    @Activate
    public GeneratorEngine(BundleContext context) {
        super(context, Generator.class, Paradigm.LLM, OnnxGenerator::new);
    }
}
