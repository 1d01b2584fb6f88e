package io.triptych.engine.denoiser;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import io.triptych.api.ModelLoadException;
import io.triptych.api.model.ModelDescriptor;
import io.triptych.api.model.ModelPart;
import io.triptych.api.tensor.DType;
import io.triptych.api.tensor.TensorSpec;
import io.triptych.schedulers.SchedulerConfig;

/**
 * What the engine reads from a diffusers ONNX pipeline folder, all from the files themselves:
 * <ul>
 * <li>{@code unet/model.onnx} (required): inputs {@code sample} [b, C, H, W], {@code timestep}
 *     (its dtype — int64, int32 or float32 — and rank — scalar or [b] — are the graph's), and
 *     {@code encoder_hidden_states} when text-conditioned; its first output is the prediction.
 *     C, H and W come from the graph, else from {@code unet/config.json}
 *     ({@code in_channels}, {@code sample_size}), else 4 and 64.</li>
 * <li>{@code text_encoder/model.onnx} with {@code input_ids} (int32 or int64) and the hidden states
 *     as first output, and in {@code tokenizer/} either {@code tokenizer.json} (a Hugging Face fast
 *     tokenizer) or CLIP's slow-tokenizer files {@code vocab.json} + {@code merges.txt}, as Stable
 *     Diffusion ONNX exports hold them (converted as {@code CLIPTokenizerFast} converts them), with
 *     {@code tokenizer_config.json} ({@code bos_token}, {@code eos_token}, {@code pad_token},
 *     {@code model_max_length}, default 77) and optionally {@code special_tokens_map.json}, whose
 *     tokens win as in transformers (resolved by {@code HfTokenizer.loadFolder}). CLIP folders without
 *     those tokens get CLIP's ({@code <|startoftext|>}, {@code <|endoftext|>}).</li>
 * <li>{@code vae_decoder/model.onnx} ({@code latent_sample} → image in [−1, 1]) makes it a latent
 *     pipeline, with {@code scaling_factor} from {@code vae_decoder/config.json} (or {@code vae/}),
 *     0.18215 if none is given; without it the UNet works in pixel space.
 *     {@code vae_encoder/model.onnx} ({@code sample} → latents) enables img2img on latent pipelines.</li>
 * <li>{@code scheduler/scheduler_config.json}, read by {@link io.triptych.schedulers.Schedulers}.</li>
 * </ul>
 */
final class Pipeline {
    static final String UNET = "unet/model.onnx";
    static final String TEXT_ENCODER = "text_encoder/model.onnx";
    static final String VAE_DECODER = "vae_decoder/model.onnx";
    static final String VAE_ENCODER = "vae_encoder/model.onnx";

    final ModelPart unet;
    final ModelPart textEncoder;
    final ModelPart vaeDecoder;
    final ModelPart vaeEncoder;
    final TensorSpec timestep;
    final String unetOutput;
    final boolean textConditioned;
    final int channels;
    final int height;
    final int width;
    final float scalingFactor;
    final SchedulerConfig scheduler;
    /** The {@code tokenizer/} folder, for {@link io.triptych.tokenizers.HfTokenizer#loadFolder}; {@code null} without a text encoder. */
    final Path tokenizerFolder;
    final int maxTokens;
    final DType inputIdsType;

