#!/usr/bin/python3
"""Train and export "tiny-vljepa": an I-JEPA pre-trained tiny ViT on the shapes world, plus a
VL-JEPA stage (a predictor from visual patches + a text query into the space of our own
small text encoder), as a Triptych JEPA model folder (jepa.json, see MODEL.md).

One command rebuilds everything:

    /usr/bin/python3 models/tiny-vljepa/train.py

Needs Debian's python3-torch (1.13), python3-numpy, python3-onnx, python3-sklearn (linear
probes) and python3-pil (only for the "drawn by another tool" test images). The export
checks run the ONNX files in the real ONNX Runtime through its Java API (jar from ~/.m2) if
java and the jar are there.

Outputs:
  bundles/models/tiny-vljepa/src/main/resources/models/tiny-vljepa/
      jepa.json x_encoder.onnx target_encoder.onnx predictor.onnx vl_predictor.onnx
      y_encoder.onnx tokenizer.json
  models/tiny-vljepa/work/     checkpoint, metrics.json, results.md, train.log (git-ignored)
  models/tiny-vljepa/MODEL.md  (the generated results section is refreshed)

Options (development): --smoke (tiny run into work/smoke/), --jepa-budget/--vl-budget SECONDS.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import trainkit  # noqa: E402  (first: it limits BLAS threads before torch loads)
from trainkit import log, nparams  # noqa: E402

import argparse
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
DEFAULT_OUT = os.path.join(REPO, "bundles", "models", "tiny-vljepa", "src", "main", "resources",
                           "models", "tiny-vljepa")
SEED = 2024
OPSET = 17

# ---- model sizes
IMG = 32
PATCH = 4
GRID = IMG // PATCH          # 8
NPATCH = GRID * GRID         # 64
PATCH_DIM = 3 * PATCH * PATCH
D = 96                       # encoder width
ENC_DEPTH = 4
ENC_HEADS = 4
PRED_D = 64                  # narrow predictor (I-JEPA: narrower than the encoder)
PRED_DEPTH = 3
PRED_HEADS = 4
T_D = 96                     # text encoder / vl predictor width
T_DEPTH = 2
VL_DEPTH = 3
E = 128                      # text-space embedding size
MAX_TEXT = 24
MASK_BIAS = -1e9
SENTINEL = -5.0              # x_encoder: a patch whose mean normalised value < SENTINEL is masked out

# ---- JEPA training
N_POOL = 24000
JEPA_BATCH = 128
JEPA_STEPS = 2200
JEPA_BUDGET_S = 9 * 60
JEPA_LR = 1.5e-3
EMA0, EMA1 = 0.996, 1.0
N_TARGETS = 4
# ---- VL training
VL_BATCH = 128
VL_STEPS = 3000
VL_BUDGET_S = 11 * 60
VL_LR = 1e-3

DEFAULT_QUERY = "what is in the image?"
QUERIES = {
    "caption": ["what is in the image?", "what is in the picture?", "what is there?"],
    "shape": ["what shape is it?", "what is the shape?"],
    "color": ["what color is it?", "what colour is it?"],
    "size": ["how big is it?", "what size is it?"],
    "position": ["where is it?"],
}
QUERY_P = {"caption": 0.6, "shape": 0.1, "color": 0.1, "size": 0.1, "position": 0.1}


# ----------------------------------------------------------------------------------------
# Tokenizer (Hugging Face WordLevel + Whitespace pre-tokenizer + Lowercase normalizer)
# ----------------------------------------------------------------------------------------
VOCAB = S.TOKEN_VOCAB
PAD_ID, UNK_ID = S.PAD_ID, S.UNK_ID
tokenize = S.tokenize


def encode_batch(texts, max_len=MAX_TEXT, pad_to_max=False):
    """ids, mask [b, L]: L = max_len if pad_to_max else the longest text (<= max_len)."""
    if not pad_to_max:
        max_len = min(max_len, max(len(tokenize(t)) for t in texts))
    ids = np.zeros((len(texts), max_len), np.int64)
    mask = np.zeros((len(texts), max_len), np.int64)
    for i, t in enumerate(texts):
        tk = tokenize(t)[:max_len]
        ids[i, :len(tk)] = tk
        mask[i, :len(tk)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


# ----------------------------------------------------------------------------------------
# Modules
# ----------------------------------------------------------------------------------------

def sincos_2d(dim, grid=GRID):
    """I-JEPA / MAE fixed 2-D sin-cos positional embedding, [grid*grid, dim], row-major."""
    def one_d(d, pos):
        omega = 1.0 / 10000 ** (np.arange(d // 2, dtype=np.float64) / (d / 2.0))
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    gy, gx = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64),
                         indexing="ij")
    emb = np.concatenate([one_d(dim // 2, gy), one_d(dim // 2, gx)], axis=1)
    return torch.tensor(emb, dtype=torch.float32)


class Block(nn.Module):
    def __init__(self, d, heads, mlp=4):
        super().__init__()
        self.h = heads
        self.n1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.n2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, mlp * d)
        self.fc2 = nn.Linear(mlp * d, d)

    def forward(self, x, bias=None):            # bias: additive [b,1,1,N] or None
        b, n, d = x.shape
        hd = d // self.h
        q, k, v = self.qkv(self.n1(x)).reshape(b, n, 3, self.h, hd).permute(2, 0, 3, 1, 4)
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
        if bias is not None:
            att = att + bias
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, n, d)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.n2(x))))


def patchify(pixels):
    """[b,3,32,32] -> [b,64,48], patches row-major, each patch (c, py, px) flattened."""
    b = pixels.shape[0]
    x = pixels.reshape(b, 3, GRID, PATCH, GRID, PATCH).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, NPATCH, PATCH_DIM)


class ViT(nn.Module):
    """The X-encoder (and, with EMA weights, the target encoder)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(PATCH_DIM, D)
        self.register_buffer("pos", sincos_2d(D), persistent=False)
        self.blocks = nn.ModuleList([Block(D, ENC_HEADS) for _ in range(ENC_DEPTH)])
        self.norm = nn.LayerNorm(D)

    def forward(self, pixels, keep=None):
        """pixels normalised [b,3,32,32]; keep: optional int64 [b,K] patch indices (the
        I-JEPA context encoder sees only those). Returns [b,N or K,D]."""
        x = self.embed(patchify(pixels)) + self.pos
        if keep is not None:
            x = torch.gather(x, 1, keep.unsqueeze(-1).expand(-1, -1, D))
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


