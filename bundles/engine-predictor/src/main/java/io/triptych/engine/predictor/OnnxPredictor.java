package io.triptych.engine.predictor;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.ModelLoadException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.api.predictor.Embedding;
import io.triptych.api.predictor.MaskedPrediction;
import io.triptych.api.predictor.PatchBlock;
import io.triptych.api.predictor.Predictor;
import io.triptych.api.predictor.RankedImage;
import io.triptych.api.predictor.ScoredLabel;
import io.triptych.api.predictor.StreamDecoding;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.engine.support.BackendBinding;
import io.triptych.engine.support.ServedModel;

/**
 * The {@link Predictor} of one deployed JEPA model folder ({@code jepa.json}): its descriptor, its
 * tokenizer, and the {@link BackendBinding} its requests run on. Every request holds one lease for
 * all the parts it runs; if their backend goes away mid-request, the request runs again on the
 * parts the model was moved to (requests keep no state between graph runs worth migrating).
 * Requests run concurrently; {@link #close()} waits for those in flight.
 */
final class OnnxPredictor extends ServedModel<Predictor> implements Predictor {

    /** Patch embeddings of one image, {@code [count, dim]}. */
    private record Patches(float[] values, int count, int dim) {
    }

    private final JepaConfig config;
    /** {@code null} for a model without text parts. */
    private final TextTokens text;

    /**
     * Reads the model's descriptor and tokenizer.
     *
     * @throws ModelLoadException if they are missing, malformed or do not fit the ONNX parts
     */
    OnnxPredictor(ModelDescriptor model) {
        super(model);
        this.config = JepaConfig.read(model);
        this.text = config.tokenizer() == null ? null : TextTokens.load(config.tokenizer(), config.maxTextLength());
    }

    @Override
    public Predictor service() {
        return this;
    }

    @Override
    public List<ModelPart> parts() {
        return config.parts();
    }

    /** Runs every part once on a blank image and a one-token text, so a backend that cannot run one is never switched to. */
    @Override
    public void warm(BackendBinding.Compiled compiled) {
        Patches patches = patches(compiled, config.xEncoder(), Tensor.allocate(DType.FLOAT32, 1, 3, config.imageSize(), config.imageSize()));
        if (config.targetEncoder() != null) {
            patches(compiled, config.targetEncoder(), Tensor.allocate(DType.FLOAT32, 1, 3, config.imageSize(), config.imageSize()));
        }
        if (config.predictor() != null) {
            int[] context = new int[patches.count() - 1];
            Arrays.setAll(context, i -> i + 1);
            predictTargets(compiled, patches, context, new int[] {0});
        }
        long[] mask = new long[config.maxTextLength()];
        mask[0] = 1;
        TextTokens.Batch oneToken = new TextTokens.Batch(new long[mask.length], mask, 1, mask.length);
        float[] predicted = config.vlPredictor() == null ? null : queryEmbedding(compiled, patches, oneToken);
        float[][] texts = config.yEncoder() == null ? null : textEmbeddings(compiled, oneToken);
        if (predicted != null && texts != null && predicted.length != texts[0].length) {
            throw new ModelLoadException("model " + model().id() + ": vl_predictor embeds into " + predicted.length
                    + " dimensions, y_encoder into " + texts[0].length + "; they must share one text space");
        }
    }

    @Override
    public Embedding encode(BufferedImage image) {
        return withOpen(() -> {
            Tensor pixels = ImagePixels.of(image, config);
            Patches p = onParts(c -> patches(c, config.xEncoder(), pixels));
            return new Embedding(Tensor.of(p.values(), p.count(), p.dim()), Vectors.meanRows(p.values(), p.count(), p.dim()));
        });
    }

    /**
     * The context is every patch outside the targets, as the context encoder sees them: from the
     * context alone where the model declares a {@code mask_sentinel}, else from the whole image.
     * The energy is the mean Euclidean distance between each predicted target patch and
     * the target encoder's (layer-normed, as I-JEPA's loss compares them) embedding of that patch.
     */
    @Override
    public MaskedPrediction predictMasked(BufferedImage image, List<PatchBlock> targets) {
        return withOpen(() -> {
            require(config.predictor(), "predictor", "masked prediction");
            boolean[] isTarget = targetMask(targets);
            int[] targetPositions = positions(isTarget, true);
            int[] contextPositions = positions(isTarget, false);
            if (contextPositions.length == 0) {
                throw new InvalidRequestException("the targets cover all " + isTarget.length + " patches; no context is left to predict from");
            }
            Tensor pixels = ImagePixels.of(image, config);
            // below the sentinel, the targets are left out of the context encoder's attention
            Tensor context = Double.isNaN(config.maskSentinel()) ? pixels
                    : ImagePixels.withPatchesFilled(pixels, config, targetPositions, (float) config.maskSentinel() - 1);
            return onParts(c -> {
                Patches p = patches(c, config.xEncoder(), context);
                float[] predicted = predictTargets(c, p, contextPositions, targetPositions);
                double energy = Double.NaN;
                if (config.targetEncoder() != null) {
                    Patches t = patches(c, config.targetEncoder(), pixels);
                    float[] real = Vectors.rows(t.values(), t.dim(), targetPositions);
                    if (config.layerNormTargets()) {
                        Vectors.layerNormRows(real, targetPositions.length, t.dim());
                    }
                    energy = Vectors.meanRowDistance(predicted, real, targetPositions.length, p.dim());
                }
                return new MaskedPrediction(Tensor.of(predicted, targetPositions.length, p.dim()), energy);
            });
        });
    }

