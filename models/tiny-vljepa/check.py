#!/usr/bin/python3
"""Reference check of the exported tiny-vljepa folder, independent of train.py and torch.

Reads jepa.json + tokenizer.json, runs the ONNX parts in the real ONNX Runtime (Java API via
models/shapes/ortrun.py; Debian's onnx 1.12 has no onnx.reference) and prints the zero-shot
ranking of the labels, exactly as the predictor engine should compute it:

    patches  = x_encoder(normalize(image))
    e_image  = vl_predictor(patches, tokenize(query))      (query = jepa.json default_query)
    e_label  = y_encoder(tokenize(label))                  for each label
    rank labels by cosine(e_image, e_label)

    /usr/bin/python3 models/tiny-vljepa/check.py                       # the acceptance example
    /usr/bin/python3 models/tiny-vljepa/check.py --image x.png --labels "a red circle,a blue square"
"""
import argparse
import json
import os
import re
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models", "shapes"))
import ortrun  # noqa: E402
import shapes as S  # noqa: E402

FOLDER = os.path.join(REPO, "bundles", "models", "tiny-vljepa", "src", "main", "resources", "models",
                      "tiny-vljepa")


def load_tokenizer(path):
    tj = json.load(open(path))
    vocab = tj["model"]["vocab"]
    unk = vocab[tj["model"]["unk_token"]]
    pad = vocab.get("[PAD]", 0)

    def encode(texts, max_len):
        ids = np.full((len(texts), max_len), pad, np.int64)
        mask = np.zeros((len(texts), max_len), np.int64)
        for i, t in enumerate(texts):
            toks = [vocab.get(w, unk) for w in re.findall(r"\w+|[^\w\s]+", t.lower())][:max_len]
            ids[i, :len(toks)] = toks
            mask[i, :len(toks)] = 1
        return ids, mask
    return encode


def to_pixels(img, cfg):
    """uint8 [H,W,3] -> float32 [1,3,S,S] normalised as jepa.json says (bilinear resize if needed)."""
    size = cfg["image_size"]
    if img.shape[0] != size or img.shape[1] != size:
        from PIL import Image
        img = np.asarray(Image.fromarray(img).resize((size, size), Image.BILINEAR))
    x = img.astype(np.float32) / 255.0
    x = (x - np.array(cfg["normalize"]["mean"], np.float32)) / np.array(cfg["normalize"]["std"], np.float32)
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def rank(folder, img, labels, query=None):
    cfg = json.load(open(os.path.join(folder, "jepa.json")))
    enc = load_tokenizer(os.path.join(folder, cfg["tokenizer"]))
    L = cfg["max_text_length"]
    patches = ortrun.run(os.path.join(folder, cfg["x_encoder"]), {"pixels": to_pixels(img, cfg)})["patches"]
    qi, qm = enc([query or cfg["default_query"]], L)
    e = ortrun.run(os.path.join(folder, cfg["vl_predictor"]),
                   {"patches": patches, "query_ids": qi, "query_mask": qm})["embedding"]
    ti, tm = enc(labels, L)
    y = ortrun.run(os.path.join(folder, cfg["y_encoder"]), {"input_ids": ti, "attention_mask": tm})[cfg.get("y_output", "embedding")]
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    sims = (e @ y.T)[0]
    return sorted(zip(labels, sims.tolist()), key=lambda t: -t[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default=FOLDER)
    ap.add_argument("--image", help="PNG (default: our render of a large blue square, and a PIL drawing)")
    ap.add_argument("--labels", default="a red circle,a blue square,a green triangle")
    ap.add_argument("--query", default=None)
    a = ap.parse_args()
    if not ortrun.available():
        sys.exit("needs java and the onnxruntime jar in ~/.m2")
    labels = [s.strip() for s in a.labels.split(",")]
    cases = []
    if a.image:
        from PIL import Image
        cases.append((a.image, np.asarray(Image.open(a.image).convert("RGB"))))
    else:
        cases.append(("our render: large blue square in the center", S.render(
            {"objects": [{"shape": "square", "color": "blue", "size": "large", "pos": "center"}]})))
        cases.append(("our render: small blue square at the top left", S.render(
            {"objects": [{"shape": "square", "color": "blue", "size": "small", "pos": "top left"}]})))
        from PIL import Image, ImageDraw
        for bg in [(0, 0, 0), (255, 255, 255)]:
            im = Image.new("RGB", (64, 64), bg)
            ImageDraw.Draw(im).rectangle([20, 18, 44, 42], fill=(0, 0, 255))
            cases.append(("PIL drawing 64x64, blue square on %s" % ("black" if bg[0] == 0 else "white"),
                          np.asarray(im)))
    for name, img in cases:
        r = rank(a.folder, img, labels, a.query)
        print("%s:" % name)
        for i, (l, s) in enumerate(r):
            print("  %d. %-28s %.4f" % (i + 1, l, s))


if __name__ == "__main__":
    main()