class ViTExport(nn.Module):
    """ONNX wrapper: all 64 patches, but patches filled with a value below SENTINEL are
    masked out as attention keys, so encoding an image whose non-context patches are set to
    e.g. -10 gives exactly what the I-JEPA context encoder computes from the context alone."""

    def __init__(self, vit):
        super().__init__()
        self.vit = vit

    def forward(self, pixels):
        p = patchify(pixels)
        valid = (p.mean(-1) > SENTINEL).float()                    # [b,N]
        bias = ((1.0 - valid) * MASK_BIAS).unsqueeze(1).unsqueeze(1)  # [b,1,1,N]
        x = self.vit.embed(p) + self.vit.pos
        for blk in self.vit.blocks:
            x = blk(x, bias)
        return self.vit.norm(x)


class Predictor(nn.Module):
    """I-JEPA predictor: context tokens + sin-cos positions projected to a narrow width, a
    learned mask token + position per target patch, transformer, norm, projection back."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(D, PRED_D)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, PRED_D))
        self.register_buffer("pos", sincos_2d(PRED_D), persistent=False)
        self.blocks = nn.ModuleList([Block(PRED_D, PRED_HEADS) for _ in range(PRED_DEPTH)])
        self.norm = nn.LayerNorm(PRED_D)
        self.out = nn.Linear(PRED_D, D)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, context, context_positions, target_positions):
        x = self.embed(context) + self.pos[context_positions]
        m = self.mask_token + self.pos[target_positions]
        z = torch.cat([x, m], dim=1)
        for blk in self.blocks:
            z = blk(z)
        z = self.norm(z)
        return self.out(z[:, x.shape[1]:])


class TextEncoder(nn.Module):
    """y_encoder: words -> 2 transformer blocks -> masked mean -> linear -> [b,E]."""

    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(len(VOCAB), T_D)
        self.pos = nn.Parameter(torch.randn(1, MAX_TEXT, T_D) * 0.02)
        self.blocks = nn.ModuleList([Block(T_D, 4) for _ in range(T_DEPTH)])
        self.norm = nn.LayerNorm(T_D)
        self.out = nn.Linear(T_D, E)

    def forward(self, input_ids, attention_mask):
        n = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos[:, :n]
        m = attention_mask.float()
        bias = ((1.0 - m) * MASK_BIAS).unsqueeze(1).unsqueeze(1)
        for blk in self.blocks:
            x = blk(x, bias)
        x = self.norm(x)
        pooled = (x * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)
        return self.out(pooled)


class VLPredictor(nn.Module):
    """VL-JEPA predictor: [visual patch tokens ; query tokens] -> transformer -> mean over the
    query tokens -> linear -> embedding in the y_encoder's space."""

    def __init__(self):
        super().__init__()
        self.vis = nn.Linear(D, T_D)
        # two 3x3 convolutions over the 8x8 grid of patch embeddings: local shape evidence
        # (corners, edges across patch borders) before the transformer mixes everything
        self.conv1 = nn.Conv2d(D, T_D, 3, padding=1)
        self.conv2 = nn.Conv2d(T_D, T_D, 3, padding=1)
        self.vis_pos = nn.Parameter(torch.randn(1, NPATCH, T_D) * 0.02)
        self.tok = nn.Embedding(len(VOCAB), T_D)
        self.q_pos = nn.Parameter(torch.randn(1, MAX_TEXT, T_D) * 0.02)
        self.blocks = nn.ModuleList([Block(T_D, 4) for _ in range(VL_DEPTH)])
        self.norm = nn.LayerNorm(T_D)
        self.out = nn.Linear(T_D, E)

    def forward(self, patches, query_ids, query_mask):
        nq = query_ids.shape[1]
        b = patches.shape[0]
        grid = patches.transpose(1, 2).reshape(b, D, GRID, GRID)
        local = self.conv2(F.gelu(self.conv1(grid))).reshape(b, T_D, NPATCH).transpose(1, 2)
        v = self.vis(patches) + local + self.vis_pos
        q = self.tok(query_ids) + self.q_pos[:, :nq]
        x = torch.cat([v, q], dim=1)
        qm = query_mask.float()
        keymask = torch.cat([torch.ones_like(v[:, :, 0]), qm], dim=1)
        bias = ((1.0 - keymask) * MASK_BIAS).unsqueeze(1).unsqueeze(1)
        for blk in self.blocks:
            x = blk(x, bias)
        x = self.norm(x)[:, NPATCH:]
        pooled = (x * qm.unsqueeze(-1)).sum(1) / qm.sum(1, keepdim=True).clamp(min=1.0)
        return self.out(pooled)


# ----------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------

def normalize(imgs_u8):
    """uint8 [b,32,32,3] -> float [b,3,32,32], (x/255 - 0.5) / 0.5 as jepa.json says."""
    x = torch.from_numpy(np.asarray(imgs_u8, np.float32) / 255.0).permute(0, 3, 1, 2)
    return ((x - 0.5) / 0.5).contiguous()


def build_pool(n, log_every=8000):
    """n augmented training renders (train seed range, held-out combinations excluded)."""
    imgs = np.zeros((n, IMG, IMG, 3), np.uint8)
    scenes = []
    for i in range(n):
        seed = S.split_seed("train", i)
        sc = S.sample_scene(seed, augment=True, exclude_heldout=True)
        imgs[i] = S.render_augmented(sc, seed)
        scenes.append(sc)
        if log_every and (i + 1) % log_every == 0:
            log("  rendered %d/%d" % (i + 1, n))
    return imgs, scenes


