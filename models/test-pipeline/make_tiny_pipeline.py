"""Writes a tiny random-weight diffusers ONNX pipeline folder for the denoiser engine's tests.

Layout as diffusers' ONNX exports (model_index.json, text_encoder/, unet/, vae_decoder/,
vae_encoder/, scheduler/, tokenizer/), shapes shrunk: latents [b, 4, 8, 8], images 64x64,
text [b, 16, 32]. The weights are random (seed 0): the images mean nothing, the mechanics are real.

usage: /usr/bin/python3 make_tiny_pipeline.py <out-folder>
"""
import json
import os
import sys

import torch
from torch import nn

OUT = sys.argv[1]
SEQ, DIM, VOCAB, CH, LAT = 16, 32, 32, 4, 8
torch.manual_seed(0)


class TextEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, DIM)
        self.pos = nn.Parameter(torch.randn(SEQ, DIM) * 0.1)
        self.proj = nn.Linear(DIM, DIM)

    def forward(self, input_ids):
        return torch.tanh(self.proj(self.emb(input_ids.long()) + self.pos))


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_in = nn.Conv2d(CH, 16, 3, padding=1)
        self.time = nn.Linear(8, 16)
        self.text = nn.Linear(DIM, 16)
        self.conv_out = nn.Conv2d(16, CH, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states):
        freqs = torch.exp(torch.arange(4, dtype=torch.float32) * -2.0)
        t = timestep.float().reshape(-1, 1) * freqs
        temb = self.time(torch.cat([torch.sin(t), torch.cos(t)], dim=1))
        cond = self.text(encoder_hidden_states.mean(dim=1))
        h = torch.relu(self.conv_in(sample) + (temb + cond)[:, :, None, None])
        return self.conv_out(h)


class VaeDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(CH, 3, 3, padding=1)

    def forward(self, latent_sample):
        return torch.tanh(nn.functional.interpolate(self.conv(latent_sample), scale_factor=8, mode="nearest"))


class VaeEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, CH, 3, padding=1)

    def forward(self, sample):
        return self.conv(nn.functional.avg_pool2d(sample, 8))


def export(module, args, names, outputs, axes, folder):
    os.makedirs(os.path.join(OUT, folder), exist_ok=True)
    torch.onnx.export(module.eval(), args, os.path.join(OUT, folder, "model.onnx"), input_names=names,
                      output_names=outputs, dynamic_axes=axes, opset_version=14)


def write(path, obj):
    os.makedirs(os.path.dirname(os.path.join(OUT, path)), exist_ok=True)
    with open(os.path.join(OUT, path), "w") as f:
        json.dump(obj, f, indent=2)


with torch.no_grad():
    export(TextEncoder(), (torch.zeros(1, SEQ, dtype=torch.int32),), ["input_ids"], ["last_hidden_state"],
           {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}}, "text_encoder")
    # older diffusers exports: timestep int64 [batch]
    export(UNet(), (torch.randn(2, CH, LAT, LAT), torch.tensor([1, 1]), torch.randn(2, SEQ, DIM)),
           ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
           {"sample": {0: "batch"}, "timestep": {0: "batch"}, "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch"}}, "unet")
    export(VaeDecoder(), (torch.randn(1, CH, LAT, LAT),), ["latent_sample"], ["sample"],
           {"latent_sample": {0: "batch"}, "sample": {0: "batch"}}, "vae_decoder")
    export(VaeEncoder(), (torch.randn(1, 3, LAT * 8, LAT * 8),), ["sample"], ["latent_sample"],
           {"sample": {0: "batch"}, "latent_sample": {0: "batch"}}, "vae_encoder")

write("model_index.json", {"_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.27.0",
                           "text_encoder": ["diffusers", "OnnxRuntimeModel"], "unet": ["diffusers", "OnnxRuntimeModel"],
                           "vae_decoder": ["diffusers", "OnnxRuntimeModel"], "vae_encoder": ["diffusers", "OnnxRuntimeModel"],
                           "scheduler": ["diffusers", "DDIMScheduler"], "tokenizer": ["transformers", "CLIPTokenizer"]})
write("scheduler/scheduler_config.json", {"_class_name": "DDIMScheduler", "num_train_timesteps": 1000, "beta_start": 0.00085,
                                          "beta_end": 0.012, "beta_schedule": "scaled_linear", "clip_sample": False,
                                          "set_alpha_to_one": False, "steps_offset": 1, "prediction_type": "epsilon"})
write("vae_decoder/config.json", {"scaling_factor": 0.18215, "latent_channels": CH})
words = ["a", "red", "blue", "circle", "square", "cat", "dog", "on", "the", "green", "big", "small"]
vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "<unk>": 2}
for w in words:
    vocab[w] = len(vocab)
write("tokenizer/tokenizer.json", {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                     for t, i in vocab.items() if t.startswith("<")],
    "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None, "decoder": None,
    "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}})
write("tokenizer/tokenizer_config.json", {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                                          "pad_token": "<|endoftext|>", "model_max_length": SEQ})
