package io.triptych.schedulers;

import java.util.List;

import io.triptych.api.InvalidRequestException;

/**
 * Ancestral sampling with Euler steps (Karras et al. 2022), as diffusers'
 * {@code EulerAncestralDiscreteScheduler}: each step goes down to σ_down with an Euler step and
 * adds fresh noise of σ_up from the generator. Defaults: 1000 training steps, linear β,
 * {@code linspace} spacing; predictions epsilon and v_prediction.
 */
public final class EulerAncestralDiscreteScheduler extends SigmaScheduler {

    public EulerAncestralDiscreteScheduler(SchedulerConfig config) {
        super(config, 1000, "linspace", List.of(Prediction.EPSILON, Prediction.V_PREDICTION));
        setTimesteps(trainSteps);
        inferenceSteps = 0;
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[] t = eulerTimesteps(steps);
        double[] s = Numerics.interp(t, trainSigmas());
        startLoop(t, s, 0f);
    }

    @Override
    public StepOutput step(NdArray modelOutput, double t, NdArray sample, NoiseGenerator generator) {
        requireSameShape(modelOutput, sample, "the model output");
        if (generator == null) {
            throw new InvalidRequestException("EulerAncestralDiscreteScheduler needs a noise generator");
        }
        int index = stepIndex(t);
        float sigma = sigmas[index];
        float[] s = sample.data();
        float[] x0 = predictOriginal(modelOutput.data(), s, sigma);
        float from = sigmas[index];
        float to = sigmas[index + 1];
        float sigmaUp = sqrt(to * to * (from * from - to * to) / (from * from));
        float sigmaDown = sqrt(to * to - sigmaUp * sigmaUp);
        float dt = sigmaDown - sigma;
        float[] noise = generator.randn(s.length);
        float[] prev = new float[s.length];
        for (int i = 0; i < prev.length; i++) {
            float derivative = (s[i] - x0[i]) / sigma;
            prev[i] = s[i] + derivative * dt;
            prev[i] = prev[i] + noise[i] * sigmaUp;
        }
        advance();
        return new StepOutput(sample.with(prev), sample.with(x0));
    }
}