    @Override
    public float[] predict(BufferedImage image, String query) {
        return withOpen(() -> {
            require(config.vlPredictor(), "vl_predictor", "text-space prediction");
            Tensor pixels = ImagePixels.of(image, config);
            TextTokens.Batch q = text.encode(List.of(query(query)));
            return onParts(c -> queryEmbedding(c, patches(c, config.xEncoder(), pixels), q));
        });
    }

    @Override
    public List<ScoredLabel> classify(BufferedImage image, List<String> labels, String query) {
        return withOpen(() -> {
            requireTextSpace("zero-shot classification");
            TextTokens.Batch candidates = text.encode(checkLabels(labels));
            Tensor pixels = ImagePixels.of(image, config);
            TextTokens.Batch q = text.encode(List.of(query(query)));
            return onParts(c -> {
                float[][] l = textEmbeddings(c, candidates);
                float[] e = queryEmbedding(c, patches(c, config.xEncoder(), pixels), q);
                List<ScoredLabel> ranked = new ArrayList<>();
                for (int i = 0; i < l.length; i++) {
                    ranked.add(new ScoredLabel(labels.get(i), Vectors.cosine(e, l[i])));
                }
                ranked.sort(Comparator.comparingDouble(ScoredLabel::score).reversed());
                return ranked;
            });
        });
    }

    /** Images are embedded with the model's default query. */
    @Override
    public List<RankedImage> retrieve(String query, List<BufferedImage> images) {
        return withOpen(() -> {
            requireTextSpace("retrieval");
            if (query == null || query.isBlank()) {
                throw new InvalidRequestException("no text to retrieve images for");
            }
            TextTokens.Batch t = text.encode(List.of(query));
            List<Tensor> pixels = pixelsOf(images);
            TextTokens.Batch q = text.encode(List.of(query(null)));
            return onParts(c -> {
                float[] target = textEmbeddings(c, t)[0];
                List<RankedImage> ranked = new ArrayList<>();
                for (int i = 0; i < pixels.size(); i++) {
                    ranked.add(new RankedImage(i, Vectors.cosine(target, queryEmbedding(c, patches(c, config.xEncoder(), pixels.get(i)), q))));
                }
                ranked.sort(Comparator.comparingDouble(RankedImage::score).reversed());
                return ranked;
            });
        });
    }

    /**
     * Every frame's embedding is predicted (it is what tells whether to decode); decoding, the
     * label nearest to the embedding, runs only where the embedding moved further than
     * {@code threshold} in cosine distance from the one last decoded. Decoding every frame as well
     * gives the agreement.
     */
    @Override
    public StreamDecoding decodeStream(List<BufferedImage> frames, List<String> labels, String query, double threshold) {
        return withOpen(() -> {
            requireTextSpace("selective decoding");
            if (!(threshold >= 0 && threshold <= 2)) {
                throw new InvalidRequestException("threshold must be a cosine distance in [0, 2], got " + threshold);
            }
            TextTokens.Batch candidates = text.encode(checkLabels(labels));
            List<Tensor> pixels = pixelsOf(frames);
            TextTokens.Batch q = text.encode(List.of(query(query)));
            return onParts(c -> {
                float[][] l = textEmbeddings(c, candidates);
                List<String> selective = new ArrayList<>();
                List<Integer> decoded = new ArrayList<>();
                float[] lastDecoded = null;
                int agree = 0;
                for (int f = 0; f < pixels.size(); f++) {
                    float[] e = queryEmbedding(c, patches(c, config.xEncoder(), pixels.get(f)), q);
                    String everyFrame = labels.get(nearest(e, l));
                    if (lastDecoded == null || 1 - Vectors.cosine(e, lastDecoded) > threshold) {
                        decoded.add(f);
                        lastDecoded = e;
                        selective.add(everyFrame);
                    } else {
                        selective.add(selective.get(f - 1));
                    }
                    agree += everyFrame.equals(selective.get(f)) ? 1 : 0;
                }
                return new StreamDecoding(selective, decoded, (double) agree / pixels.size());
            });
        });
    }

