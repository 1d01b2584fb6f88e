package io.triptych.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.triptych.api.ModelLoadException;
import io.triptych.tokenizers.internal.ClipTokenizerJson;

/**
 * CLIP's slow-tokenizer files (vocab.json + merges.txt) turned into CLIPTokenizerFast's pipeline.
 * The real 49,408-token vocabulary is not available offline, so a small one made by the same rules
 * stands in: byte-level pieces, word-final pieces ending in {@code </w>}, the special tokens at
 * CLIP's ids 49406 and 49407.
 */
class ClipTokenizerTest {
    static final int BOS = 49406;
    static final int EOS = 49407;

    /** Pieces first, then what the merges make, then the special tokens, as CLIP's vocab.json orders them. */
    static final String VOCAB = """
            {"!": 0, "!</w>": 1, "'": 2, ",</w>": 3, "2</w>": 4, "4</w>": 5, "a": 6, "a</w>": 7, "c": 8, "f</w>": 9,
             "h": 10, "i": 11, "o": 12, "o</w>": 13, "p": 14, "s</w>": 15, "t": 16, "t</w>": 17,
             "ph": 18, "pho": 19, "phot": 20, "photo</w>": 21, "ca": 22, "cat</w>": 23, "cat": 24, "of</w>": 25,
             "it</w>": 26, "'s</w>": 27, "!!</w>": 28,
             "<|startoftext|>": 49406, "<|endoftext|>": 49407}
            """;
    static final String MERGES = """
            #version: 0.2
            p h
            ph o
            pho t
            phot o</w>
            c a
            ca t</w>
            ca t
            o f</w>
            i t</w>
            ' s</w>
            ! !</w>
            """;

    @TempDir
    static Path dir;
    static HfTokenizer clip;

