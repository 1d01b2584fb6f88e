package io.triptych.launcher.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

import com.google.gson.GsonBuilder;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.Paradigm;
import io.triptych.api.generator.GeneratedSequence;
import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.GenerationResult;
import io.triptych.api.generator.Generator;
import io.triptych.api.generator.SearchOptions;
import io.triptych.api.generator.TokenListener;
import io.triptych.launcher.TriptychHost;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generates text with an LLM (an ONNX Runtime GenAI folder or a Hugging Face Optimum export), "
                + "streaming it to stdout; or continues raw token batches (--input-ids). Search options are ONNX Runtime GenAI's.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    HostOptions host;

    @Option(names = "--model", paramLabel = "ID|FOLDER", defaultValue = "tiny-gpt",
            description = "A deployed model's id, or a model folder to deploy for this run (default: ${DEFAULT-VALUE}, our bundled model).")
    String model;

    @Option(names = "--backend", paramLabel = "ID", description = "Run on this compute backend (e.g. ort-cpu, opencl); exit 2 with the reason if it cannot run the model.")
    String backend;

    @Option(names = "--input-ids", paramLabel = "IDS",
            description = "Token id rows instead of a prompt: ids separated by ',', rows by ';' (e.g. \"0,0,0,52;0,0,195,731\").")
    String inputIds;

    @Option(names = "--stop", paramLabel = "TEXT", description = "Stop a row when its new text contains TEXT (repeatable).")
    List<String> stop = new ArrayList<>();

    @Option(names = "--max-length", description = "Total length, prompt included (default: the model's, else its context length).")
    Integer maxLength;
    @Option(names = "--min-length", description = "Length before which end-of-sequence is suppressed.")
    Integer minLength;
    @Option(names = "--do-sample", arity = "0..1", fallbackValue = "true", description = "Sample instead of greedy search.")
    Boolean doSample;
    @Option(names = "--top-k", description = "Sample among the k most likely tokens.")
    Integer topK;
    @Option(names = "--top-p", description = "Sample from the smallest set reaching probability p; 0 turns it off.")
    Float topP;
    @Option(names = "--temperature", description = "Divides the logits before sampling.")
    Float temperature;
    @Option(names = "--repetition-penalty", description = "Penalises tokens already in the sequence; 1 turns it off.")
    Float repetitionPenalty;
    @Option(names = "--num-beams", description = "Beams for beam search; 1 turns it off.")
    Integer numBeams;
    @Option(names = "--num-return-sequences", description = "Sequences returned per row (at most --num-beams).")
    Integer numReturnSequences;
    @Option(names = "--length-penalty", description = "Exponent of the length normalisation of beam scores.")
    Float lengthPenalty;
    @Option(names = "--early-stopping", arity = "0..1", fallbackValue = "true",
            description = "Stop beam search once num_beams hypotheses are done.")
    Boolean earlyStopping;
    @Option(names = "--random-seed", description = "Seed of the sampler; -1 draws one.")
    Long randomSeed;

    @Parameters(arity = "0..1", paramLabel = "PROMPT", description = "The prompt text.")
    String prompt;

    @Override
    public Integer call() {
        if ((prompt == null) == (inputIds == null)) {
            throw new InvalidRequestException("give a prompt or --input-ids, not both or neither");
        }
        List<int[]> rows = inputIds == null ? List.of() : parseIds(inputIds);
        try (TriptychHost h = host.backendPreference(backend).start()) {
            Generator generator = host.modelService(h, Generator.class, Paradigm.LLM, model, backend);
            GenerationRequest request = (rows.isEmpty() ? GenerationRequest.ofPrompts(List.of(prompt), search())
                    : GenerationRequest.ofTokens(rows, search())).withStopStrings(stop);
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            boolean stream = !host.json && rows.isEmpty() && (numBeams == null || numBeams == 1);
            TokenListener listener = stream ? (seq, token, text) -> out.print(text) : (seq, token, text) -> { };
            GenerationResult result = generator.generate(request, listener);
            if (host.json) {
                out.println(json(result));
            } else if (stream) {
                out.println();
            } else if (rows.isEmpty()) {
                // a text prompt searched with beams: each returned sequence's text, numbered when there are several
                List<GeneratedSequence> sequences = result.sequences();
                for (int i = 0; i < sequences.size(); i++) {
                    out.println((sequences.size() > 1 ? "[" + i + "] " : "") + sequences.get(i).text());
                }
            } else {
                for (GeneratedSequence s : result.sequences()) {
                    out.println("[" + s.batchIndex() + "] " + java.util.Arrays.stream(s.tokens()).mapToObj(Integer::toString)
                            .collect(Collectors.joining(",")) + (s.text().isEmpty() ? "" : "  " + s.text()));
                }
            }
        }
        return 0;
    }

    /** The options given; those left out keep ORT GenAI's defaults, which the engine replaces with the model's. */
    private SearchOptions search() {
        SearchOptions.Builder b = SearchOptions.builder();
        if (maxLength != null) b.maxLength(maxLength);
        if (minLength != null) b.minLength(minLength);
        if (doSample != null) b.doSample(doSample);
        if (topK != null) b.topK(topK);
        if (topP != null) b.topP(topP);
        if (temperature != null) b.temperature(temperature);
        if (repetitionPenalty != null) b.repetitionPenalty(repetitionPenalty);
        if (numBeams != null) b.numBeams(numBeams);
        if (numReturnSequences != null) b.numReturnSequences(numReturnSequences);
        if (lengthPenalty != null) b.lengthPenalty(lengthPenalty);
        if (earlyStopping != null) b.earlyStopping(earlyStopping);
        if (randomSeed != null) b.randomSeed(randomSeed);
        return b.build();
    }

    static List<int[]> parseIds(String text) {
        List<int[]> rows = new ArrayList<>();
        for (String row : text.split(";", -1)) {
            String[] parts = row.split(",", -1);
            int[] ids = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    ids[i] = Integer.parseInt(parts[i].trim());
                } catch (NumberFormatException e) {
                    throw new InvalidRequestException("--input-ids: '" + parts[i].trim() + "' in row " + rows.size() + " is not a token id");
                }
            }
            rows.add(ids);
        }
        return rows;
    }

    private static String json(GenerationResult r) {
        Map<String, Object> o = new LinkedHashMap<>();
        List<Map<String, Object>> sequences = new ArrayList<>();
        for (GeneratedSequence s : r.sequences()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("row", s.batchIndex());
            m.put("tokens", s.tokens());
            m.put("text", s.text());
            m.put("finish_reason", s.finishReason().name().toLowerCase(Locale.ROOT));
            if (!Double.isNaN(s.score())) {
                m.put("score", s.score());
            }
            sequences.add(m);
        }
        o.put("sequences", sequences);
        o.put("backend", r.backendId());
        o.put("prompt_tokens", r.promptTokens());
        o.put("generated_tokens", r.generatedTokens());
        o.put("prompt_tokens_per_s", perSecond(r.promptTokens(), r.promptNanos()));
        // the first new token of each sequence comes from the prompt step
        o.put("decode_tokens_per_s", perSecond(Math.max(0, r.generatedTokens() - r.sequences().size()), r.decodeNanos()));
        return new GsonBuilder().disableHtmlEscaping().create().toJson(o);
    }

    private static double perSecond(long tokens, long nanos) {
        return nanos == 0 ? 0 : Math.round(tokens * 1e10 / nanos) / 10.0;
    }
}
