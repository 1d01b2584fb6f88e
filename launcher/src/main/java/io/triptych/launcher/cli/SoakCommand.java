package io.triptych.launcher.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;
import org.osgi.framework.ServiceReference;

import com.google.gson.GsonBuilder;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.Paradigm;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.generator.GenerationRequest;
import io.triptych.api.generator.GenerationResult;
import io.triptych.api.generator.Generator;
import io.triptych.api.generator.SearchOptions;
import io.triptych.launcher.TriptychHost;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The hot-swap soak: N clients run greedy generations against one model while a driver swaps
 * its backend by every means (preference flip, backend bundle stop/start, bundle update); every
 * output is compared with a reference run made before any swap.
 */
@Command(name = "soak", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Runs concurrent greedy generations while swapping backends (preference flips, bundle stop/start, bundle "
                + "update) and prints JSON: requests, failed, mismatched, swaps, latencies steady and during swaps, time to first "
                + "request served after a swap.")
final class SoakCommand implements Callable<Integer> {

    @Mixin
    HostOptions host;

    @Option(names = "--model", paramLabel = "ID|FOLDER", defaultValue = "tiny-gpt", description = "Model to generate with (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--clients", defaultValue = "4", description = "Concurrent clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--duration", defaultValue = "60s", description = "How long to run, e.g. 60s, 2m (default: ${DEFAULT-VALUE}).")
    String duration;

    @Option(names = "--swap-every", defaultValue = "200ms", description = "Time between swaps, e.g. 200ms, 1s (default: ${DEFAULT-VALUE}).")
    String swapEvery;

    @Option(names = "--max-length", defaultValue = "24", description = "Total length of each generation (default: ${DEFAULT-VALUE}).")
    int maxLength;

    /** A swap: when it started, and the backend it moved the model to. */
    private record Swap(long nanos, String means, String target) {
    }

    @Override
    public Integer call() throws Exception {
        Duration total = parseDuration("--duration", duration);
        Duration every = parseDuration("--swap-every", swapEvery);
        if (clients < 1) {
            throw new InvalidRequestException("--clients must be ≥ 1, got " + clients);
        }
        try (TriptychHost h = host.builder().start()) {
            Generator generator = host.modelService(h, Generator.class, Paradigm.LLM, model, null);
            List<String> backends = h.backends().stream().map(ComputeBackend::id).sorted().toList();
            if (backends.size() < 2) {
                throw new InvalidRequestException("a soak needs two backends that can run " + model + ", found " + backends);
            }
            List<int[]> prompts = prompts(generator);
            SearchOptions search = SearchOptions.builder().maxLength(maxLength).build();
            List<int[]> reference = new ArrayList<>();
            for (int[] p : prompts) {
                reference.add(generator.generate(GenerationRequest.ofTokens(List.of(p), search)).sequences().get(0).tokens());
            }

            AtomicLong requests = new AtomicLong();
            AtomicLong failed = new AtomicLong();
            AtomicLong mismatched = new AtomicLong();
            AtomicLong swapCount = new AtomicLong();
            AtomicReference<Swap> lastSwap = new AtomicReference<>();
            ConcurrentLinkedQueue<Double> steady = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<Double> duringSwaps = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<Double> firstServed = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
            long end = System.nanoTime() + total.toNanos();

            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                threads.add(startThread("soak-client-" + c, () -> {
                    for (int i = client; System.nanoTime() < end; i++) {
                        int which = i % prompts.size();
                        long swapsBefore = swapCount.get();
                        long start = System.nanoTime();
                        try {
                            GenerationResult r = generator.generate(GenerationRequest.ofTokens(List.of(prompts.get(which)), search));
                            long done = System.nanoTime();
                            requests.incrementAndGet();
                            if (!Arrays.equals(reference.get(which), r.sequences().get(0).tokens())) {
                                mismatched.incrementAndGet();
                            }
                            (swapCount.get() == swapsBefore ? steady : duringSwaps).add((done - start) / 1e6);
                            Swap s = lastSwap.get();
                            if (s != null && r.backendId().equals(s.target()) && start >= s.nanos() && lastSwap.compareAndSet(s, null)) {
                                firstServed.add((done - s.nanos()) / 1e6);
                            }
                        } catch (RuntimeException e) {
                            requests.incrementAndGet();
                            failed.incrementAndGet();
                            errors.add(e.toString());
                            pause();
                        }
                    }
                }));
            }

            String[] means = {"preference", "bundle-stop-start", "bundle-update"};
            Map<String, ConcurrentLinkedQueue<Double>> swapMillis = new LinkedHashMap<>();
            for (String m : means) {
                swapMillis.put(m, new ConcurrentLinkedQueue<>());
            }
            // swaps start at a fixed rate: one that takes longer than the period is followed at once
            long nextSwap = System.nanoTime() + every.toNanos();
            for (int next = 0; nextSwap < end; next++, nextSwap += every.toNanos()) {
                long wait = nextSwap - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                String current = generator.backendId();
                String target = backends.get((backends.indexOf(current) + 1) % backends.size());
                String how = means[next % means.length];
                long started = System.nanoTime();
                lastSwap.set(new Swap(started, how, target));
                swapCount.incrementAndGet();
                swap(h, how, current, target);
                swapMillis.get(how).add((System.nanoTime() - started) / 1e6);
            }
            for (Thread t : threads) {
                t.join();
            }

            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", generator.model().id());
            o.put("backends", backends);
            o.put("clients", clients);
            o.put("duration_s", total.toMillis() / 1000.0);
            o.put("requests", requests.get());
            o.put("failed", failed.get());
            o.put("mismatched", mismatched.get());
            o.put("swaps", swapCount.get());
            o.put("latency_ms_steady", percentiles(steady));
            o.put("latency_ms_during_swaps", percentiles(duringSwaps));
            o.put("first_request_after_swap_ms", percentiles(firstServed));
            Map<String, Object> swapTimes = new LinkedHashMap<>();
            swapMillis.forEach((how, times) -> swapTimes.put(how, percentiles(times)));
            o.put("swap_ms_by_means", swapTimes);
            o.put("errors", errors.stream().distinct().limit(5).toList());
            System.out.println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(o));
            return failed.get() == 0 && mismatched.get() == 0 ? 0 : 1;
        }
    }

    /**
     * Moves the model from {@code current} to {@code target}: by putting {@code target} first in
     * the preferences, by stopping and restarting {@code current}'s bundle, or by updating it
     * (both with {@code target} preferred, so the model moves there and stays).
     */
    private static void swap(TriptychHost h, String how, String current, String target) throws BundleException {
        Map<String, Object> prefs = h.backendPreferences();
        prefs.put("order", new String[] {target});
        h.configure(TriptychHost.BACKENDS_PID, prefs);
        if (how.equals("preference") || current == null) {
            return;
        }
        Bundle bundle = backendBundle(h, current);
        if (how.equals("bundle-update")) {
            bundle.update();
        } else {
            bundle.stop();
            bundle.start();
        }
    }

    private static Bundle backendBundle(TriptychHost h, String backendId) {
        try {
            ServiceReference<?>[] refs = h.bundleContext().getServiceReferences(ComputeBackend.class.getName(),
                    "(" + ComputeBackend.PROPERTY_ID + "=" + backendId + ")");
            if (refs == null) {
                throw new InvalidRequestException("backend " + backendId + " is not registered");
            }
            return refs[0].getBundle();
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new InvalidRequestException("malformed backend id " + backendId);
        }
    }

    /** A few prompts in the model's vocabulary: text when it has a tokenizer, else low token ids. */
    private static List<int[]> prompts(Generator g) {
        List<int[]> out = new ArrayList<>();
        for (String text : new String[] {"The meaning of life is", "A man walks into a bar", "Q: What is the best", "Once upon a time"}) {
            try {
                out.add(g.encode(text));
            } catch (InvalidRequestException noTokenizer) {
                out.add(new int[] {out.size() + 1, 2 * out.size() + 3, 7});
            }
        }
        return out;
    }

    private static Map<String, Object> percentiles(ConcurrentLinkedQueue<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", sorted.size());
        m.put("p50", sorted.isEmpty() ? null : Math.round(sorted.get(sorted.size() / 2) * 10) / 10.0);
        m.put("p99", sorted.isEmpty() ? null : Math.round(sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * 0.99))) * 10) / 10.0);
        return m;
    }

    /** A client that just failed waits a little, so that a failure is counted once, not in a tight loop. */
    private static void pause() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Thread startThread(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.start();
        return t;
    }

    static Duration parseDuration(String option, String text) {
        var m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m)").matcher(text.trim());
        if (!m.matches()) {
            throw new InvalidRequestException(option + " '" + text + "' is not a duration like 200ms, 60s or 2m");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            default -> Duration.ofMinutes(n);
        };
        if (d.isZero()) {
            throw new InvalidRequestException(option + " must be > 0");
        }
        return d;
    }
}
