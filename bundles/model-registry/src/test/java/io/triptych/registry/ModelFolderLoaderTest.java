package io.triptych.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.triptych.api.Paradigm;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.api.model.ModelState;

class ModelFolderLoaderTest {
    static final Path GPT2 = Path.of(System.getProperty("triptych.fixtures", "../../../shared/fixtures"), "tiny-random-gpt2-fp32");

    @TempDir
    Path tmp;

    private Path copyOfFixture(String name) throws IOException {
        assertTrue(Files.isDirectory(GPT2), "fixture missing: " + GPT2);
        Path folder = Files.createDirectories(tmp.resolve(name));
        for (String f : new String[] {"genai_config.json", "past.onnx", "tokenizer.json"}) {
            Files.copy(GPT2.resolve(f), folder.resolve(f));
        }
        return folder;
    }

    @Test
    void ortGenAiFolderIsAnLlmWithItsDecoderSignature() throws IOException {
        ModelDescriptor d = ModelFolderLoader.load(copyOfFixture("gpt2"), "test");
        assertEquals(ModelState.DEPLOYED, d.state(), d.failureReason());
        assertEquals("gpt2", d.id());
        assertEquals(Paradigm.LLM, d.paradigm());
        ModelPart part = d.part("past.onnx");
        assertEquals("input_ids: int32[batch_size,seq_len]", part.input("input_ids").toString());
        assertEquals(3 + 5, part.inputs().size());
        assertTrue(part.operators().contains("com.microsoft:Attention"), part.operators().toString());
        assertTrue(part.operators().contains("ai.onnx:MatMul"), part.operators().toString());
    }

    @Test
    void malformedJsonFailsWithTheFileNamed() throws IOException {
        Path folder = copyOfFixture("bad-json");
        Files.writeString(folder.resolve("genai_config.json"), "{\"model\": {\"decoder\": ");
        ModelDescriptor d = ModelFolderLoader.load(folder, "test");
        assertEquals(ModelState.FAILED, d.state());
        assertTrue(d.failureReason().startsWith("malformed genai_config.json"), d.failureReason());
    }

    @Test
    void truncatedOnnxFailsAsUnreadable() throws IOException {
        Path folder = copyOfFixture("truncated");
        byte[] onnx = Files.readAllBytes(folder.resolve("past.onnx"));
        Files.write(folder.resolve("past.onnx"), java.util.Arrays.copyOf(onnx, onnx.length / 2));
        ModelDescriptor d = ModelFolderLoader.load(folder, "test");
        assertEquals(ModelState.FAILED, d.state());
        assertTrue(d.failureReason().startsWith("unreadable ONNX file past.onnx"), d.failureReason());
    }

    @Test
    void missingDecoderFileFails() throws IOException {
        Path folder = copyOfFixture("missing");
        Files.delete(folder.resolve("past.onnx"));
        ModelDescriptor d = ModelFolderLoader.load(folder, "test");
        assertEquals("missing ONNX file past.onnx", d.failureReason());
    }

    @Test
    void folderWithoutADescriptorIsNotAModel() throws IOException {
        ModelDescriptor d = ModelFolderLoader.load(Files.createDirectories(tmp.resolve("empty")), "test");
        assertEquals(ModelState.FAILED, d.state());
        assertNull(d.paradigm());
        assertTrue(d.failureReason().startsWith("not a model folder"), d.failureReason());
    }
}
