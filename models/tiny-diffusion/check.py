#!/usr/bin/python3
"""Reference run of the exported tiny-diffusion folder through ONNX Runtime (Java API via
models/shapes/ortrun.py), independent of the training code except for the torch noise:
tokenizer.json → text_encoder → DDIM loop (from scheduler_config.json, eta 0) with
classifier-free guidance → PNG. With --compare it also runs the torch checkpoint
(work/model.pt) with the same seed and prints the max pixel difference.

    /usr/bin/python3 models/tiny-diffusion/check.py --prompt "a red circle" --seed 1 --out /tmp/x.png [--compare]

Noise: torch.manual_seed(seed); torch.randn([1,3,32,32]) (what the engine's torch-compatible
generator must reproduce).
"""
import argparse
import json
import os
import re
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models", "shapes"))
import ortrun  # noqa: E402
import shapes as S  # noqa: E402

FOLDER = os.path.join(REPO, "bundles", "models", "tiny-diffusion", "src", "main", "resources", "models",
                      "tiny-diffusion")


def tokenize(folder, texts):
    tj = json.load(open(os.path.join(folder, "tokenizer", "tokenizer.json")))
    cfg = json.load(open(os.path.join(folder, "tokenizer", "tokenizer_config.json")))
    vocab, n = tj["model"]["vocab"], cfg["model_max_length"]
    ids = np.full((len(texts), n), vocab[cfg["pad_token"]], np.int64)
    for i, t in enumerate(texts):
        tk = [vocab.get(w, vocab[tj["model"]["unk_token"]]) for w in re.findall(r"\w+|[^\w\s]+", t.lower())][:n]
        ids[i, :len(tk)] = tk
    return ids


def generate(folder, prompt, seed, steps=20, guidance=4.0):
    sc = json.load(open(os.path.join(folder, "scheduler", "scheduler_config.json")))
    T = sc["num_train_timesteps"]
    betas = torch.linspace(sc["beta_start"], sc["beta_end"], T, dtype=torch.float32)
    acp = torch.cumprod(1.0 - betas, 0).numpy()
    final = 1.0 if sc["set_alpha_to_one"] else acp[0]
    ratio = T // steps
    ts = (np.arange(0, steps) * ratio).round()[::-1].astype(np.int64) + sc["steps_offset"]
    hs = ortrun.run(os.path.join(folder, "text_encoder", "model.onnx"),
                    {"input_ids": tokenize(folder, ["", prompt])})["last_hidden_state"]
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((1, 3, 32, 32), generator=g).numpy()
    for t in ts:
        eps = ortrun.run(os.path.join(folder, "unet", "model.onnx"),
                         {"sample": np.concatenate([x, x]), "timestep": np.array([t], np.int64),
                          "encoder_hidden_states": hs})["out_sample"]
        eps = eps[:1] + guidance * (eps[1:] - eps[:1])
        a_t = acp[t]
        a_prev = acp[t - ratio] if t - ratio >= 0 else final
        x0 = (x - np.sqrt(1 - a_t) * eps) / np.sqrt(a_t)
        if sc["clip_sample"]:
            x0 = np.clip(x0, -sc["clip_sample_range"], sc["clip_sample_range"])
        x = (np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps).astype(np.float32)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default=FOLDER)
    ap.add_argument("--prompt", default="a red circle")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=4.0)
    ap.add_argument("--out", default="/tmp/tiny-diffusion.png")
    ap.add_argument("--compare", action="store_true")
    a = ap.parse_args()
    x = generate(a.folder, a.prompt, a.seed, a.steps, a.guidance)
    img = np.round(np.clip(x[0] / 2 + 0.5, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    S.write_png(a.out, img)
    print("wrote", a.out, "mean RGB", img.reshape(-1, 3).mean(0).round(1).tolist())
    if a.compare:
        sys.path.insert(0, HERE)
        import train as TR
        pipe = TR.Pipeline()
        pipe.load_state_dict(torch.load(os.path.join(TR.WORK, "model.pt")))
        ref = TR.ddim_sample(pipe.eval(), [a.prompt], a.seed, a.steps, a.guidance).numpy()
        print("ONNX Runtime loop vs torch loop: max abs diff %.2e (in [-1,1] units); uint8 pixels differing: %d"
              % (np.abs(ref - x).max(), int((TR.to_uint8(torch.from_numpy(ref))[0] != img).sum())))


if __name__ == "__main__":
    main()
