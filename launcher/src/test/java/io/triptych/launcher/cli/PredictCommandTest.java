package io.triptych.launcher.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code triptych predict} refuses bad input with exit code 2 and one line, before it starts a host. */
class PredictCommandTest {

    /** The exit code and what went to stderr. */
    private static String run(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            int code = Main.execute(args);
            return code + " " + captured.toString(StandardCharsets.UTF_8).strip();
        } finally {
            System.setErr(err);
        }
    }

    @Test
    void needsExactlyOneImageSource(@TempDir Path dir) {
        assertEquals("2 triptych: give --image or --stream, not both or neither", run("predict", "--labels", "a,b"));
        assertEquals("2 triptych: give --image or --stream, not both or neither",
                run("predict", "--image", "x.png", "--stream", dir.toString(), "--labels", "a"));
    }

    @Test
    void refusesImagesItCannotRead(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("missing.png");
        assertEquals("2 triptych: no such image file: " + missing, run("predict", "--image", missing.toString(), "--labels", "a"));
        Path text = Files.writeString(dir.resolve("notes.png"), "not an image");
        assertEquals("2 triptych: cannot read image " + text + ": not a PNG or JPEG file", run("predict", "--image", text.toString(), "--labels", "a"));
    }

    @Test
    void aStreamNeedsLabelsAndFrames(@TempDir Path dir) throws IOException {
        assertEquals("2 triptych: --stream needs --labels to decode the frames to", run("predict", "--stream", dir.toString()));
        Files.writeString(dir.resolve("readme.txt"), "no frames here");
        assertEquals("2 triptych: --stream: no PNG or JPEG files in " + dir, run("predict", "--stream", dir.toString(), "--labels", "a"));
        assertEquals("2 triptych: --stream: not a folder: " + dir.resolve("readme.txt"),
                run("predict", "--stream", dir.resolve("readme.txt").toString(), "--labels", "a"));
    }
}
