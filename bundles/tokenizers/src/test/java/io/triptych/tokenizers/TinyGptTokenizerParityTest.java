package io.triptych.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * Our tiny-gpt tokenizer, written by its Python training script as a Hugging Face tokenizer.json,
 * gives in DJL (the Rust tokenizers) exactly the ids the training script encoded with.
 */
class TinyGptTokenizerParityTest {
    static final Path MODEL = Path.of("../models/tiny-gpt/src/main/resources/models/tiny-gpt/tokenizer.json");
    static final Path CASES = Path.of("../../models/tiny-gpt/tokenizer_testcases.json");

    @Test
    void djlEncodesEveryReferenceTextAsTheTrainingScriptDid() throws IOException {
        assertTrue(Files.isRegularFile(MODEL) && Files.isRegularFile(CASES), "tiny-gpt tokenizer or its test cases missing");
        JsonObject reference = JsonParser.parseString(Files.readString(CASES)).getAsJsonObject();
        try (HfTokenizer tokenizer = HfTokenizer.load(MODEL)) {
            assertEquals(2000, tokenizer.vocabSize());
            assertEquals(reference.get("eos_token_id").getAsInt(), tokenizer.tokenId("<|endoftext|>").getAsInt());
            int checked = 0;
            for (JsonElement c : reference.getAsJsonArray("cases")) {
                String text = c.getAsJsonObject().get("text").getAsString();
                int[] expected = c.getAsJsonObject().getAsJsonArray("ids").asList().stream().mapToInt(JsonElement::getAsInt).toArray();
                assertArrayEquals(expected, tokenizer.encode(text), "ids of " + text);
                assertEquals(text, tokenizer.decode(expected, true), "round trip of " + text);
                checked++;
            }
            assertTrue(checked >= 30, "only " + checked + " cases");
        }
    }
}