def sample_masks(rng, b):
    """I-JEPA multi-block masking on the 8x8 grid: N_TARGETS target blocks (scale 0.15-0.2,
    aspect 0.75-1.5, one block shape per batch) and one context block (scale 0.85-1.0)
    with the targets removed; contexts truncated to the batch minimum (as I-JEPA does)."""
    while True:
        s = rng.uniform(0.15, 0.2)
        ar = math.exp(rng.uniform(math.log(0.75), math.log(1.5)))
        th = max(1, min(GRID - 1, int(round(math.sqrt(s * NPATCH * ar)))))
        tw = max(1, min(GRID - 1, int(round(math.sqrt(s * NPATCH / ar)))))
        cs = rng.uniform(0.85, 1.0)
        ch = cw = max(1, min(GRID, int(round(math.sqrt(cs * NPATCH)))))
        tgts, ctxs = [], []
        for _ in range(b):
            union = np.zeros((GRID, GRID), bool)
            per = []
            for _ in range(N_TARGETS):
                y, x = rng.randint(0, GRID - th + 1), rng.randint(0, GRID - tw + 1)
                m = np.zeros((GRID, GRID), bool)
                m[y:y + th, x:x + tw] = True
                union |= m
                per.append(np.flatnonzero(m))
            y, x = rng.randint(0, GRID - ch + 1), rng.randint(0, GRID - cw + 1)
            c = np.zeros((GRID, GRID), bool)
            c[y:y + ch, x:x + cw] = True
            c &= ~union
            tgts.append(per)
            ctxs.append(np.flatnonzero(c))
        k = min(len(c) for c in ctxs)
        if k >= 6:
            break
    ctx = np.stack([np.sort(rng.choice(c, k, replace=False)) for c in ctxs])
    tgt = np.stack([np.stack(p) for p in tgts])          # [b, N_TARGETS, th*tw]
    return torch.from_numpy(ctx).long(), torch.from_numpy(tgt).long()


# ----------------------------------------------------------------------------------------
# Stage 1: I-JEPA
# ----------------------------------------------------------------------------------------

def progress(step, total, t0, budget):
    return max(step / total, (time.time() - t0) / budget)


def lr_at(p, peak, warm=0.05, floor=0.05):
    if p < warm:
        return peak * p / warm
    q = (p - warm) / (1 - warm)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, q))))


def train_jepa(pool, steps, budget):
    torch.manual_seed(SEED)
    enc = ViT()
    pred = Predictor()
    tgt_enc = ViT()
    tgt_enc.load_state_dict(enc.state_dict())
    for p in tgt_enc.parameters():
        p.requires_grad_(False)
    params = list(enc.parameters()) + list(pred.parameters())
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}], lr=JEPA_LR,
                            betas=(0.9, 0.95))
    rng = np.random.RandomState(SEED)
    t0 = time.time()
    hist = []
    step = 0
    while True:
        p = progress(step, steps, t0, budget)
        if p >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(p, JEPA_LR)
        idx = rng.randint(0, len(pool), JEPA_BATCH)
        x = normalize(pool[idx])
        ctx, tgt = sample_masks(rng, JEPA_BATCH)
        with torch.no_grad():
            h = F.layer_norm(tgt_enc(x), (D,))                       # [b,N,D]
            b, nt, k = tgt.shape
            h = torch.gather(h.unsqueeze(1).expand(-1, nt, -1, -1).reshape(b * nt, NPATCH, D), 1,
                             tgt.reshape(b * nt, k, 1).expand(-1, -1, D))
        z = enc(x, keep=ctx)                                          # [b,Nc,D]
        zc = z.unsqueeze(1).expand(-1, nt, -1, -1).reshape(b * nt, z.shape[1], D)
        cpos = ctx.unsqueeze(1).expand(-1, nt, -1).reshape(b * nt, -1)
        out = pred(zc, cpos, tgt.reshape(b * nt, k))
        loss = F.smooth_l1_loss(out, h)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        m = EMA0 + (EMA1 - EMA0) * min(1.0, p)
        with torch.no_grad():
            for pt, ps in zip(tgt_enc.parameters(), enc.parameters()):
                pt.mul_(m).add_(ps.detach(), alpha=1 - m)
        if step % 100 == 0:
            with torch.no_grad():
                std = F.normalize(z.mean(1), dim=-1).std(0).mean().item()
            log("jepa step %d loss %.4f lr %.2e ema %.4f pooled-std %.3f (%.0fs)"
                % (step, loss.item(), opt.param_groups[0]["lr"], m, std, time.time() - t0))
            hist.append((step, loss.item()))
        step += 1
    return enc, tgt_enc, pred, {"steps": step, "seconds": time.time() - t0, "loss_curve": hist}


# ----------------------------------------------------------------------------------------
# Stage 2: VL-JEPA
# ----------------------------------------------------------------------------------------

def pick_query_target(rng, scene):
    kind = rng.choices(list(QUERY_P), weights=list(QUERY_P.values()))[0]
    q = rng.choice(QUERIES[kind])
    objs = scene["objects"]
    if kind == "caption":
        style = rng.choice(S.CAPTION_STYLES)
        return q, S.caption(scene, style)
    if kind == "shape":
        return q, " and ".join(S.describe(o, "shape") for o in objs)
    return q, " and ".join(S.describe(o, kind) for o in objs)