    static Path write(Path folder, String name, String text) {
        try {
            Files.createDirectories(folder);
            return Files.writeString(folder.resolve(name), text);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeAll
    static void load() {
        clip = HfTokenizer.loadClip(write(dir, "vocab.json", VOCAB), write(dir, "merges.txt", MERGES), Map.of());
    }

    @AfterAll
    static void close() {
        clip.close();
    }

    @Test
    void wordsEndInTheEndOfWordPieceAndMergeByRank() {
        assertArrayEquals(new int[] {7}, clip.encode("a"), "a → a</w>");
        assertEquals(OptionalInt.of(7), clip.tokenId("a</w>"));
        assertArrayEquals(new int[] {7, 21, 25, 7, 23}, clip.encode("a photo of a cat"));
        // no merge makes cats</w>: the word ends in its own s</w> piece
        assertArrayEquals(new int[] {24, 15}, clip.encode("cats"));
    }

    @Test
    void lowercasesAndCollapsesWhitespace() {
        int[] plain = clip.encode("a photo");
        assertArrayEquals(new int[] {7, 21}, plain);
        assertArrayEquals(plain, clip.encode("A Photo"));
        assertArrayEquals(plain, clip.encode("A PHOTO"));
        assertArrayEquals(plain, clip.encode("  a \t\n\u00a0 photo  "));
    }

    @Test
    void splitsContractionsPunctuationRunsAndEachDigit() {
        assertArrayEquals(new int[] {26, 27}, clip.encode("it's"));
        assertArrayEquals(new int[] {24, 15, 28}, clip.encode("cats!!"));
        assertArrayEquals(new int[] {23, 3, 5, 4, 1}, clip.encode("cat, 42!"));
        assertArrayEquals(new int[] {5, 4}, clip.encode("42"), "one word per digit");
    }

    @Test
    void specialTokensComeFromTheVocabularyAndMatchTheRawText() {
        assertEquals(OptionalInt.of(BOS), clip.tokenId("<|startoftext|>"));
        assertEquals(OptionalInt.of(EOS), clip.tokenId("<|endoftext|>"));
        assertTrue(clip.isSpecial(BOS) && clip.isSpecial(EOS));
        assertFalse(clip.isSpecial(7));
        assertEquals(EOS + 1, clip.vocabSize());
        assertArrayEquals(new int[] {BOS, 7, 21, EOS}, clip.encode("<|startoftext|>a photo<|endoftext|>"));
    }

    @Test
    void aPieceMissingFromTheVocabularyIsOneUnknownTokenEach() {
        // unk_token is <|endoftext|> as in CLIP; é is two bytes, two byte-level pieces, neither in this vocabulary
        assertArrayEquals(new int[] {EOS, EOS}, clip.encode("é"));
        assertArrayEquals(new int[] {7, EOS}, clip.encode("a x"));
    }

    @Test
    void decodesToTheLowercasedWordsWithSpaces() {
        assertEquals("a photo of a cat", clip.decode(clip.encode("A Photo of a CAT"), true));
        assertEquals("cats", clip.decode(new int[] {24, 15}, true));
        // every pre-token is its own word, as CLIPTokenizerFast decodes it
        assertEquals("a cat , 4 2 !", clip.decode(clip.encode("A cat, 42!"), true));
        int[] withSpecials = {BOS, 7, 21, EOS};
        assertEquals("a photo", clip.decode(withSpecials, true));
        assertEquals("<|startoftext|>a photo <|endoftext|>", clip.decode(withSpecials, false));
        assertEquals("", clip.decode(new int[0], true));
    }

    @Test
    void streamedPiecesConcatenateToTheDecoding() {
        int[] ids = clip.encode("A photo of cats, 42!! it's a cat");
        StreamDecoder stream = clip.streamDecoder(true);
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            pieces.add(stream.push(id));
        }
        pieces.add(stream.finish());
        assertEquals("a photo of cats , 4 2 !! it 's a cat", String.join("", pieces));
        assertEquals(clip.decode(ids, true), stream.text());
    }

    @Test
    void buildsTheDocumentCLIPTokenizerFastSaves() {
        JsonObject doc = ClipTokenizerJson.build(dir.resolve("vocab.json"), dir.resolve("merges.txt"), Map.of(), Map.of());
        assertEquals(JsonParser.parseString("""
                {"type": "Sequence", "normalizers": [{"type": "NFC"},
                 {"type": "Replace", "pattern": {"Regex": "\\\\s+"}, "content": " "}, {"type": "Lowercase"}]}
                """), doc.get("normalizer"));
        assertEquals(JsonParser.parseString("""
                {"type": "Sequence", "pretokenizers": [
                 {"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d|[\\\\p{L}]+|[\\\\p{N}]|[^\\\\s\\\\p{L}\\\\p{N}]+"},
                  "behavior": "Removed", "invert": true},
                 {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]}
                """), doc.get("pre_tokenizer"));
        assertEquals(JsonParser.parseString("""
                {"type": "RobertaProcessing", "sep": ["<|endoftext|>", 49407], "cls": ["<|startoftext|>", 49406],
                 "trim_offsets": false, "add_prefix_space": false}
                """), doc.get("post_processor"));
        assertEquals("ByteLevel", doc.getAsJsonObject("decoder").get("type").getAsString());
        JsonObject model = doc.getAsJsonObject("model");
        assertEquals("BPE", model.get("type").getAsString());
        assertEquals("", model.get("continuing_subword_prefix").getAsString());
        assertEquals("</w>", model.get("end_of_word_suffix").getAsString());
        assertEquals("<|endoftext|>", model.get("unk_token").getAsString());
        assertFalse(model.get("fuse_unk").getAsBoolean());
        assertEquals(11, model.getAsJsonArray("merges").size(), "the #version header is not a merge");
        assertEquals(JsonParser.parseString("""
                [{"id": 49406, "content": "<|startoftext|>", "single_word": false, "lstrip": false, "rstrip": false,
                  "normalized": false, "special": true},
                 {"id": 49407, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false,
                  "normalized": false, "special": true}]
                """), doc.get("added_tokens"));
    }

    @Test
    void specialTokensTheVocabularyLacksGetTheNextIds(@TempDir Path d) {
        Path vocab = write(d, "vocab.json", VOCAB.replace(",\n \"<|startoftext|>\": 49406, \"<|endoftext|>\": 49407", ""));
        assertFalse(readString(vocab).contains("startoftext"), "fixture still has the special tokens");
        try (HfTokenizer t = HfTokenizer.loadClip(vocab, write(d, "merges.txt", MERGES), Map.of("unk_token", "<unk>"))) {
            assertEquals(OptionalInt.of(29), t.tokenId("<|startoftext|>"));
            assertEquals(OptionalInt.of(30), t.tokenId("<|endoftext|>"));
            assertEquals(OptionalInt.of(31), t.tokenId("<unk>"));
            assertArrayEquals(new int[] {7, 31}, t.encode("a x"));
            assertEquals(32, t.vocabSize());
        }
        assertThrows(IllegalArgumentException.class, () -> HfTokenizer.loadClip(vocab, d.resolve("merges.txt"), Map.of("cls_token", "x")));
    }

    static String readString(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aFolderTakesItsSpecialAndAddedTokensFromTheConfigFiles(@TempDir Path d) {
        write(d, "vocab.json", VOCAB);
        write(d, "merges.txt", MERGES);
        // as Stable Diffusion 2 saves it: pad "!" in special_tokens_map.json wins over the config's
        write(d, "tokenizer_config.json", """
                {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": true,
                 "bos_token": {"__type": "AddedToken", "content": "<|startoftext|>", "lstrip": false, "normalized": true,
                               "rstrip": false, "single_word": false},
                 "eos_token": {"__type": "AddedToken", "content": "<|endoftext|>", "lstrip": false, "normalized": true,
                               "rstrip": false, "single_word": false},
                 "pad_token": "<|endoftext|>",
                 "added_tokens_decoder": {"49408": {"content": "<cat-toy>", "lstrip": false, "normalized": true,
                                                    "rstrip": false, "single_word": false, "special": false}}}
                """);
        write(d, "special_tokens_map.json", "{\"pad_token\": \"!\"}");
        try (HfTokenizer t = HfTokenizer.loadFolder(d)) {
            assertTrue(t.isSpecial(0), "the pad token ! is special");
            assertArrayEquals(new int[] {23, 0}, t.encode("cat!"));
            assertArrayEquals(new int[] {7, 49408}, t.encode("a <Cat-Toy>"), "a normalized added token matches the lowercased text");
            assertFalse(t.isSpecial(49408));
            assertEquals(49409, t.vocabSize());
            assertArrayEquals(new int[] {BOS, 7, EOS}, t.encode("<|startoftext|>a<|endoftext|>"));
        }
    }

    @Test
    void aFolderWithTokenizerJsonUsesIt(@TempDir Path d) throws IOException {
        Files.copy(HfTokenizerTest.GPT2_TOKENIZER, d.resolve("tokenizer.json"));
        write(d, "vocab.json", "not read");
        try (HfTokenizer t = HfTokenizer.loadFolder(d)) {
            assertArrayEquals(new int[] {15496, 995}, t.encode("Hello world"));
            assertEquals("Hello world", t.decode(new int[] {15496, 995}, true));
        }
    }

    @Test
    void readsNoMoreMergesThanCLIPTokenizer(@TempDir Path d) {
        write(d, "vocab.json", VOCAB);
        StringBuilder merges = new StringBuilder("#version: 0.2\n");
        for (int i = 0; i < 49152 - 256 - 2; i++) {
            merges.append("c a\n");
        }
        merges.append("ca t</w>\n");
        try (HfTokenizer t = HfTokenizer.loadClip(d.resolve("vocab.json"), write(d, "merges.txt", merges.toString()), Map.of())) {
            assertArrayEquals(new int[] {22, 17}, t.encode("cat"), "merge 48,895 is past CLIPTokenizer's limit");
        }
    }

    static String loadError(Path folder) {
        String message = assertThrows(ModelLoadException.class, () -> HfTokenizer.loadFolder(folder).close()).getMessage();
        assertFalse(message.contains("\n"), "one line: " + message);
        return message;
    }

    @Test
    void badFilesAreOneLineModelLoadExceptions(@TempDir Path d) {
        Path empty = d.resolve("empty");
        write(empty, "tokenizer_config.json", "{}");
        assertEquals("no tokenizer in " + empty + ": it has neither tokenizer.json nor CLIP's vocab.json + merges.txt", loadError(empty));

        Path noMerges = d.resolve("no-merges");
        write(noMerges, "vocab.json", VOCAB);
        assertEquals("missing " + noMerges.resolve("merges.txt") + " (a CLIP tokenizer needs vocab.json and merges.txt)", loadError(noMerges));

        Path truncated = d.resolve("truncated");
        write(truncated, "vocab.json", "{\"a</w>\": ");
        write(truncated, "merges.txt", MERGES);
        assertTrue(loadError(truncated).startsWith("malformed " + truncated.resolve("vocab.json") + ": "));

        Path badId = d.resolve("bad-id");
        write(badId, "vocab.json", "{\"a</w>\": \"seven\"}");
        write(badId, "merges.txt", MERGES);
        assertEquals("malformed " + badId.resolve("vocab.json") + ": the id of 'a</w>' is \"seven\", not a token id", loadError(badId));

        Path notObject = d.resolve("not-object");
        write(notObject, "vocab.json", "[\"a</w>\"]");
        write(notObject, "merges.txt", MERGES);
        assertTrue(loadError(notObject).startsWith("malformed " + notObject.resolve("vocab.json") + ": not a JSON object"));

        Path unknownPiece = d.resolve("unknown-piece");
        write(unknownPiece, "vocab.json", VOCAB);
        write(unknownPiece, "merges.txt", "#version: 0.2\np h\nq u\n");
        assertEquals("malformed " + unknownPiece.resolve("merges.txt") + ": line 3 'q u' needs 'q', which vocab.json lacks",
                loadError(unknownPiece));

        Path threeParts = d.resolve("three-parts");
        write(threeParts, "vocab.json", VOCAB);
        write(threeParts, "merges.txt", "#version: 0.2\np h o\n");
        assertEquals("malformed " + threeParts.resolve("merges.txt") + ": line 2 'p h o' is not two tokens", loadError(threeParts));

        Path gpt2 = d.resolve("gpt2");
        write(gpt2, "vocab.json", VOCAB);
        write(gpt2, "merges.txt", MERGES);
        write(gpt2, "tokenizer_config.json", "{\"tokenizer_class\": \"GPT2Tokenizer\"}");
        assertEquals("no tokenizer.json in " + gpt2 + ", and its vocab.json + merges.txt belong to GPT2Tokenizer: only CLIPTokenizer's are converted",
                loadError(gpt2));
    }
}
