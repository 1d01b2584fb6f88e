#!/usr/bin/python3
"""Train and export "tiny-diffusion": a small text-to-image diffusion model of the shapes
world (pixel space, 32x32 RGB, no VAE) as a diffusers ONNX pipeline folder.

One command rebuilds everything:

    /usr/bin/python3 models/tiny-diffusion/train.py

Needs Debian's python3-torch (1.13), python3-numpy, python3-onnx. Uses the independent
attribute checker models/shapes/checker.py (trained first if its weights are missing).
The export check runs the ONNX files in the real ONNX Runtime through its Java API
(jar from ~/.m2) if java and the jar are there.

Outputs:
  bundles/models/tiny-diffusion/src/main/resources/models/tiny-diffusion/
      model_index.json  text_encoder/model.onnx  unet/model.onnx
      scheduler/scheduler_config.json  tokenizer/tokenizer.json  tokenizer/tokenizer_config.json
  models/tiny-diffusion/samples.png       sample grid (see MODEL.md)
  models/tiny-diffusion/work/             checkpoint, metrics.json, results.md (git-ignored)
  models/tiny-diffusion/MODEL.md          (the generated results section is refreshed)

Options (development): --smoke, --budget SECONDS.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import trainkit  # noqa: E402  (first: it limits BLAS threads before torch loads)
from trainkit import log, nparams  # noqa: E402

import argparse
import copy
import json
import math
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models", "shapes"))
import shapes as S  # noqa: E402
import ortrun  # noqa: E402

WORK = os.path.join(HERE, "work")
DEFAULT_OUT = os.path.join(REPO, "bundles", "models", "tiny-diffusion", "src", "main", "resources",
                           "models", "tiny-diffusion")
SEED = 31337
OPSET = 17

MAX_LEN = 16                 # tokenizer model_max_length: prompts are padded/truncated to this
TXT_D = 128
TXT_DEPTH = 2
CH = [48, 96, 128]           # UNet widths at 16x16, 8x8, 4x4 (after a 2x2 space-to-depth)
TEMB = 256
GROUPS = 8
CMAP = 8                     # prompt-conditioned spatial input maps
MASK_BIAS = -1e9

T_TRAIN = 1000
BETA_START, BETA_END = 0.0001, 0.02
BATCH = 64
STEPS = 6000
BUDGET_S = 24 * 60
LR = 1.5e-3
EMA_DECAY = 0.999
P_UNCOND = 0.12
MIN_SNR = 5.0             # Min-SNR-gamma loss weighting (Hang et al. 2023)
TWO_PROB = 0.0             # single-object scenes only (see MODEL.md)

INFER_STEPS = 20
GUIDANCE = 4.0


def encode_prompts(texts):
    """int64 [b, MAX_LEN]: our WordLevel ids, padded with [PAD]=0 / truncated (as diffusers'
    pipeline calls the tokenizer with padding="max_length", truncation=True)."""
    ids = np.zeros((len(texts), MAX_LEN), np.int64)
    for i, t in enumerate(texts):
        tk = S.tokenize(t)[:MAX_LEN]
        ids[i, :len(tk)] = tk
    return torch.from_numpy(ids)


# ----------------------------------------------------------------------------------------
# Text encoder
# ----------------------------------------------------------------------------------------

class Block(nn.Module):
    def __init__(self, d, heads=4, mlp=4):
        super().__init__()
        self.h = heads
        self.n1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.n2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, mlp * d)
        self.fc2 = nn.Linear(mlp * d, d)

    def forward(self, x, bias):
        b, n, d = x.shape
        hd = d // self.h
        q, k, v = self.qkv(self.n1(x)).reshape(b, n, 3, self.h, hd).permute(2, 0, 3, 1, 4)
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)) + bias, -1)
        x = x + self.proj(torch.matmul(att, v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.n2(x))))


class TextEncoder(nn.Module):
    """input_ids int64 [b,L] -> last_hidden_state [b,L,TXT_D]; [PAD] (id 0) keys are masked."""

    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(len(S.TOKEN_VOCAB), TXT_D)
        self.pos = nn.Parameter(torch.randn(1, MAX_LEN, TXT_D) * 0.02)
        self.blocks = nn.ModuleList([Block(TXT_D) for _ in range(TXT_DEPTH)])
        self.norm = nn.LayerNorm(TXT_D)

    def forward(self, input_ids):
        n = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos[:, :n]
        bias = ((input_ids == 0).float() * MASK_BIAS).unsqueeze(1).unsqueeze(1)
        for blk in self.blocks:
            x = blk(x, bias)
        return self.norm(x)


# ----------------------------------------------------------------------------------------
# UNet
# ----------------------------------------------------------------------------------------

def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    a = t.float().unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([torch.sin(a), torch.cos(a)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.n1 = nn.GroupNorm(GROUPS, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(TEMB, cout)
        self.n2 = nn.GroupNorm(GROUPS, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(emb).unsqueeze(-1).unsqueeze(-1)
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


class AttnBlock(nn.Module):
    """Self-attention over pixels, then cross-attention to the text states."""

    def __init__(self, c, hw, heads=4):
        super().__init__()
        self.h = heads
        self.pos = nn.Parameter(torch.randn(1, hw * hw, c) * 0.02)   # absolute position of each pixel
        self.n1 = nn.GroupNorm(GROUPS, c)
        self.qkv = nn.Linear(c, 3 * c)
        self.o1 = nn.Linear(c, c)
        self.n2 = nn.LayerNorm(c)
        self.q = nn.Linear(c, c)
        self.kv = nn.Linear(TXT_D, 2 * c)
        self.o2 = nn.Linear(c, c)

    def _heads(self, x):
        b, n, c = x.shape
        return x.reshape(b, n, self.h, c // self.h).transpose(1, 2)

    def _attend(self, q, k, v):
        b, h, n, d = q.shape
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d)), -1)
        return torch.matmul(att, v).transpose(1, 2).reshape(b, n, h * d)

    def forward(self, x, ctx):
        b, c, hh, ww = x.shape
        t = self.n1(x).reshape(b, c, hh * ww).transpose(1, 2) + self.pos
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        t = x.reshape(b, c, hh * ww).transpose(1, 2) + self.o1(self._attend(self._heads(q), self._heads(k), self._heads(v)))
        k, v = self.kv(ctx).chunk(2, dim=-1)
        t = t + self.o2(self._attend(self._heads(self.q(self.n2(t))), self._heads(k), self._heads(v)))
        return t.transpose(1, 2).reshape(b, c, hh, ww)


def space_to_depth(x):       # [b,3,32,32] -> [b,12,16,16]
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h // 2, w // 2)


def depth_to_space(x):       # [b,12,16,16] -> [b,3,32,32]
    b, c, h, w = x.shape
    return x.reshape(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c // 4, h * 2, w * 2)


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        c0, c1, c2 = CH
        self.temb = nn.Sequential(nn.Linear(c0, TEMB), nn.SiLU(), nn.Linear(TEMB, TEMB))
        self.cemb = nn.Sequential(nn.Linear(TXT_D, TEMB), nn.SiLU(), nn.Linear(TEMB, TEMB))
        # the pooled prompt also becomes CMAP spatial maps at 16x16, concatenated to the input:
        # a direct path for "where" and "how big" (position words -> a linear map of places)
        self.cmap = nn.Sequential(nn.Linear(TXT_D, TEMB), nn.SiLU(), nn.Linear(TEMB, CMAP * 16 * 16))
        self.inp = nn.Conv2d(12 + 2 + CMAP, c0, 3, padding=1)
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
        self.register_buffer("coords", torch.stack([yy, xx]).unsqueeze(0), persistent=False)
        self.d0 = ResBlock(c0, c0)                                   # 16
        self.down0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)       # -> 8
        self.d1 = ResBlock(c0, c1)
        self.a1 = AttnBlock(c1, 8)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)       # -> 4
        self.m1 = ResBlock(c1, c2)
        self.ma = AttnBlock(c2, 4)
        self.m2 = ResBlock(c2, c2)
        self.u1 = ResBlock(c2 + c1, c1)                              # 8
        self.ua = AttnBlock(c1, 8)
        self.u0 = ResBlock(c1 + c0, c0)                              # 16
        self.outn = nn.GroupNorm(GROUPS, c0)
        self.out = nn.Conv2d(c0, 12, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, sample, timestep, encoder_hidden_states):
        # timestep: int64 [batch] or [1] (diffusers' ONNX pipeline passes one value for the
        # whole classifier-free-guidance batch): broadcast to the sample's batch
        timestep = timestep.reshape(-1).expand(sample.shape[0])
        emb = self.temb(timestep_embedding(timestep, CH[0]))
        pooled = encoder_hidden_states.mean(1)
        emb = emb + self.cemb(pooled)
        x = space_to_depth(sample)
        cmap = self.cmap(pooled).reshape(-1, CMAP, 16, 16)
        x = self.inp(torch.cat([x, self.coords.expand(x.shape[0], -1, -1, -1), cmap], 1))
        h0 = self.d0(x, emb)
        h1 = self.a1(self.d1(self.down0(h0), emb), encoder_hidden_states)
        m = self.m1(self.down1(h1), emb)
        m = self.m2(self.ma(m, encoder_hidden_states), emb)
        u = F.interpolate(m, scale_factor=2.0, mode="nearest")
        u = self.ua(self.u1(torch.cat([u, h1], 1), emb), encoder_hidden_states)
        u = F.interpolate(u, scale_factor=2.0, mode="nearest")
        u = self.u0(torch.cat([u, h0], 1), emb)
        return depth_to_space(self.out(F.silu(self.outn(u))))


class Pipeline(nn.Module):
    def __init__(self):
        super().__init__()
        self.text = TextEncoder()
        self.unet = UNet()


# ----------------------------------------------------------------------------------------
# Diffusion maths (diffusers' DDPM training, DDIM sampling)
# ----------------------------------------------------------------------------------------

def alphas_cumprod():
    betas = torch.linspace(BETA_START, BETA_END, T_TRAIN, dtype=torch.float32)
    return torch.cumprod(1.0 - betas, dim=0)


ACP = alphas_cumprod()


def scheduler_config():
    return {
        "_class_name": "DDIMScheduler",
        "_diffusers_version": "0.21.0",
        "num_train_timesteps": T_TRAIN,
        "beta_start": BETA_START,
        "beta_end": BETA_END,
        "beta_schedule": "linear",
        "trained_betas": None,
        "clip_sample": True,
        "clip_sample_range": 1.0,
        "set_alpha_to_one": False,
        "steps_offset": 1,
        "prediction_type": "epsilon",
        "thresholding": False,
        "dynamic_thresholding_ratio": 0.995,
        "sample_max_value": 1.0,
        "timestep_spacing": "leading",
        "rescale_betas_zero_snr": False,
    }


@torch.no_grad()
def ddim_sample(pipe, prompts, seed, steps=INFER_STEPS, guidance=GUIDANCE):
    """diffusers' DDIMScheduler (config above, eta 0) + classifier-free guidance with the
    empty prompt; noise from torch.manual_seed(seed) + randn([b,3,32,32]).
    Returns images in [-1, 1], [b,3,32,32]."""
    b = len(prompts)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((b, 3, S.IMAGE_SIZE, S.IMAGE_SIZE), generator=g)
    cond = pipe.text(encode_prompts(prompts))
    unc = pipe.text(encode_prompts([""] * b))
    ctx = torch.cat([unc, cond])
    ratio = T_TRAIN // steps
    ts = (np.arange(0, steps) * ratio).round()[::-1].astype(np.int64) + 1   # leading + offset 1
    final_acp = ACP[0]                                                    # set_alpha_to_one False
    for t in ts:
        tt = torch.full((2 * b,), int(t), dtype=torch.int64)
        eps = pipe.unet(torch.cat([x, x]), tt, ctx)
        eu, ec = eps.chunk(2)
        eps = eu + guidance * (ec - eu)
        prev = t - ratio
        a_t = ACP[t]
        a_prev = ACP[prev] if prev >= 0 else final_acp
        x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
        x0 = x0.clamp(-1, 1)
        x = a_prev ** 0.5 * x0 + (1 - a_prev) ** 0.5 * eps
    return x


def to_uint8(x):
    """[-1,1] [b,3,H,W] -> uint8 [b,H,W,3] as the pipelines do: (x/2+0.5).clamp(0,1)*255, rounded."""
    return ((x / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


# ----------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------

def train_example(seed, rng):
    """(image uint8, caption) from the train seed range; held-out combinations never appear."""
    sc = S.sample_scene(seed, n_objects=None if TWO_PROB > 0 else 1, two_prob=TWO_PROB,
                        exclude_heldout=True)
    for o in sc["objects"]:           # mild jitter: a distribution, not 292 fixed pictures
        o["dx"] = rng.uniform(-1.0, 1.0)
        o["dy"] = rng.uniform(-1.0, 1.0)
        o["scale"] = rng.uniform(0.9, 1.1)
    if len(sc["objects"]) == 1:
        style = rng.choices(["full", "size_color_shape", "color_shape_pos", "color_shape", "shape"],
                            weights=[0.45, 0.15, 0.15, 0.2, 0.05])[0]
    else:
        style = rng.choice(["short", "color_shape_pos"])
    return S.render(sc), S.caption(sc, style)


def to_model(imgs_u8):
    x = torch.from_numpy(np.asarray(imgs_u8, np.float32) / 127.5 - 1.0)
    return x.permute(0, 3, 1, 2).contiguous()


# ----------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------

def train(steps, budget):
    torch.manual_seed(SEED)
    pipe = Pipeline()
    ema = copy.deepcopy(pipe)
    for p in ema.parameters():
        p.requires_grad_(False)
    params = list(pipe.parameters())
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.0, betas=(0.9, 0.99))
    rng = random.Random(SEED)
    g = torch.Generator().manual_seed(SEED)
    t0 = time.time()
    hist, step, seed_i = [], 0, 0
    while True:
        p = max(step / steps, (time.time() - t0) / budget)
        if p >= 1.0:
            break
        warm = 0.03
        lr = LR * (p / warm if p < warm else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (p - warm) / (1 - warm))))
        for gr in opt.param_groups:
            gr["lr"] = lr
        imgs, caps = [], []
        for _ in range(BATCH):
            im, cap = train_example(S.split_seed("train", seed_i), rng)
            seed_i += 1
            imgs.append(im)
            caps.append("" if rng.random() < P_UNCOND else cap)
        x0 = to_model(np.stack(imgs))
        t = torch.randint(0, T_TRAIN, (BATCH,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        a = ACP[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        eps = pipe.unet(xt, t, pipe.text(encode_prompts(caps)))
        snr = a / (1 - a)
        w = (snr.clamp(max=MIN_SNR) / snr).view(-1)
        loss = ((eps - noise) ** 2).mean(dim=(1, 2, 3)).mul(w).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        d = min(EMA_DECAY, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pp in zip(ema.parameters(), pipe.parameters()):
                pe.mul_(d).add_(pp.detach(), alpha=1 - d)
        if step % 100 == 0:
            log("step %d loss %.4f lr %.2e (%.0fs)" % (step, loss.item(), lr, time.time() - t0))
            hist.append((step, loss.item()))
        step += 1
    return ema.eval(), {"steps": step, "seconds": time.time() - t0, "loss_curve": hist,
                        "images_seen": step * BATCH}


# ----------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------

def evaluate(pipe, checker_net, per_caption=4, smoke=False):
    import checker as C
    res = {}
    sets = {}
    held = sorted(S.HELDOUT_COMBOS)
    seen = [c for c in S.all_combos() if c not in S.HELDOUT_COMBOS]
    rng = random.Random(7)
    seen_pick = rng.sample(seen, 32)
    cs_pairs = [(s, c) for s in S.SHAPES for c in S.COLOR_NAMES]
    if smoke:
        held, seen_pick, cs_pairs = held[:4], seen_pick[:4], cs_pairs[:4]
    full = lambda cmb: S.describe({"shape": cmb[0], "color": cmb[1], "size": cmb[2], "pos": cmb[3]}, "full")
    sets["held-out full captions (%d captions never trained on)" % len(held)] = [(full(c), c) for c in held]
    sets["seen full captions (%d)" % len(seen_pick)] = [(full(c), c) for c in seen_pick]
    sets["short \"a <colour> <shape>\" captions (%d)" % len(cs_pairs)] = [("a %s %s" % (c, s), (s, c, None, None)) for s, c in cs_pairs]
    all_imgs = {}
    for name, items in sets.items():
        prompts = [p for p, _ in items for _ in range(per_caption)]
        labels = [lab for _, lab in items for _ in range(per_caption)]
        imgs = []
        for i in range(0, len(prompts), 32):
            imgs.append(to_uint8(ddim_sample(pipe, prompts[i:i + 32], seed=1000 + i)))
        imgs = np.concatenate(imgs)
        pred = C.predict(checker_net, imgs)
        n = len(prompts)
        r = {"images": n,
             "colour": sum(pred["color"][i] == labels[i][1] for i in range(n)) / n,
             "shape": sum(pred["shape"][i] == labels[i][0] for i in range(n)) / n}
        r["colour and shape"] = sum(pred["color"][i] == labels[i][1] and pred["shape"][i] == labels[i][0] for i in range(n)) / n
        if labels[0][2] is not None:
            r["size"] = sum(pred["size"][i] == labels[i][2] for i in range(n)) / n
            r["position"] = sum(pred["pos"][i] == labels[i][3] for i in range(n)) / n
            r["all four"] = sum(pred["size"][i] == labels[i][2] and pred["pos"][i] == labels[i][3]
                                and pred["color"][i] == labels[i][1] and pred["shape"][i] == labels[i][0] for i in range(n)) / n
        res[name] = r
        all_imgs[name] = (imgs, prompts)
        log(name, json.dumps(r))
    return res, all_imgs


def sample_grid(pipe, path):
    """Rows: 8 prompts; columns: 6 seeds. Upscaled x2 with 2-pixel grey gutters."""
    prompts = ["a red circle", "a blue square", "a green triangle", "a yellow circle",
               "a small purple square at the top left", "a large cyan triangle at the bottom right",
               "a large red square in the center", "a small green circle at the bottom"]
    seeds = [1, 2, 3, 4, 5, 6]
    rows = []
    for pr in prompts:
        imgs = [to_uint8(ddim_sample(pipe, [pr], seed=s))[0] for s in seeds]
        rows.append(imgs)
    z = 2
    cell = S.IMAGE_SIZE * z + 2
    grid = np.full((len(prompts) * cell + 2, len(seeds) * cell + 2, 3), 96, np.uint8)
    for r, imgs in enumerate(rows):
        for c, im in enumerate(imgs):
            y, x = 2 + r * cell, 2 + c * cell
            grid[y:y + S.IMAGE_SIZE * z, x:x + S.IMAGE_SIZE * z] = im.repeat(z, 0).repeat(z, 1)
    S.write_png(path, grid)
    return prompts, seeds


# ----------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------

def export_all(pipe, out):
    for sub in ["text_encoder", "unet", "scheduler", "tokenizer"]:
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    ids = encode_prompts(["a red circle", ""])
    with torch.no_grad():
        torch.onnx.export(pipe.text, (ids,), os.path.join(out, "text_encoder", "model.onnx"),
                          input_names=["input_ids"], output_names=["last_hidden_state"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "last_hidden_state": {0: "batch", 1: "sequence"}},
                          opset_version=OPSET, do_constant_folding=True)
        hs = pipe.text(ids)
        x = torch.randn(2, 3, S.IMAGE_SIZE, S.IMAGE_SIZE)
        t = torch.tensor([981, 1], dtype=torch.int64)
        torch.onnx.export(pipe.unet, (x, t, hs), os.path.join(out, "unet", "model.onnx"),
                          input_names=["sample", "timestep", "encoder_hidden_states"],
                          output_names=["out_sample"],
                          dynamic_axes={"sample": {0: "batch"}, "timestep": {0: "timestep_batch"},
                                        "encoder_hidden_states": {0: "batch", 1: "sequence"},
                                        "out_sample": {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True)
    with open(os.path.join(out, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump(scheduler_config(), f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "tokenizer", "tokenizer.json"), "w") as f:
        json.dump(S.tokenizer_json(), f, indent=1)
    with open(os.path.join(out, "tokenizer", "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": MAX_LEN,
                   "pad_token": "[PAD]", "unk_token": "[UNK]", "do_lower_case": True,
                   "padding_side": "right"}, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump({"_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.21.0",
                   "feature_extractor": [None, None], "requires_safety_checker": False,
                   "safety_checker": [None, None],
                   "scheduler": ["diffusers", "DDIMScheduler"],
                   "text_encoder": ["diffusers", "OnnxRuntimeModel"],
                   "tokenizer": ["transformers", "PreTrainedTokenizerFast"],
                   "unet": ["diffusers", "OnnxRuntimeModel"],
                   "vae_decoder": [None, None], "vae_encoder": [None, None]}, f, indent=2)
        f.write("\n")


def check_export(pipe, out):
    import onnx
    res = {"ops": set(), "sizes": {}}
    for root, _, files in os.walk(out):
        for fn in files:
            rel = os.path.relpath(os.path.join(root, fn), out)
            res["sizes"][rel] = os.path.getsize(os.path.join(root, fn))
            if fn.endswith(".onnx"):
                m = onnx.load(os.path.join(root, fn))
                onnx.checker.check_model(m, full_check=True)
                assert all(o.version <= OPSET for o in m.opset_import)
                assert all(n.domain in ("", "ai.onnx") for n in m.graph.node)
                res["ops"] |= {n.op_type for n in m.graph.node}
    res["ops"] = sorted(res["ops"])
    res["sizes"] = dict(sorted(res["sizes"].items()))
    if not ortrun.available():
        log("ONNX Runtime (Java) not available: skipping the ONNX-vs-torch checks")
        return res
    with torch.no_grad():
        ids = encode_prompts(["a small red circle at the top left", "a blue square", ""])
        hs = ortrun.run(os.path.join(out, "text_encoder", "model.onnx"), {"input_ids": ids.numpy()})["last_hidden_state"]
        ref = pipe.text(ids)
        d_text = float(np.abs(hs - ref.numpy()).max())
        g = torch.Generator().manual_seed(0)
        x = torch.randn((3, 3, 32, 32), generator=g)
        t = torch.tensor([981, 500, 1], dtype=torch.int64)
        o = ortrun.run(os.path.join(out, "unet", "model.onnx"),
                       {"sample": x.numpy(), "timestep": t.numpy(), "encoder_hidden_states": ref.numpy()})["out_sample"]
        d_unet = float(np.abs(o - pipe.unet(x, t, ref).numpy()).max())
        # one timestep for the whole batch, as diffusers' OnnxStableDiffusionPipeline feeds it
        o1 = ortrun.run(os.path.join(out, "unet", "model.onnx"),
                        {"sample": x.numpy(), "timestep": np.array([500], np.int64),
                         "encoder_hidden_states": ref.numpy()})["out_sample"]
        d_unet1 = float(np.abs(o1 - pipe.unet(x, torch.tensor([500, 500, 500]), ref).numpy()).max())
    res["onnx_vs_torch_maxdiff"] = {"text_encoder": d_text, "unet": d_unet,
                                    "unet with a [1] timestep for a batch of 3": d_unet1}
    return res


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------

def pct(x):
    return "%.1f %%" % (100 * x)


def write_results(m, md_path, results_path):
    L = ["Produced by the last run of `train.py` (%s)." % time.strftime("%Y-%m-%d"), ""]
    L += ["| | value |", "| --- | --- |"]
    L.append("| parameters: text_encoder / unet | {:,} / {:,} |".format(m["params"]["text_encoder"], m["params"]["unet"]))
    L.append("| training steps (batch %d) / images seen | %d / %s |" % (BATCH, m["train"]["steps"], "{:,}".format(m["train"]["images_seen"])))
    L.append("| training loop wall time, 1 CPU thread | %.1f min |" % (m["train"]["seconds"] / 60))
    L.append("| whole script wall time | %.1f min |" % (m["total_seconds"] / 60))
    L.append("| loss (epsilon MSE) first / last logged | %.4f / %.4f |" % (m["train"]["loss_curve"][0][1], m["train"]["loss_curve"][-1][1]))
    L.append("")
    L.append("### Checker agreement (DDIM %d steps, eta 0, guidance %.1f, %d seeds per caption)" % (INFER_STEPS, GUIDANCE, m["per_caption"]))
    L.append("")
    L.append("| prompts | images | colour | shape | colour and shape | size | position | all four |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in m["eval"].items():
        L.append("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
            name, r["images"], pct(r["colour"]), pct(r["shape"]), pct(r["colour and shape"]),
            pct(r["size"]) if "size" in r else "–", pct(r["position"]) if "position" in r else "–",
            pct(r["all four"]) if "all four" in r else "–"))
    L.append("")
    ck = m["checker"]
    L.append("The checker itself on 2000 held-out renders (clean / augmented): colour %s / %s, shape %s / %s, size %s / %s, position %s / %s."
             % (pct(ck["clean"]["color"]), pct(ck["augmented"]["color"]), pct(ck["clean"]["shape"]), pct(ck["augmented"]["shape"]),
                pct(ck["clean"]["size"]), pct(ck["augmented"]["size"]), pct(ck["clean"]["pos"]), pct(ck["augmented"]["pos"])))
    L.append("")
    ex = m["export"]
    if "onnx_vs_torch_maxdiff" in ex:
        L.append("ONNX Runtime vs torch, max abs diff: " + ", ".join("%s %.1e" % kv for kv in ex["onnx_vs_torch_maxdiff"].items()) + ".")
        L.append("")
    L.append("File sizes: " + ", ".join("`%s` %s bytes" % (k, "{:,}".format(v)) for k, v in ex["sizes"].items()))
    L.append("")
    L.append("ONNX operators used: " + ", ".join(ex["ops"]))
    L.append("")
    L.append("Sample grid `samples.png` (rows: prompts; columns: seeds %s; DDIM %d steps, guidance %.1f):"
             % (", ".join(map(str, m["grid"]["seeds"])), INFER_STEPS, GUIDANCE))
    L.append("")
    for i, p in enumerate(m["grid"]["prompts"]):
        L.append("%d. %s" % (i + 1, p))
    text = "\n".join(L) + "\n"
    with open(results_path, "w") as f:
        f.write(text)
    trainkit.refresh_model_md(md_path, text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--budget", type=float, default=BUDGET_S)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    trainkit.start(SEED)
    t_start = time.time()
    work = os.path.join(WORK, "smoke") if a.smoke else WORK
    out = a.out or (os.path.join(work, "export") if a.smoke else DEFAULT_OUT)
    os.makedirs(work, exist_ok=True)
    import checker as C
    checker_net = C.load(log=log)
    ck = C.evaluate(checker_net, n=400 if a.smoke else 2000)
    ck = {"clean": ck, "augmented": C.evaluate(checker_net, n=400 if a.smoke else 2000, augment=True)}
    log("checker:", json.dumps(ck))
    steps = 20 if a.smoke else a.steps
    log("training (%d steps max, budget %.0fs)" % (steps, a.budget))
    pipe, info = train(steps, a.budget)
    torch.save(pipe.state_dict(), os.path.join(work, "model.pt"))
    log("evaluating")
    per = 1 if a.smoke else 4
    ev, _ = evaluate(pipe, checker_net, per_caption=per, smoke=a.smoke)
    grid_path = os.path.join(work, "samples.png") if a.smoke else os.path.join(HERE, "samples.png")
    prompts, seeds = sample_grid(pipe, grid_path)
    log("exporting to", out)
    export_all(pipe, out)
    ex = check_export(pipe, out)
    log(json.dumps(ex, indent=1, default=str))
    metrics = {"params": {"text_encoder": nparams(pipe.text), "unet": nparams(pipe.unet)},
               "train": info, "eval": ev, "per_caption": per, "checker": ck, "export": ex,
               "grid": {"prompts": prompts, "seeds": seeds}, "total_seconds": time.time() - t_start}
    with open(os.path.join(work, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1, default=str)
    write_results(metrics, os.path.join(work, "MODEL.md") if a.smoke else os.path.join(HERE, "MODEL.md"),
                  os.path.join(work, "results.md"))
    log("done in %.1f min" % ((time.time() - t_start) / 60))


if __name__ == "__main__":
    main()