def train_vl(enc, pool_imgs, pool_scenes, steps, budget):
    torch.manual_seed(SEED + 1)
    enc.eval()
    log("encoding the pool with the frozen X-encoder ...")
    feats = torch.zeros(len(pool_imgs), NPATCH, D, dtype=torch.float16)
    with torch.no_grad():
        for i in range(0, len(pool_imgs), 500):
            feats[i:i + 500] = enc(normalize(pool_imgs[i:i + 500])).half()
    yenc = TextEncoder()
    vlp = VLPredictor()
    logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    params = list(yenc.parameters()) + list(vlp.parameters()) + [logit_scale]
    opt = torch.optim.AdamW([{"params": [p for p in params if p.ndim >= 2], "weight_decay": 0.05},
                             {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}],
                            lr=VL_LR)
    rng = random.Random(SEED + 2)
    nrng = np.random.RandomState(SEED + 2)
    t0 = time.time()
    hist = []
    step = 0
    while True:
        p = progress(step, steps, t0, budget)
        if p >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(p, VL_LR)
        idx = nrng.randint(0, len(pool_imgs), VL_BATCH)
        qs, ts = zip(*[pick_query_target(rng, pool_scenes[i]) for i in idx])
        qi, qm = encode_batch(qs)
        ti, tm = encode_batch(ts)
        pv = F.normalize(vlp(feats[idx].float(), qi, qm), dim=-1)
        ty = F.normalize(yenc(ti, tm), dim=-1)
        logits = logit_scale.exp().clamp(max=100) * pv @ ty.t()
        # identical target texts are positives of each other (many "red" targets in a batch)
        same = torch.tensor([[a == b for b in ts] for a in ts], dtype=torch.float32)
        same = same / same.sum(1, keepdim=True)
        loss = 0.5 * (-(same * F.log_softmax(logits, 1)).sum(1).mean()
                      - (same * F.log_softmax(logits.t(), 1)).sum(1).mean())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 100 == 0:
            log("vl step %d loss %.4f lr %.2e temp %.3f (%.0fs)"
                % (step, loss.item(), opt.param_groups[0]["lr"], 1 / logit_scale.exp().item(),
                   time.time() - t0))
            hist.append((step, loss.item()))
        step += 1
    return yenc.eval(), vlp.eval(), {"steps": step, "seconds": time.time() - t0, "loss_curve": hist}


# ----------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------

@torch.no_grad()
def embed_texts(yenc, texts):
    i, m = encode_batch(texts)
    return F.normalize(yenc(i, m), dim=-1)


@torch.no_grad()
def predict_emb(enc, vlp, imgs_u8, query):
    out = []
    for i in range(0, len(imgs_u8), 250):
        x = normalize(imgs_u8[i:i + 250])
        qi, qm = encode_batch([query] * len(x))
        out.append(F.normalize(vlp(enc(x), qi, qm), dim=-1))
    return torch.cat(out)


def rank_acc(enc, vlp, yenc, imgs, query, candidates, truth):
    """top-1 accuracy of ranking `candidates` (texts) by cosine; truth: index per image."""
    pe = predict_emb(enc, vlp, imgs, query)
    ce = embed_texts(yenc, candidates)
    pick = (pe @ ce.t()).argmax(1).numpy()
    return float((pick == np.asarray(truth)).mean())


def test_set(n, augment=False, heldout_only=False, n_objects=1):
    imgs, scenes = [], []
    for i in range(n):
        seed = S.split_seed("test", i)
        sc = S.sample_scene(seed, n_objects=n_objects, augment=augment, only_heldout=heldout_only)
        imgs.append(S.render_augmented(sc, seed) if augment else S.render(sc))
        scenes.append(sc)
    return np.stack(imgs), scenes


def pil_drawings(seed=99, n_per=4):
    """Scenes drawn with PIL's ImageDraw (not our renderer): plain 32x32 (and 64x64 drawings
    downscaled to 32 by PIL's bilinear/box filters), shapes with other sizes/outlines and
    several background colours. Returns (imgs uint8 [n,32,32,3], (shape, colour) labels)."""
    from PIL import Image, ImageDraw
    rng = random.Random(seed)
    colors = {"red": (255, 0, 0), "green": (0, 200, 0), "blue": (0, 0, 255),
              "yellow": (255, 255, 0), "purple": (128, 0, 128), "cyan": (0, 255, 255)}
    imgs, labels = [], []
    for shape in S.SHAPES:
        for cname, rgb in colors.items():
            for k in range(n_per):
                big = k % 2 == 1
                W = 64 if big else 32
                bg = [(0, 0, 0), (255, 255, 255), (30, 30, 30), (128, 128, 128)][rng.randrange(4)]
                im = Image.new("RGB", (W, W), bg)
                d = ImageDraw.Draw(im)
                f = W / 32.0
                r = rng.uniform(3, 9) * f
                cx, cy = rng.uniform(r, W - r), rng.uniform(r, W - r)
                if shape == "circle":
                    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rgb)
                elif shape == "square":
                    d.rectangle([cx - r, cy - r, cx + r, cy + r], fill=rgb)
                else:
                    d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=rgb)
                if big:
                    im = im.resize((32, 32), Image.BILINEAR)
                imgs.append(np.asarray(im, np.uint8))
                labels.append((shape, cname))
    return np.stack(imgs), labels


