package io.triptych.engine.generator;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import io.triptych.api.backend.CompiledModel;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.Tensor;
import io.triptych.api.tensor.TensorSpec;
import io.triptych.engine.support.BackendBinding;

/**
 * The running state of one batch on a decoder: the token rows with their attention mask and
 * positions (as ORT GenAI makes them: mask = token ≠ pad in the prompt and 1 for every generated
 * token; positions count the non-pad tokens, pads get 0), and the key/value cache. The cache
 * tensors a run returns are fed straight back into the next run, so on a backend that keeps them in
 * native or device memory the cache never passes through Java arrays; beam search reorders its rows
 * there too, with the {@link CacheReorder} graph compiled beside the decoder.
 */
final class DecoderState implements AutoCloseable {
    private final DecoderLayout layout;
    private CompiledModel model;
    private final Set<String> wanted = new HashSet<>();
    final int rows;
    private int[][] tokens;
    private int[][] mask;
    private int[][] positions;
    private final int[] nextPosition;
    private int length;
    /** How many tokens of each row the cache holds. */
    private int cached;
    private Map<String, Tensor> past = new HashMap<>();
    /**
     * For each row, the cache row it takes before the next run, or {@code null}. Applied then, on the
     * parts that run it: if those moved to another backend the cache is rebuilt anyway.
     */
    private int[] cacheSources;