    Pipeline(ModelDescriptor model) {
        Path folder = model.folder();
        unet = model.part(UNET);
        textEncoder = model.parts().get(TEXT_ENCODER);
        vaeDecoder = model.parts().get(VAE_DECODER);
        vaeEncoder = model.parts().get(VAE_ENCODER);
        TensorSpec sample = require(unet, "sample");
        if (sample.dtype() != DType.FLOAT32 || sample.rank() != 4) {
            throw new ModelLoadException(UNET + ": input 'sample' must be float32 [batch, channels, height, width], not " + sample);
        }
        timestep = require(unet, "timestep");
        if (timestep.rank() > 1 || timestep.dtype() != DType.INT64 && timestep.dtype() != DType.INT32 && timestep.dtype() != DType.FLOAT32) {
            throw new ModelLoadException(UNET + ": input 'timestep' must be an int64, int32 or float32 scalar or [batch], not " + timestep);
        }
        unetOutput = unet.outputs().get(0).name();
        textConditioned = unet.input("encoder_hidden_states") != null;
        if (textConditioned && textEncoder == null) {
            throw new ModelLoadException("the UNet takes encoder_hidden_states but the pipeline has no " + TEXT_ENCODER);
        }
        JsonObject unetConfig = optionalJson(folder.resolve("unet/config.json"));
        long[] dims = sample.shape();
        channels = (int) (dims[1] > 0 ? dims[1] : intOr(unetConfig, "in_channels", 4));
        height = (int) (dims[2] > 0 ? dims[2] : intOr(unetConfig, "sample_size", 64));
        width = (int) (dims[3] > 0 ? dims[3] : intOr(unetConfig, "sample_size", 64));
        JsonObject vaeConfig = optionalJson(folder.resolve("vae_decoder/config.json"));
        if (vaeConfig == null) {
            vaeConfig = optionalJson(folder.resolve("vae/config.json"));
        }
        scalingFactor = vaeDecoder == null ? 1f : (float) doubleOr(vaeConfig, "scaling_factor", 0.18215);
        if (vaeDecoder == null && channels != 3) {
            throw new ModelLoadException("a pipeline without " + VAE_DECODER + " must denoise 3-channel images, not " + channels + " channels");
        }
        Path schedulerFile = folder.resolve("scheduler/scheduler_config.json");
        if (!Files.exists(schedulerFile)) {
            throw new ModelLoadException("the pipeline has no scheduler/scheduler_config.json");
        }
        scheduler = SchedulerConfig.read(schedulerFile);
        if (textEncoder != null) {
            TensorSpec ids = require(textEncoder, "input_ids");
            inputIdsType = ids.dtype();
            if (inputIdsType != DType.INT32 && inputIdsType != DType.INT64) {
                throw new ModelLoadException(TEXT_ENCODER + ": input_ids must be int32 or int64, not " + ids);
            }
            tokenizerFolder = folder.resolve("tokenizer");
            if (!Files.exists(tokenizerFolder.resolve("tokenizer.json")) && !Files.exists(tokenizerFolder.resolve("vocab.json"))) {
                throw new ModelLoadException("the pipeline has no tokenizer/tokenizer.json (nor CLIP's tokenizer/vocab.json + merges.txt)");
            }
            long fixed = ids.rank() == 2 ? ids.shape()[1] : -1;
            maxTokens = fixed > 0 ? (int) fixed : (int) intOr(optionalJson(tokenizerFolder.resolve("tokenizer_config.json")), "model_max_length", 77);
        } else {
            inputIdsType = null;
            tokenizerFolder = null;
            maxTokens = 0;
        }
    }

    /** The parts compiled together on one backend. */
    List<ModelPart> parts() {
        List<ModelPart> p = new ArrayList<>();
        p.add(unet);
        for (ModelPart optional : new ModelPart[] {textEncoder, vaeDecoder, vaeEncoder}) {
            if (optional != null) {
                p.add(optional);
            }
        }
        return p;
    }

    private static TensorSpec require(ModelPart part, String input) {
        TensorSpec s = part.input(input);
        if (s == null) {
            throw new ModelLoadException(part.name() + " has no input '" + input + "' (inputs: " + part.inputs() + ")");
        }
        return s;
    }

    private static JsonObject optionalJson(Path file) {
        if (!Files.exists(file)) {
            return null;
        }
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonElement e = JsonParser.parseReader(r);
            if (!e.isJsonObject()) {
                throw new ModelLoadException("malformed " + file + ": not a JSON object");
            }
            return e.getAsJsonObject();
        } catch (IOException | JsonParseException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static long intOr(JsonObject o, String key, long fallback) {
        return o != null && o.has(key) && o.get(key).isJsonPrimitive() ? o.get(key).getAsLong() : fallback;
    }

    private static double doubleOr(JsonObject o, String key, double fallback) {
        return o != null && o.has(key) && o.get(key).isJsonPrimitive() ? o.get(key).getAsDouble() : fallback;
    }
}
