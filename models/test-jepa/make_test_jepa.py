#!/usr/bin/python3
"""Writes test-jepa: a tiny JEPA / VL-JEPA model folder with random weights for the predictor
engine's tests (mechanics, shapes, errors; it has learnt nothing).

    /usr/bin/python3 models/test-jepa/make_test_jepa.py [OUT_DIR]

OUT_DIR defaults to bundles/engine-predictor/src/test/resources/test-jepa. Every part follows the
jepa.json contract (triptych-jepa/1): 16x16 images, 4x4 patches (a 4x4 grid, 16 patches), width 16,
text space 16. vl_predictor_384.onnx is the same kind of graph projecting into a 384-wide text
space, so that tests can pair it with all-MiniLM-L6-v2 as y_encoder. The text graphs reduce token
ids modulo their small table, so any tokenizer's ids are valid input. Needs python3-torch 1.13 and
python3-onnx (Debian 12); deterministic (seeded).
"""
import json
import os
import sys

import onnx
import torch
from torch import nn

IMAGE, PATCH, DIM, TEXT_DIM, TABLE = 16, 4, 16, 16, 64
PATCHES = (IMAGE // PATCH) ** 2
OPSET = 14
WORDS = ["a", "an", "the", "red", "green", "blue", "yellow", "circle", "square", "triangle", "what", "is",
         "in", "image", "?", "shape", "colour", "color", "of", "small", "big", "cat", "dog", "picture"]


class Encoder(nn.Module):
    """Patchify, add positions, one residual MLP: pixels [b,3,H,W] -> patches [b,N,D]."""

    def __init__(self):
        super().__init__()
        self.patchify = nn.Conv2d(3, DIM, PATCH, PATCH)
        self.pos = nn.Parameter(torch.randn(1, PATCHES, DIM) * 0.1)
        self.norm = nn.LayerNorm(DIM)
        self.mlp = nn.Sequential(nn.Linear(DIM, 2 * DIM), nn.GELU(), nn.Linear(2 * DIM, DIM))

    def forward(self, pixels):
        x = self.patchify(pixels).flatten(2).transpose(1, 2) + self.pos
        return x + self.mlp(self.norm(x))


class Predictor(nn.Module):
    """I-JEPA shaped: mask tokens at target positions attend to the positioned context."""

    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(PATCHES, DIM) * 0.1)
        self.mask = nn.Parameter(torch.randn(1, 1, DIM) * 0.1)
        self.q, self.k, self.v, self.out = (nn.Linear(DIM, DIM) for _ in range(4))

    def forward(self, context, context_positions, target_positions):
        ctx = context + self.pos[context_positions]
        tgt = self.mask + self.pos[target_positions]
        keys = torch.cat([ctx, tgt], dim=1)
        attn = torch.softmax(self.q(tgt) @ self.k(keys).transpose(1, 2) / DIM ** 0.5, dim=-1)
        return self.out(attn @ self.v(keys))


def masked_mean(x, mask):
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class VlPredictor(nn.Module):
    """patches + query tokens -> one embedding in the text space."""

    def __init__(self, text_dim):
        super().__init__()
        self.table = nn.Embedding(TABLE, DIM)
        self.proj = nn.Linear(2 * DIM, text_dim)

    def forward(self, patches, query_ids, query_mask):
        q = masked_mean(self.table(torch.remainder(query_ids, TABLE)), query_mask)
        return self.proj(torch.cat([patches.mean(1), q], dim=-1))


class YEncoder(nn.Module):
    """Tokens -> pooled text embedding [b,E] (output 'embedding')."""

    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(TABLE, DIM)
        self.proj = nn.Linear(DIM, TEXT_DIM)

    def forward(self, input_ids, attention_mask):
        return self.proj(masked_mean(self.table(torch.remainder(input_ids, TABLE)), attention_mask))


def export(module, args, names, outputs, dynamic, path):
    module.eval()
    torch.onnx.export(module, args, path, input_names=names, output_names=outputs, dynamic_axes=dynamic,
                      opset_version=OPSET, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def tokenizer():
    """A lower-casing word-level Hugging Face tokenizer.json with BERT-style [CLS] ... [SEP]."""
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    vocab = {w: i for i, w in enumerate(special + WORDS)}
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, t in enumerate(special)]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "..", "bundles", "engine-predictor", "src", "test", "resources", "test-jepa")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    pixels = torch.zeros(1, 3, IMAGE, IMAGE)
    image_axes = {"pixels": {0: "batch"}, "patches": {0: "batch"}}
    export(Encoder(), (pixels,), ["pixels"], ["patches"], image_axes, os.path.join(out, "x_encoder.onnx"))
    export(Encoder(), (pixels,), ["pixels"], ["patches"], image_axes, os.path.join(out, "target_encoder.onnx"))
    ctx, cpos, tpos = torch.zeros(1, 12, DIM), torch.arange(12).unsqueeze(0), torch.arange(12, 16).unsqueeze(0)
    export(Predictor(), (ctx, cpos, tpos), ["context", "context_positions", "target_positions"], ["predicted"],
           {"context": {0: "batch", 1: "context"}, "context_positions": {0: "batch", 1: "context"},
            "target_positions": {0: "batch", 1: "targets"}, "predicted": {0: "batch", 1: "targets"}},
           os.path.join(out, "predictor.onnx"))
    patches, ids, mask = torch.zeros(1, PATCHES, DIM), torch.zeros(1, 8, dtype=torch.long), torch.ones(1, 8, dtype=torch.long)
    query_axes = {"patches": {0: "batch"}, "query_ids": {0: "batch", 1: "query"}, "query_mask": {0: "batch", 1: "query"},
                  "embedding": {0: "batch"}}
    export(VlPredictor(TEXT_DIM), (patches, ids, mask), ["patches", "query_ids", "query_mask"], ["embedding"], query_axes,
           os.path.join(out, "vl_predictor.onnx"))
    export(VlPredictor(384), (patches, ids, mask), ["patches", "query_ids", "query_mask"], ["embedding"], query_axes,
           os.path.join(out, "vl_predictor_384.onnx"))
    export(YEncoder(), (ids, mask), ["input_ids", "attention_mask"], ["embedding"],
           {"input_ids": {0: "batch", 1: "text"}, "attention_mask": {0: "batch", 1: "text"}, "embedding": {0: "batch"}},
           os.path.join(out, "y_encoder.onnx"))
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer(), f, indent=1)
    descriptor = {
        "format": "triptych-jepa/1", "image_size": IMAGE, "patch_size": PATCH,
        "normalize": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}, "pooling": "mean",
        "x_encoder": "x_encoder.onnx", "target_encoder": "target_encoder.onnx", "predictor": "predictor.onnx",
        "target_norm": "layer_norm", "vl_predictor": "vl_predictor.onnx", "y_encoder": "y_encoder.onnx",
        "y_output": "embedding", "y_pooling": "none", "tokenizer": "tokenizer.json", "max_text_length": 8,
        "default_query": "what is in the image ?",
    }
    with open(os.path.join(out, "jepa.json"), "w") as f:
        json.dump(descriptor, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