    /** Frees the tokenizer once the last request has left. */
    @Override
    protected void release() {
        if (text != null) {
            text.close();
        }
    }

    /** Runs {@code work} on leased parts, again on the parts the model moved to if their backend went away. */
    private <T> T onParts(Function<BackendBinding.Compiled, T> work) {
        try (BackendBinding.Lease lease = binding().acquire()) {
            return lease.call(work);
        }
    }

    private Patches patches(BackendBinding.Compiled c, ModelPart encoder, Tensor pixels) {
        Map<String, Tensor> out = c.part(encoder.name()).run(Map.of(JepaConfig.PIXELS, pixels), Set.of(JepaConfig.PATCHES));
        try (Tensor patches = out.get(JepaConfig.PATCHES)) {
            long[] shape = patches.shape();
            if (shape.length != 3 || shape[0] != 1 || shape[1] != config.patchCount()) {
                throw new ModelLoadException("model " + model().id() + ": " + encoder.name() + " yields patches " + Arrays.toString(shape)
                        + ", expected [1," + config.patchCount() + ",D] for image_size " + config.imageSize() + " and patch_size "
                        + config.patchSize());
            }
            return new Patches(patches.toFloatArray(), (int) shape[1], (int) shape[2]);
        }
    }

    private float[] predictTargets(BackendBinding.Compiled c, Patches p, int[] contextPositions, int[] targetPositions) {
        CompiledModel predictor = c.part(config.predictor().name());
        float[] context = Vectors.rows(p.values(), p.dim(), contextPositions);
        Map<String, Tensor> in = Map.of(
                JepaConfig.CONTEXT, Tensor.of(context, 1, contextPositions.length, p.dim()),
                JepaConfig.CONTEXT_POSITIONS, indexes(config.predictor(), JepaConfig.CONTEXT_POSITIONS, contextPositions),
                JepaConfig.TARGET_POSITIONS, indexes(config.predictor(), JepaConfig.TARGET_POSITIONS, targetPositions));
        try (Tensor predicted = predictor.run(in, Set.of(JepaConfig.PREDICTED)).get(JepaConfig.PREDICTED)) {
            long[] shape = predicted.shape();
            if (!Arrays.equals(shape, new long[] {1, targetPositions.length, p.dim()})) {
                throw new ModelLoadException("model " + model().id() + ": predictor yields " + Arrays.toString(shape) + " for "
                        + targetPositions.length + " targets of width " + p.dim());
            }
            return predicted.toFloatArray();
        }
    }

    /** The vl_predictor's embedding of patches and a one-row query, unit length. */
    private float[] queryEmbedding(BackendBinding.Compiled c, Patches p, TextTokens.Batch query) {
        ModelPart vl = config.vlPredictor();
        Map<String, Tensor> in = Map.of(
                JepaConfig.PATCHES, Tensor.of(p.values(), 1, p.count(), p.dim()),
                JepaConfig.QUERY_IDS, query.tensor(query.ids(), vl.input(JepaConfig.QUERY_IDS).dtype()),
                JepaConfig.QUERY_MASK, query.tensor(query.mask(), vl.input(JepaConfig.QUERY_MASK).dtype()));
        try (Tensor e = c.part(vl.name()).run(in, Set.of(JepaConfig.EMBEDDING)).get(JepaConfig.EMBEDDING)) {
            return Vectors.normalized(e.toFloatArray());
        }
    }

