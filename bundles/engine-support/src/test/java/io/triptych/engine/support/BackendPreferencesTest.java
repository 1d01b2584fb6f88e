package io.triptych.engine.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.triptych.api.InvalidRequestException;
import io.triptych.api.backend.CompiledModel;
import io.triptych.api.backend.ComputeBackend;
import io.triptych.api.backend.DeviceKind;
import io.triptych.api.model.ModelPart;

class BackendPreferencesTest {

    static ComputeBackend backend(String id, int score) {
        return new ComputeBackend() {
            @Override public String id() { return id; }
            @Override public DeviceKind deviceKind() { return DeviceKind.CPU; }
            @Override public String deviceDescription() { return id; }
            @Override public int score() { return score; }
            @Override public boolean supports(String operator) { return true; }
            @Override public CompiledModel compile(ModelPart part) { throw new UnsupportedOperationException(); }
        };
    }

    private static List<String> ids(List<ComputeBackend> ranked) {
        return ranked.stream().map(ComputeBackend::id).toList();
    }

    private final List<ComputeBackend> backends = List.of(backend("ort-cpu", 100), backend("opencl", 50), backend("ort-cuda", 200));

    @Test
    void withoutPreferencesTheHighestScoreComesFirst() {
        assertEquals(List.of("ort-cuda", "ort-cpu", "opencl"), ids(BackendPreferences.NONE.rank("m", backends)));
    }

    @Test
    void theOrderComesBeforeScoresAndUnlistedBackendsStillFollow() {
        BackendPreferences p = BackendPreferences.parse(new String[] {"opencl", "ort-cpu"}, new String[0]);
        assertEquals(List.of("opencl", "ort-cpu", "ort-cuda"), ids(p.rank("m", backends)));
        assertEquals(p, BackendPreferences.parse(new String[] {"opencl, ort-cpu"}, null), "a .cfg file's comma-separated form");
    }

    @Test
    void aPinComesFirstForItsModelOnly() {
        BackendPreferences p = BackendPreferences.parse(new String[] {"ort-cpu"}, new String[] {"tiny-gpt=opencl"});
        assertEquals(List.of("opencl", "ort-cpu", "ort-cuda"), ids(p.rank("tiny-gpt", backends)));
        assertEquals(List.of("ort-cpu", "ort-cuda", "opencl"), ids(p.rank("other", backends)));
        assertEquals(List.of("ort-cuda", "ort-cpu", "opencl"), ids(p.preferring("ort-cuda").rank("other", backends)));
    }

    @Test
    void aMalformedPinIsATypedError() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> BackendPreferences.parse(new String[0], new String[] {"tiny-gpt"}));
        assertEquals("backend pin 'tiny-gpt' is not of the form model=backend", e.getMessage());
    }
}
