package io.triptych.engine.denoiser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.triptych.api.ModelLoadException;
import io.triptych.api.denoiser.DenoiseRequest;
import io.triptych.tokenizers.HfTokenizer;

/**
 * A pipeline whose tokenizer/ holds only CLIP's slow-tokenizer files, as Stable Diffusion ONNX
 * exports do. The folder is tiny-sd with its word-level tokenizer.json replaced by a vocab.json +
 * merges.txt made from it: every word becomes the BPE token {@code word</w>} with the word's id,
 * so the two folders must give the text encoder the same ids and draw the same images.
 */
class ClipTokenizerFolderTest {

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }

    /** The pieces of {@code word} after BPE with {@code merges} (lowest rank first), as CLIP splits it. */
    static List<String> bpe(String word, List<String[]> merges) {
        List<String> pieces = new ArrayList<>();
        for (int i = 0; i < word.length(); i++) {
            pieces.add(i == word.length() - 1 ? word.charAt(i) + "</w>" : String.valueOf(word.charAt(i)));
        }
        while (pieces.size() > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < pieces.size(); i++) {
                for (int r = 0; r < Math.min(bestRank, merges.size()); r++) {
                    if (merges.get(r)[0].equals(pieces.get(i)) && merges.get(r)[1].equals(pieces.get(i + 1))) {
                        best = i;
                        bestRank = r;
                    }
                }
            }
            if (best < 0) {
                break;
            }
            pieces.set(best, pieces.get(best) + pieces.remove(best + 1));
        }
        return pieces;
    }

    /**
     * Writes vocab.json + merges.txt for a word-level vocabulary: special tokens keep their ids,
     * {@code word</w>} takes the word's id, the pieces on the way get new ids after them. Each word
     * gets the merges that join its pieces left to right, after all earlier words' merges, so
     * earlier words still come out whole.
     */
    static void writeClipFiles(Map<String, Integer> words, Path folder) throws IOException {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        int next = words.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        for (Map.Entry<String, Integer> w : words.entrySet()) {
            vocab.put(w.getKey().startsWith("<") ? w.getKey() : w.getKey() + "</w>", w.getValue());
        }
        List<String[]> merges = new ArrayList<>();
        for (String word : words.keySet()) {
            if (word.startsWith("<")) {
                continue;
            }
            for (int i = 0; i < word.length(); i++) {
                String piece = i == word.length() - 1 ? word.charAt(i) + "</w>" : String.valueOf(word.charAt(i));
                if (!vocab.containsKey(piece)) {
                    vocab.put(piece, next++);
                }
            }
            for (List<String> p = bpe(word, merges); p.size() > 1; p = bpe(word, merges)) {
                merges.add(new String[] {p.get(0), p.get(1)});
                if (!vocab.containsKey(p.get(0) + p.get(1))) {
                    vocab.put(p.get(0) + p.get(1), next++);
                }
            }
        }
        Files.writeString(folder.resolve("vocab.json"), new Gson().toJson(vocab));
        StringBuilder m = new StringBuilder("#version: 0.2\n");
        merges.forEach(pair -> m.append(pair[0]).append(' ').append(pair[1]).append('\n'));
        Files.writeString(folder.resolve("merges.txt"), m);
    }

    /** tiny-sd with tokenizer/ as a Stable Diffusion ONNX export has it: vocab.json, merges.txt, the two config files. */
    static Path clipFolder(Path dir) throws IOException {
        Path folder = dir.resolve("tiny-sd-clip");
        copyTree(OnnxDenoiserTest.tinySd(), folder);
        Path tokenizer = folder.resolve("tokenizer");
        JsonObject json = JsonParser.parseString(Files.readString(tokenizer.resolve("tokenizer.json"))).getAsJsonObject();
        Map<String, Integer> words = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : json.getAsJsonObject("model").getAsJsonObject("vocab").entrySet()) {
            words.put(e.getKey(), e.getValue().getAsInt());
        }
        Files.delete(tokenizer.resolve("tokenizer.json"));
        writeClipFiles(words, tokenizer);
        Files.writeString(tokenizer.resolve("special_tokens_map.json"), """
                {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": "<unk>"}
                """);
        return folder;
    }

    @Test
    void encodesAPromptWithTheIdsOfTheTokenizerItWasMadeFrom(@TempDir Path dir) throws IOException {
        Path folder = clipFolder(dir);
        try (HfTokenizer wordLevel = HfTokenizer.load(OnnxDenoiserTest.tinySd().resolve("tokenizer/tokenizer.json"));
                HfTokenizer clip = HfTokenizer.loadFolder(folder.resolve("tokenizer"))) {
            int[] expected = wordLevel.encode("a red circle on the big square");
            assertArrayEquals(new int[] {3, 4, 6, 10, 11, 13, 7}, expected);
            assertArrayEquals(expected, clip.encode("A  Red circle ON the big\tsquare"));
            assertEquals("a red circle on the big square", clip.decode(expected, true));
            assertEquals(0, clip.tokenId("<|startoftext|>").getAsInt());
            assertEquals(1, clip.tokenId("<|endoftext|>").getAsInt());
            assertArrayEquals(new int[] {2}, clip.encode("x"), "unknown pieces are <unk>, as special_tokens_map.json says");
        }
    }

    @Test
    void drawsTheSameImagesAsTheTokenizerJsonFolder(@TempDir Path dir) throws IOException {
        OnnxDenoiser clip = OnnxDenoiserTest.load(clipFolder(dir));
        OnnxDenoiser fast = OnnxDenoiserTest.load(OnnxDenoiserTest.tinySd());
        try {
            DenoiseRequest.Builder request = OnnxDenoiserTest.request().guidanceScale(7.5).negativePrompt("blue square");
            assertArrayEquals(OnnxDenoiserTest.png(fast.denoise(request.build()).images().get(0)),
                    OnnxDenoiserTest.png(clip.denoise(request.build()).images().get(0)));
        } finally {
            clip.close();
            fast.close();
        }
    }

    @Test
    void aMissingMergesFileOrTokenizerIsAModelLoadException(@TempDir Path dir) throws IOException {
        Path folder = clipFolder(dir);
        Files.delete(folder.resolve("tokenizer/merges.txt"));
        assertEquals("missing " + folder.resolve("tokenizer/merges.txt") + " (a CLIP tokenizer needs vocab.json and merges.txt)",
                assertThrows(ModelLoadException.class, () -> OnnxDenoiserTest.load(folder)).getMessage());
        Files.delete(folder.resolve("tokenizer/vocab.json"));
        assertEquals("the pipeline has no tokenizer/tokenizer.json (nor CLIP's tokenizer/vocab.json + merges.txt)",
                assertThrows(ModelLoadException.class, () -> OnnxDenoiserTest.load(folder)).getMessage());
    }
}