    /**
     * @param prompts left-padded rows of equal length
     * @param capacity the longest the rows may grow
     */
    DecoderState(DecoderLayout layout, int[][] prompts, int padTokenId, int capacity) {
        this.layout = layout;
        this.rows = prompts.length;
        this.length = prompts[0].length;
        tokens = new int[rows][capacity];
        mask = new int[rows][capacity];
        positions = new int[rows][capacity];
        nextPosition = new int[rows];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < length; j++) {
                int t = prompts[r][j];
                tokens[r][j] = t;
                boolean real = t != padTokenId;
                mask[r][j] = real ? 1 : 0;
                positions[r][j] = real ? nextPosition[r]++ : 0;
            }
        }
        wanted.add(layout.logits);
        wanted.addAll(layout.present);
    }

    int length() {
        return length;
    }

    int token(int row, int index) {
        return tokens[row][index];
    }

    /** Row {@code row}'s tokens so far (left padding included). */
    int[] row(int row) {
        return java.util.Arrays.copyOf(tokens[row], length);
    }

    /** Appends one token to every row. */
    void append(int[] next) {
        for (int r = 0; r < rows; r++) {
            tokens[r][length] = next[r];
            mask[r][length] = 1;
            positions[r][length] = nextPosition[r]++;
        }
        length++;
    }

    /**
     * Runs the decoder of {@code parts} on the tokens the cache does not hold yet, after
     * reordering the cache as {@link #reorder} asked. On another decoder than the last run's (the
     * backend under the request went away) the cache is dropped and rebuilt there from every token
     * so far.
     *
     * @return the logits of each row's last token, [rows][vocab]
     */
    float[][] run(BackendBinding.Compiled parts) {
        CompiledModel on = parts.part(layout.decoder);
        if (on != model) {
            moveTo(on);
        } else if (cacheSources != null) {
            reorderCache(parts.part(CacheReorder.PART));
        }
        int from = layout.hasCache() ? cached : 0;
        int step = length - from;
        Map<String, Tensor> in = new HashMap<>(past);
        in.put(layout.inputIds.name(), ints(layout.inputIds.dtype(), tokens, from, length));
        if (layout.attentionMask != null) {
            in.put(layout.attentionMask.name(), ints(layout.attentionMask.dtype(), mask, 0, length));
        }
        if (layout.positionIds != null) {
            in.put(layout.positionIds.name(), ints(layout.positionIds.dtype(), positions, from, length));
        }
        if (layout.useCacheBranch != null) {
            in.put(layout.useCacheBranch.name(), Tensor.of(new boolean[] {from > 0}, layout.useCacheBranch.shape().length == 0 ? new long[0] : new long[] {1}));
        }
        Map<String, Tensor> out = model.run(in, wanted);
        try (Tensor logits = out.get(layout.logits)) {
            Map<String, Tensor> next = new HashMap<>();
            for (int i = 0; i < layout.past.size(); i++) {
                next.put(layout.past.get(i).name(), out.get(layout.present.get(i)));
            }
            closePast();
            past = next;
            cached = length;
            return lastLogits(logits, step);
        }
    }

    /** Starts over on {@code next} with an empty cache. */
    private void moveTo(CompiledModel next) {
        model = next;
        cacheSources = null;
        closePast();
        for (TensorSpec spec : layout.past) {
            past.put(spec.name(), Tensor.allocate(spec.dtype(), cacheShape(0)));
        }
        cached = 0;
    }

    /** Makes row {@code r} a copy of row {@code sources[r]} (beam search); the cache follows at the next {@link #run}. */
    void reorder(int[] sources) {
        boolean identity = true;
        for (int r = 0; r < rows; r++) {
            identity &= sources[r] == r;
        }
        if (identity) {
            return;
        }
        tokens = pick(tokens, sources);
        mask = pick(mask, sources);
        positions = pick(positions, sources);
        int[] nextCopy = nextPosition.clone();
        for (int r = 0; r < rows; r++) {
            nextPosition[r] = nextCopy[sources[r]];
        }
        if (layout.hasCache()) {
            int[] earlier = cacheSources;
            cacheSources = sources.clone();
            for (int r = 0; earlier != null && r < rows; r++) {
                cacheSources[r] = earlier[sources[r]];
            }
        }
    }

    /** Runs {@code reorder} on the cache where it lives; its outputs become the cache. */
    private void reorderCache(CompiledModel reorder) {
        long[] sources = new long[rows];
        for (int r = 0; r < rows; r++) {
            sources[r] = cacheSources[r];
        }
        Map<String, Tensor> in = new HashMap<>(past);
        in.put(CacheReorder.SOURCES, Tensor.of(sources, rows));
        Map<String, Tensor> out = reorder.run(in);
        Map<String, Tensor> next = new HashMap<>();
        for (TensorSpec spec : layout.past) {
            next.put(spec.name(), out.get(CacheReorder.output(spec.name())));
        }
        closePast();
        past = next;
        cacheSources = null;
    }

    @Override
    public void close() {
        closePast();
    }

    private void closePast() {
        past.values().forEach(Tensor::close);
        past = new HashMap<>();
    }

    private long[] cacheShape(long seq) {
        return layout.combinedCache ? new long[] {2, rows, layout.kvHeads, seq, layout.headSize}
                : new long[] {rows, layout.kvHeads, seq, layout.headSize};
    }

    private Tensor ints(DType dtype, int[][] src, int from, int to) {
        int width = to - from;
        Tensor t = Tensor.allocate(dtype, rows, width);
        ByteBuffer b = t.buffer();
        if (dtype == DType.INT64) {
            var l = b.asLongBuffer();
            for (int[] row : src) {
                for (int j = from; j < to; j++) {
                    l.put(row[j]);
                }
            }
        } else {
            var i = b.asIntBuffer();
            for (int[] row : src) {
                i.put(row, from, width);
            }
        }
        return t;
    }

    /** The logits at the last of the {@code step} positions of each row. */
    private float[][] lastLogits(Tensor logits, int step) {
        long[] shape = logits.shape();
        int vocab = (int) shape[shape.length - 1];
        int seq = shape.length == 3 ? (int) shape[1] : 1;
        if (shape[0] != rows || (shape.length == 3 && seq != step && seq != 1)) {
            throw new IllegalStateException("logits of shape " + java.util.Arrays.toString(shape) + " for " + rows + " rows of " + step + " tokens");
        }
        float[][] out = new float[rows][vocab];
        ByteBuffer b = logits.buffer();
        for (int r = 0; r < rows; r++) {
            long offset = ((long) r * seq + seq - 1) * vocab;
            if (logits.dtype() == DType.FLOAT32) {
                b.asFloatBuffer().get((int) offset, out[r]);
            } else if (logits.dtype() == DType.FLOAT16) {
                for (int v = 0; v < vocab; v++) {
                    out[r][v] = Half.toFloat(b.getShort((int) ((offset + v) * 2)));
                }
            } else {
                throw new IllegalStateException("logits are " + logits.dtype() + ", expected float32 or float16");
            }
        }
        return out;
    }

    private static int[][] pick(int[][] a, int[] sources) {
        int[][] out = new int[a.length][];
        for (int r = 0; r < a.length; r++) {
            out[r] = a[sources[r]].clone();
        }
        return out;
    }
}