    /**
     * The y_encoder's embeddings of texts, unit length; one run for the batch where the graph
     * takes any batch size, else one run per text.
     */
    float[][] textEmbeddings(BackendBinding.Compiled c, TextTokens.Batch texts) {
        ModelPart y = config.yEncoder();
        long fixedBatch = y.input(JepaConfig.INPUT_IDS).shape()[0];
        if (fixedBatch >= 0 && fixedBatch != texts.texts()) {
            float[][] each = new float[texts.texts()][];
            int len = texts.length();
            for (int r = 0; r < each.length; r++) {
                each[r] = textEmbeddings(c, new TextTokens.Batch(Arrays.copyOfRange(texts.ids(), r * len, (r + 1) * len),
                        Arrays.copyOfRange(texts.mask(), r * len, (r + 1) * len), 1, len))[0];
            }
            return each;
        }
        Map<String, Tensor> in = new HashMap<>();
        in.put(JepaConfig.INPUT_IDS, texts.tensor(texts.ids(), y.input(JepaConfig.INPUT_IDS).dtype()));
        in.put(JepaConfig.ATTENTION_MASK, texts.tensor(texts.mask(), y.input(JepaConfig.ATTENTION_MASK).dtype()));
        if (y.input(JepaConfig.TOKEN_TYPE_IDS) != null) {
            in.put(JepaConfig.TOKEN_TYPE_IDS, texts.tensor(new long[texts.ids().length], y.input(JepaConfig.TOKEN_TYPE_IDS).dtype()));
        }
        try (Tensor out = c.part(y.name()).run(in, Set.of(config.yOutput())).get(config.yOutput())) {
            long[] shape = out.shape();
            float[] v = out.toFloatArray();
            int dim = (int) shape[shape.length - 1];
            float[][] rows = new float[texts.texts()][];
            for (int r = 0; r < rows.length; r++) {
                if (config.yMeanPooling()) {
                    int len = texts.length();
                    rows[r] = Vectors.maskedMeanRows(Arrays.copyOfRange(v, r * len * dim, (r + 1) * len * dim),
                            Arrays.copyOfRange(texts.mask(), r * len, (r + 1) * len), len, dim);
                } else {
                    rows[r] = Arrays.copyOfRange(v, r * dim, (r + 1) * dim);
                }
                rows[r] = Vectors.normalized(rows[r]);
            }
            return rows;
        }
    }

    private static Tensor indexes(ModelPart part, String input, int[] values) {
        if (part.input(input).dtype() == DType.INT32) {
            return Tensor.of(values, 1, values.length);
        }
        return Tensor.of(Arrays.stream(values).asLongStream().toArray(), 1, values.length);
    }

    private static int nearest(float[] e, float[][] candidates) {
        int best = 0;
        for (int i = 1; i < candidates.length; i++) {
            if (Vectors.cosine(e, candidates[i]) > Vectors.cosine(e, candidates[best])) {
                best = i;
            }
        }
        return best;
    }

    private boolean[] targetMask(List<PatchBlock> targets) {
        if (targets == null || targets.isEmpty()) {
            throw new InvalidRequestException("no target blocks given");
        }
        int grid = config.grid();
        boolean[] isTarget = new boolean[config.patchCount()];
        for (PatchBlock b : targets) {
            if (b == null || b.height() < 1 || b.width() < 1 || b.row() < 0 || b.column() < 0
                    || b.row() + b.height() > grid || b.column() + b.width() > grid) {
                throw new InvalidRequestException("target block " + b + " does not lie on the " + grid + "x" + grid + " patch grid");
            }
            for (int r = b.row(); r < b.row() + b.height(); r++) {
                for (int col = b.column(); col < b.column() + b.width(); col++) {
                    isTarget[r * grid + col] = true;
                }
            }
        }
        return isTarget;
    }

    /** Row-major positions whose mask equals {@code value}. */
    private static int[] positions(boolean[] mask, boolean value) {
        int[] all = new int[mask.length];
        int n = 0;
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] == value) {
                all[n++] = i;
            }
        }
        return Arrays.copyOf(all, n);
    }

    private List<Tensor> pixelsOf(List<BufferedImage> images) {
        if (images == null || images.isEmpty()) {
            throw new InvalidRequestException("no images given");
        }
        List<Tensor> pixels = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            try {
                pixels.add(ImagePixels.of(images.get(i), config));
            } catch (InvalidRequestException e) {
                throw new InvalidRequestException("image " + i + ": " + e.getMessage(), e);
            }
        }
        return pixels;
    }

    private static List<String> checkLabels(List<String> labels) {
        if (labels == null || labels.isEmpty()) {
            throw new InvalidRequestException("no labels given");
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < labels.size(); i++) {
            String l = labels.get(i);
            if (l == null || l.isBlank()) {
                throw new InvalidRequestException("label " + i + " is empty");
            }
            if (!seen.add(l)) {
                throw new InvalidRequestException("label '" + l + "' is given twice");
            }
        }
        return labels;
    }

    /** The caller's query, or the model's default for a missing or blank one. */
    private String query(String query) {
        if (query != null && !query.isBlank()) {
            return query;
        }
        if (config.defaultQuery().isBlank()) {
            throw new InvalidRequestException("give a query: model " + model().id() + " has no default_query");
        }
        return config.defaultQuery();
    }

    private void require(ModelPart part, String name, String operation) {
        if (part == null) {
            throw new InvalidRequestException("model " + model().id() + " has no " + name + ", which " + operation + " needs");
        }
    }

    private void requireTextSpace(String operation) {
        if (config.vlPredictor() == null || config.yEncoder() == null) {
            throw new InvalidRequestException("model " + model().id() + " has no "
                    + (config.vlPredictor() == null ? config.yEncoder() == null ? "vl_predictor and no y_encoder" : "vl_predictor" : "y_encoder")
                    + ", which " + operation + " needs");
        }
    }
}