def imagemagick_drawings():
    """A few scenes drawn by ImageMagick's `convert` (if installed), 32x32 and 64x64."""
    import shutil
    import subprocess
    import tempfile
    exe = shutil.which("convert")
    if not exe:
        return None, None
    sys.path.insert(0, os.path.join(REPO, "models", "shapes"))
    cases = []
    for cname in ["red", "blue", "green", "yellow"]:
        for W, bg in [(32, "black"), (64, "white")]:
            f = W // 32
            c, r = 16 * f, 6 * f
            cases.append(("circle", cname, W, bg, "circle %d,%d %d,%d" % (c, c, c + r, c)))
            cases.append(("square", cname, W, bg, "rectangle %d,%d %d,%d" % (c - r, c - r, c + r, c + r)))
            cases.append(("triangle", cname, W, bg, "polygon %d,%d %d,%d %d,%d" % (c, c - r, c - r, c + r, c + r, c + r)))
    imgs, labels = [], []
    d = tempfile.mkdtemp()
    try:
        for i, (shape, cname, W, bg, draw) in enumerate(cases):
            fn = os.path.join(d, "%d.png" % i)
            subprocess.run([exe, "-size", "%dx%d" % (W, W), "xc:" + bg, "-fill", cname, "-draw", draw,
                            "-resize", "32x32", "-type", "TrueColor", "PNG24:" + fn],
                           check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            imgs.append(S.read_png(fn))
            labels.append((shape, cname))
    except Exception as e:     # noqa: BLE001
        log("ImageMagick drawings skipped:", e)
        return None, None
    finally:
        import shutil as sh
        sh.rmtree(d, ignore_errors=True)
    return np.stack(imgs), labels


@torch.no_grad()
def pooled_features(enc, imgs, flat=False):
    out = []
    for i in range(0, len(imgs), 500):
        h = enc(normalize(imgs[i:i + 500]))
        if flat:   # keep the layout: 2x2-average the 8x8 grid of patch embeddings -> 16 x D
            g = h.transpose(1, 2).reshape(h.shape[0], D, GRID, GRID)
            out.append(F.avg_pool2d(g, 2).flatten(1))
        else:
            out.append(h.mean(1))
    return torch.cat(out).numpy()


def linear_probe(enc, n_train=3000, n_test=1000, flat=False):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    tr_imgs, tr_sc = [], []
    for i in range(n_train):
        seed = S.split_seed("val", i)
        sc = S.sample_scene(seed, n_objects=1, augment=True, exclude_heldout=False)
        tr_imgs.append(S.render_augmented(sc, seed))
        tr_sc.append(sc)
    te_imgs, te_sc = test_set(n_test, augment=True)
    ftr, fte = pooled_features(enc, np.stack(tr_imgs), flat), pooled_features(enc, te_imgs, flat)
    sc = StandardScaler().fit(ftr)
    ftr, fte = sc.transform(ftr), sc.transform(fte)
    res = {}
    for key in ["shape", "color", "size", "pos"]:
        ytr = [s["objects"][0][key] for s in tr_sc]
        yte = [s["objects"][0][key] for s in te_sc]
        clf = LogisticRegression(max_iter=300 if flat else 2000, C=0.05 if flat else 1.0).fit(ftr, ytr)
        res[key] = float((clf.predict(fte) == np.asarray(yte)).mean())
    return res


def evaluate(enc, tgt_enc, vlp, yenc, n=1000):
    res = {}
    cs_cands = ["a %s %s" % (c, s) for c in S.COLOR_NAMES for s in S.SHAPES]

    def cs_truth(scenes):
        return [cs_cands.index("a %s %s" % (sc["objects"][0]["color"], sc["objects"][0]["shape"]))
                for sc in scenes]

    for name, kw in [("clean", {}), ("augmented", {"augment": True}),
                     ("heldout_combos", {"heldout_only": True})]:
        imgs, scenes = test_set(n, **kw)
        r = {"colour+shape (18 captions)": rank_acc(enc, vlp, yenc, imgs, DEFAULT_QUERY, cs_cands,
                                                    cs_truth(scenes))}
        full = ["a %s %s %s" % (z, c, s) + (" in the center" if p == "center" else " at the " + p)
                for (s, c, z, p) in S.all_combos()]
        r["full caption (324 captions)"] = rank_acc(
            enc, vlp, yenc, imgs, DEFAULT_QUERY, full,
            [full.index(S.caption(sc, "full")) for sc in scenes])
        for kind, key, cands in [("shape", "shape", ["a " + s for s in S.SHAPES]),
                                 ("color", "color", S.COLOR_NAMES),
                                 ("size", "size", S.SIZE_NAMES),
                                 ("position", "pos", [S.describe({"shape": "", "color": "", "size": "", "pos": p}, "position") for p in S.POSITIONS])]:
            truth = [[S.SHAPES, S.COLOR_NAMES, S.SIZE_NAMES, S.POSITIONS][["shape", "color", "size", "position"].index(kind)].index(sc["objects"][0][key]) for sc in scenes]
            r[kind + " (query: %s)" % QUERIES[kind][0]] = rank_acc(enc, vlp, yenc, imgs, QUERIES[kind][0], cands, truth)
        r["three labels, like the acceptance check"] = three_label_acc(enc, vlp, yenc, imgs, scenes)
        res[name] = r
    # two objects: the right "a X and a Y" caption against 17 others that share at most one object
    imgs, scenes = test_set(500, n_objects=2)
    res["two_objects"] = two_object_acc(enc, vlp, yenc, imgs, scenes)
    pimgs, plabels = pil_drawings()
    res["pil_drawings"] = {
        "n": len(plabels),
        "colour+shape (18 captions)": rank_acc(enc, vlp, yenc, pimgs, DEFAULT_QUERY, cs_cands,
                                               [cs_cands.index("a %s %s" % (c, s)) for s, c in plabels]),
        "three labels, like the acceptance check": three_label_acc(enc, vlp, yenc, pimgs, None, plabels)}
    mimgs, mlabels = imagemagick_drawings()
    if mimgs is not None:
        res["imagemagick_drawings"] = {
            "n": len(mlabels),
            "colour+shape (18 captions)": rank_acc(enc, vlp, yenc, mimgs, DEFAULT_QUERY, cs_cands,
                                                   [cs_cands.index("a %s %s" % (c, s)) for s, c in mlabels]),
            "three labels, like the acceptance check": three_label_acc(enc, vlp, yenc, mimgs, None, mlabels)}
    return res, (pimgs, plabels)


def three_label_acc(enc, vlp, yenc, imgs, scenes, labels=None, seed=5):
    """The acceptance check's form: the right "a <colour> <shape>" among it and two others
    with a different colour and a different shape (like "a red circle,a blue square,a green
    triangle")."""
    rng = random.Random(seed)
    if labels is None:
        labels = [(sc["objects"][0]["shape"], sc["objects"][0]["color"]) for sc in scenes]
    pe = predict_emb(enc, vlp, imgs, DEFAULT_QUERY)
    ok = 0
    for i, (s, c) in enumerate(labels):
        others_s = rng.sample([x for x in S.SHAPES if x != s], 2)
        others_c = rng.sample([x for x in S.COLOR_NAMES if x != c], 2)
        cands = ["a %s %s" % (c, s)] + ["a %s %s" % (oc, os_) for oc, os_ in zip(others_c, others_s)]
        ce = embed_texts(yenc, cands)
        ok += int((pe[i] @ ce.t()).argmax().item() == 0)
    return ok / len(labels)


def two_object_acc(enc, vlp, yenc, imgs, scenes, seed=6):
    rng = random.Random(seed)
    pe = predict_emb(enc, vlp, imgs, DEFAULT_QUERY)
    ok = 0
    for i, sc in enumerate(scenes):
        a, b = sc["objects"]
        right = S.caption(sc, "short")
        cands = [right]
        while len(cands) < 18:
            keep = rng.choice([a, b])
            o = {"shape": rng.choice(S.SHAPES), "color": rng.choice(S.COLOR_NAMES), "size": "small", "pos": "top"}
            objs = [keep, o] if rng.random() < 0.5 else [o, keep]
            t = " and ".join(S.describe(x, "short") for x in objs)
            if t != right and t != " and ".join(S.describe(x, "short") for x in [b, a]) and t not in cands:
                cands.append(t)
        ce = embed_texts(yenc, cands)
        ok += int((pe[i] @ ce.t()).argmax().item() == 0)
    return {"right caption among 18 sharing one object": ok / len(scenes)}


# ----------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------

def export_all(enc, tgt_enc, pred, vlp, yenc, out):
    os.makedirs(out, exist_ok=True)
    px = normalize(np.stack([S.render(S.sample_scene(i)) for i in range(2)]))
    with torch.no_grad():
        for name, m in [("x_encoder", enc), ("target_encoder", tgt_enc)]:
            torch.onnx.export(ViTExport(m).eval(), (px,), os.path.join(out, name + ".onnx"),
                              input_names=["pixels"], output_names=["patches"],
                              dynamic_axes={"pixels": {0: "batch"}, "patches": {0: "batch"}},
                              opset_version=OPSET, do_constant_folding=True)
        ctx = enc(px)[:, :40]
        cpos = torch.arange(40).unsqueeze(0).repeat(2, 1)
        tpos = torch.arange(40, 52).unsqueeze(0).repeat(2, 1)
        torch.onnx.export(pred.eval(), (ctx, cpos, tpos), os.path.join(out, "predictor.onnx"),
                          input_names=["context", "context_positions", "target_positions"],
                          output_names=["predicted"],
                          dynamic_axes={"context": {0: "batch", 1: "n_context"},
                                        "context_positions": {0: "batch", 1: "n_context"},
                                        "target_positions": {0: "batch", 1: "n_target"},
                                        "predicted": {0: "batch", 1: "n_target"}},
                          opset_version=OPSET, do_constant_folding=True)
        qi, qm = encode_batch([DEFAULT_QUERY, "what color is it?"], 8)
        torch.onnx.export(vlp, (enc(px), qi, qm), os.path.join(out, "vl_predictor.onnx"),
                          input_names=["patches", "query_ids", "query_mask"],
                          output_names=["embedding"],
                          dynamic_axes={"patches": {0: "batch"},
                                        "query_ids": {0: "batch", 1: "query_length"},
                                        "query_mask": {0: "batch", 1: "query_length"},
                                        "embedding": {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True)
        ti, tm = encode_batch(["a red circle", "a blue square"], 8)
        torch.onnx.export(yenc, (ti, tm), os.path.join(out, "y_encoder.onnx"),
                          input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"},
                                        "embedding": {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(S.tokenizer_json(), f, indent=1)
    jepa = {
        "format": "triptych-jepa/1",
        "image_size": IMG,
        "patch_size": PATCH,
        "normalize": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
        "pooling": "mean",
        "x_encoder": "x_encoder.onnx",
        "target_encoder": "target_encoder.onnx",
        "predictor": "predictor.onnx",
        "target_norm": "layer_norm",
        "vl_predictor": "vl_predictor.onnx",
        "y_encoder": "y_encoder.onnx",
        "y_output": "embedding",
        "y_pooling": "none",
        "tokenizer": "tokenizer.json",
        "max_text_length": MAX_TEXT,
        "default_query": DEFAULT_QUERY,
        "mask_sentinel": SENTINEL,
    }
    with open(os.path.join(out, "jepa.json"), "w") as f:
        json.dump(jepa, f, indent=2)
        f.write("\n")


def check_export(enc, tgt_enc, pred, vlp, yenc, out):
    """Exported graphs vs torch, run by the real ONNX Runtime (Java API); and the acceptance
    example ranked entirely through the ONNX files."""
    import onnx
    res = {"ops": set(), "sizes": {}}
    for fn in sorted(os.listdir(out)):
        res["sizes"][fn] = os.path.getsize(os.path.join(out, fn))
        if fn.endswith(".onnx"):
            m = onnx.load(os.path.join(out, fn))
            onnx.checker.check_model(m, full_check=True)
            assert all(o.domain in ("", "ai.onnx") for o in m.opset_import if o.version) and \
                all(o.version <= OPSET for o in m.opset_import)
            res["ops"] |= {n.op_type for n in m.graph.node}
            assert all(n.domain in ("", "ai.onnx") for n in m.graph.node)
    res["ops"] = sorted(res["ops"])
    # (1) sentinel-masked full encoding == context-only encoding at the context positions
    img = S.render({"background": [0, 0, 0], "objects": [
        {"shape": "square", "color": "blue", "size": "large", "pos": "center"}]})
    px = normalize(img[None])
    keep = torch.tensor([[i for i in range(NPATCH) if (i // GRID) % 2 == 0 or i % GRID < 3]])
    masked = patchify(px.clone())
    drop = torch.ones(NPATCH, dtype=torch.bool)
    drop[keep[0]] = False
    masked[0, drop] = -10.0
    masked_px = masked.reshape(1, GRID, GRID, 3, PATCH, PATCH).permute(0, 3, 1, 4, 2, 5).reshape(1, 3, IMG, IMG)
    with torch.no_grad():
        a = enc(px, keep=keep)
        b = ViTExport(enc)(masked_px)[:, keep[0]]
    res["sentinel_vs_context_encoder_maxdiff"] = float((a - b).abs().max())
    with torch.no_grad():
        texts = ["a red circle", "a small blue square at the top left", "what is in the image?"]
        i1, m1 = encode_batch(texts)
        i2, m2 = encode_batch(texts, MAX_TEXT, True)
        d1 = (yenc(i1, m1) - yenc(i2, m2)).abs().max()
        d2 = (vlp(a.new_zeros(3, NPATCH, D) + enc(px), i1, m1) - vlp(enc(px).expand(3, -1, -1), i2, m2)).abs().max()
    res["padding_invariance_maxdiff"] = {"y_encoder": float(d1), "vl_predictor": float(d2)}
    if not ortrun.available():
        log("ONNX Runtime (Java) not available: skipping the ONNX-vs-torch checks")
        return res
    diffs = {}
    x = normalize(np.stack([S.render(S.sample_scene(S.split_seed("test", i))) for i in range(3)]))
    with torch.no_grad():
        ref = enc(x)
        o = ortrun.run(os.path.join(out, "x_encoder.onnx"), {"pixels": x.numpy()})["patches"]
        diffs["x_encoder"] = float(np.abs(o - ref.numpy()).max())
        o = ortrun.run(os.path.join(out, "x_encoder.onnx"), {"pixels": masked_px.numpy()})["patches"]
        diffs["x_encoder_sentinel_masked_vs_context_encoder"] = float(np.abs(o[:, keep[0]] - a.numpy()).max())
        o = ortrun.run(os.path.join(out, "target_encoder.onnx"), {"pixels": x.numpy()})["patches"]
        diffs["target_encoder"] = float(np.abs(o - tgt_enc(x).numpy()).max())
        cpos = torch.tensor([[0, 1, 2, 3, 8, 9, 10, 11, 30, 31]] * 3)
        tpos = torch.tensor([[20, 21, 28, 29, 44]] * 3)
        ctx = torch.gather(ref, 1, cpos.unsqueeze(-1).expand(-1, -1, D))
        o = ortrun.run(os.path.join(out, "predictor.onnx"),
                       {"context": ctx.numpy(), "context_positions": cpos.numpy(),
                        "target_positions": tpos.numpy()})["predicted"]
        diffs["predictor"] = float(np.abs(o - pred(ctx, cpos, tpos).numpy()).max())
        qi, qm = encode_batch([DEFAULT_QUERY, "what shape is it?", "where is it?"], MAX_TEXT, True)
        o = ortrun.run(os.path.join(out, "vl_predictor.onnx"),
                       {"patches": ref.numpy(), "query_ids": qi.numpy(), "query_mask": qm.numpy()})["embedding"]
        diffs["vl_predictor"] = float(np.abs(o - vlp(ref, qi, qm).numpy()).max())
        labels = ["a red circle", "a blue square", "a green triangle"]
        ti, tm = encode_batch(labels, MAX_TEXT, True)
        ye = ortrun.run(os.path.join(out, "y_encoder.onnx"),
                        {"input_ids": ti.numpy(), "attention_mask": tm.numpy()})["embedding"]
        diffs["y_encoder"] = float(np.abs(ye - yenc(ti, tm).numpy()).max())
        # acceptance example, all through ONNX Runtime
        patches = ortrun.run(os.path.join(out, "x_encoder.onnx"), {"pixels": px.numpy()})["patches"]
        qi, qm = encode_batch([DEFAULT_QUERY], MAX_TEXT, True)
        pe = ortrun.run(os.path.join(out, "vl_predictor.onnx"),
                        {"patches": patches, "query_ids": qi.numpy(), "query_mask": qm.numpy()})["embedding"]
        pe = pe / np.linalg.norm(pe, axis=1, keepdims=True)
        yn = ye / np.linalg.norm(ye, axis=1, keepdims=True)
        sims = (pe @ yn.T)[0]
        res["acceptance_example"] = sorted(zip(labels, sims.tolist()), key=lambda t: -t[1])
    res["onnx_vs_torch_maxdiff"] = diffs
    return res


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------

def fmt_pct(x):
    return "%.1f %%" % (100 * x)


def write_results(metrics, md_path, results_path):
    m = metrics
    L = []
    L.append("Produced by the last run of `train.py` (%s)." % time.strftime("%Y-%m-%d"))
    L.append("")
    L.append("| | value |")
    L.append("| --- | --- |")
    L.append("| parameters: x_encoder (= target_encoder) / predictor / vl_predictor / y_encoder | %s |"
             % " / ".join("{:,}".format(m["params"][k]) for k in ["x_encoder", "predictor", "vl_predictor", "y_encoder"]))
    L.append("| I-JEPA stage: steps (batch %d) / wall time, 1 CPU thread | %d / %.1f min |"
             % (JEPA_BATCH, m["jepa"]["steps"], m["jepa"]["seconds"] / 60))
    L.append("| VL stage: steps (batch %d) / wall time | %d / %.1f min |"
             % (VL_BATCH, m["vl"]["steps"], m["vl"]["seconds"] / 60))
    L.append("| whole script wall time | %.1f min |" % (m["total_seconds"] / 60))
    L.append("| I-JEPA loss first / last logged | %.4f / %.4f |" % (m["jepa"]["loss_curve"][0][1], m["jepa"]["loss_curve"][-1][1]))
    L.append("| VL InfoNCE loss first / last logged | %.4f / %.4f |" % (m["vl"]["loss_curve"][0][1], m["vl"]["loss_curve"][-1][1]))
    L.append("")
    L.append("### Zero-shot ranking (held-out test renders, default query \"%s\" unless named)" % DEFAULT_QUERY)
    L.append("")
    keys = list(m["zero_shot"]["clean"].keys())
    L.append("| task | clean | augmented | held-out combinations |")
    L.append("| --- | --- | --- | --- |")
    for k in keys:
        L.append("| %s | %s | %s | %s |" % (k, fmt_pct(m["zero_shot"]["clean"][k]), fmt_pct(m["zero_shot"]["augmented"][k]),
                                             fmt_pct(m["zero_shot"]["heldout_combos"][k])))
    L.append("")
    L.append("Two objects (500 test scenes): right \"a X and a Y\" caption among 18 that share one object with it: %s."
             % fmt_pct(m["zero_shot"]["two_objects"]["right caption among 18 sharing one object"]))
    for k, name in [("pil_drawings", "Drawn with PIL ImageDraw"), ("imagemagick_drawings", "Drawn with ImageMagick `convert`")]:
        if k in m["zero_shot"]:
            r = m["zero_shot"][k]
            L.append("%s (%d images, not our renderer): colour+shape among 18 captions %s; three labels %s."
                     % (name, r["n"], fmt_pct(r["colour+shape (18 captions)"]), fmt_pct(r["three labels, like the acceptance check"])))
    L.append("")
    L.append("### Linear probes (logistic regression on the mean-pooled X-encoder patches; 3000 augmented val renders → 1000 augmented test renders)")
    L.append("")
    L.append("| attribute | I-JEPA X-encoder | EMA target encoder | random init (same architecture) | X-encoder, 4x4 grid of pooled patch embeddings | random init, same |")
    L.append("| --- | --- | --- | --- | --- | --- |")
    for k in ["shape", "color", "size", "pos"]:
        L.append("| %s | %s | %s | %s | %s | %s |" % (k, fmt_pct(m["probe"]["x_encoder"][k]), fmt_pct(m["probe"]["target_encoder"][k]),
                                                     fmt_pct(m["probe"]["random"][k]), fmt_pct(m["probe"]["x_encoder_flat"][k]),
                                                     fmt_pct(m["probe"]["random_flat"][k])))
    L.append("")
    L.append("### Export checks")
    L.append("")
    ch = m["export"]
    if "acceptance_example" in ch:
        L.append("Acceptance example through the ONNX files in ONNX Runtime (render of a large blue square in the center, "
                 "labels `a red circle,a blue square,a green triangle`): "
                 + ", ".join("%s (%.3f)" % (l, s) for l, s in ch["acceptance_example"]) + ".")
        L.append("")
        L.append("ONNX Runtime vs torch, max abs diff: " + ", ".join("%s %.1e" % kv for kv in ch["onnx_vs_torch_maxdiff"].items()) + ".")
    L.append("Sentinel-masked x_encoder vs I-JEPA context encoder (torch): %.1e." % ch["sentinel_vs_context_encoder_maxdiff"])
    L.append("")
    L.append("File sizes: " + ", ".join("`%s` %s bytes" % (k, "{:,}".format(v)) for k, v in ch["sizes"].items()))
    L.append("")
    L.append("ONNX operators used: " + ", ".join(ch["ops"]))
    text = "\n".join(L) + "\n"
    with open(results_path, "w") as f:
        f.write(text)
    trainkit.refresh_model_md(md_path, text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--jepa-budget", type=float, default=JEPA_BUDGET_S)
    ap.add_argument("--vl-budget", type=float, default=VL_BUDGET_S)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    trainkit.start(SEED)
    t_start = time.time()
    work = os.path.join(WORK, "smoke") if a.smoke else WORK
    out = a.out or (os.path.join(work, "export") if a.smoke else DEFAULT_OUT)
    os.makedirs(work, exist_ok=True)
    n_pool = 2000 if a.smoke else N_POOL
    jepa_steps, vl_steps = (30, 30) if a.smoke else (JEPA_STEPS, VL_STEPS)
    log("rendering %d augmented training scenes" % n_pool)
    pool_imgs, pool_scenes = build_pool(n_pool)
    log("stage 1: I-JEPA pre-training (%d steps max, budget %.0fs)" % (jepa_steps, a.jepa_budget))
    enc, tgt_enc, pred, jinfo = train_jepa(pool_imgs, jepa_steps, a.jepa_budget)
    enc.eval(), tgt_enc.eval(), pred.eval()
    log("stage 2: VL-JEPA (%d steps max, budget %.0fs)" % (vl_steps, a.vl_budget))
    yenc, vlp, vinfo = train_vl(enc, pool_imgs, pool_scenes, vl_steps, a.vl_budget)
    torch.save({"enc": enc.state_dict(), "tgt_enc": tgt_enc.state_dict(), "pred": pred.state_dict(),
                "vlp": vlp.state_dict(), "yenc": yenc.state_dict()}, os.path.join(work, "model.pt"))
    log("evaluating")
    n_eval = 200 if a.smoke else 1000
    zs, _ = evaluate(enc, tgt_enc, vlp, yenc, n=n_eval)
    log(json.dumps(zs, indent=1))
    log("linear probes")
    torch.manual_seed(SEED + 99)
    rand_enc = ViT().eval()
    probe = {"x_encoder": linear_probe(enc, *((400, 200) if a.smoke else (3000, 1000))),
             "target_encoder": linear_probe(tgt_enc, *((400, 200) if a.smoke else (3000, 1000))),
             "random": linear_probe(rand_enc, *((400, 200) if a.smoke else (3000, 1000))),
             "x_encoder_flat": linear_probe(enc, *((400, 200) if a.smoke else (3000, 1000)), flat=True),
             "random_flat": linear_probe(rand_enc, *((400, 200) if a.smoke else (3000, 1000)), flat=True)}
    log(json.dumps(probe))
    log("exporting to", out)
    export_all(enc, tgt_enc, pred, vlp, yenc, out)
    ex = check_export(enc, tgt_enc, pred, vlp, yenc, out)
    log(json.dumps(ex, indent=1, default=str))
    metrics = {"params": {"x_encoder": nparams(enc), "predictor": nparams(pred),
                          "vl_predictor": nparams(vlp), "y_encoder": nparams(yenc)},
               "jepa": jinfo, "vl": vinfo, "zero_shot": zs, "probe": probe, "export": ex,
               "total_seconds": time.time() - t_start}
    with open(os.path.join(work, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1, default=str)
    write_results(metrics, os.path.join(HERE, "MODEL.md") if not a.smoke else os.path.join(work, "MODEL.md"),
                  os.path.join(work, "results.md"))
    log("done in %.1f min" % ((time.time() - t_start) / 60))


if __name__ == "__main__":
    main()
