package io.triptych.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.triptych.api.ModelLoadException;

class HfTokenizerTest {
    static final Path GPT2_TOKENIZER = Path.of(System.getProperty("triptych.fixtures", "../../../shared/fixtures"),
            "tiny-random-gpt2-fp32", "tokenizer.json");

    static HfTokenizer gpt2;

    @BeforeAll
    static void load() {
        assertTrue(Files.isRegularFile(GPT2_TOKENIZER), "fixture missing: " + GPT2_TOKENIZER);
        gpt2 = HfTokenizer.load(GPT2_TOKENIZER);
    }

    @AfterAll
    static void close() {
        gpt2.close();
    }

    @Test
    void encodesAndDecodesLikeGpt2() {
        assertArrayEquals(new int[] {15496, 995}, gpt2.encode("Hello world"));
        assertEquals("Hello world", gpt2.decode(new int[] {15496, 995}, true));
        // this tokenizer.json adds 38 whitespace-run tokens after <|endoftext|> (50256)
        assertEquals(50295, gpt2.vocabSize());
        assertEquals(OptionalInt.of(50256), gpt2.tokenId("<|endoftext|>"));
        assertEquals(OptionalInt.of(995), gpt2.tokenId("Ġworld"));
        assertEquals(OptionalInt.empty(), gpt2.tokenId("no such token"));
        assertTrue(gpt2.isSpecial(50256));
    }

    @Test
    void skipsSpecialTokensOnlyWhenAsked() {
        int[] ids = {15496, 50256};
        assertEquals("Hello", gpt2.decode(ids, true));
        assertEquals("Hello<|endoftext|>", gpt2.decode(ids, false));
    }

    @Test
    void streamedPiecesAreWholeCharactersAndConcatenateToTheDecoding() {
        String text = "Grüße aus Köln — 日本語 🙂 and merged-words like unbelievable, done.";
        int[] ids = gpt2.encode(text);
        StreamDecoder stream = gpt2.streamDecoder(true);
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            pieces.add(stream.push(id));
        }
        pieces.add(stream.finish());
        for (String p : pieces) {
            assertFalse(p.contains("\uFFFD"), "a piece holds a broken character: " + pieces);
        }
        assertEquals(text, String.join("", pieces));
        assertEquals(gpt2.decode(ids, true), stream.text());
        // the emoji takes several byte-level tokens: some pushes give nothing until it is complete
        assertTrue(pieces.contains(""), pieces.toString());
    }

    @Test
    void missingOrMalformedTokenizerIsAModelLoadException(@TempDir Path dir) throws Exception {
        ModelLoadException missing = assertThrows(ModelLoadException.class, () -> HfTokenizer.load(dir.resolve("tokenizer.json")));
        assertTrue(missing.getMessage().contains("tokenizer.json"), missing.getMessage());
        Path bad = Files.writeString(dir.resolve("bad.json"), "{ \"model\": ");
        ModelLoadException malformed = assertThrows(ModelLoadException.class, () -> HfTokenizer.load(bad));
        assertTrue(malformed.getMessage().startsWith("malformed tokenizer"), malformed.getMessage());
        Path notTokenizer = Files.writeString(dir.resolve("other.json"), "{\"model\": {\"vocab\": {\"a\": 0}}}");
        assertThrows(ModelLoadException.class, () -> HfTokenizer.load(notTokenizer));
    }
}
