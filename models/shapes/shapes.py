#!/usr/bin/python3
"""The "shapes world": a deterministic renderer of small synthetic scenes with captions.

Shared by Triptych's tiny-vljepa and tiny-diffusion models (see MODEL.md beside this file).

A scene is a plain dict (JSON-serialisable):

    {"background": [0, 0, 0],
     "objects": [{"shape": "circle", "color": "red", "size": "small", "pos": "top left",
                  # optional continuous fields (defaults give the canonical look):
                  "dx": 0.0, "dy": 0.0,        # offset of the centre in pixels
                  "scale": 1.0,                # multiplies the size's radius
                  "rgb": [220, 40, 40],        # exact fill colour (default: the palette colour)
                  "angle": 0.0}]}              # rotation in degrees (square and triangle)

`render(scene) -> uint8 array [32, 32, 3]` draws it with 4x4 super-sampling anti-aliasing on
a plain background (black by default: the canonical shapes world is dark). `caption(scene)`
describes it: "a small red circle at the top left", or for two objects
"a red circle and a blue square" (style "short"); several other caption styles exist for
training text encoders.

Sampling is seeded: `sample_scene(seed)` always returns the same scene for the same seed
(Python's `random.Random`, stable across versions). Splits are seed ranges: train
[0, 1e6), val [1e6, 2e6), test [2e6, 3e6) (`split_seed(split, i)`). A fixed 10 % of the
single-object attribute combinations (shape, colour, size, position) is HELD OUT: training
scenes never contain them (`sample_scene(..., exclude_heldout=True)`), so held-out captions
describe scenes no model saw.

CLI (writes PNGs with a small built-in PNG writer; no PIL needed):

    python3 models/shapes/shapes.py --out /tmp/frames --count 20 --seed 1
    python3 models/shapes/shapes.py --out /tmp/stream --sequence --count 60 --seed 7

The first writes scene_0000.png ... and captions.tsv; `--sequence` writes a frame stream
frame_0000.png ... in which a scene holds for a few frames (the object drifts a pixel or so)
and then changes (new shape/colour/position), plus frames.tsv with each frame's caption and
whether the content changed at that frame (for selective-decoding tests).
"""
import argparse
import json
import math
import os
import random
import re
import struct
import sys
import zlib

import numpy as np

IMAGE_SIZE = 32
SUPERSAMPLE = 4

SHAPES = ["circle", "square", "triangle"]
COLORS = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (50, 80, 230),
    "yellow": (240, 220, 40),
    "purple": (150, 60, 200),
    "cyan": (40, 200, 210),
}
COLOR_NAMES = list(COLORS)
SIZES = {"small": 3.5, "large": 6.5}   # "radius" (half extent) in pixels
SIZE_NAMES = list(SIZES)
# 3x3 grid of named places, row-major; centres in pixels.
GRID = [7.0, 16.0, 25.0]
POSITIONS = ["top left", "top", "top right",
             "left", "center", "right",
             "bottom left", "bottom", "bottom right"]
POS_XY = {p: (GRID[i % 3], GRID[i // 3]) for i, p in enumerate(POSITIONS)}
BACKGROUND = (0, 0, 0)

SPLITS = {"train": 0, "val": 1_000_000, "test": 2_000_000}
HELDOUT_SEED = 424242
HELDOUT_FRACTION = 0.10

# Every word any caption style or query can produce (the caption vocabulary).
VOCAB_WORDS = (["a", "an", "and", "at", "the", "in", "of", "image", "picture", "object", "shape",
                "what", "is", "it", "color", "colour", "size", "where", "how", "big", "?", "there"]
               + SHAPES + COLOR_NAMES + SIZE_NAMES
               + ["top", "bottom", "left", "right", "center"])


# Tokenizer shared by the models (Hugging Face WordLevel + Whitespace pre-tokenizer +
# Lowercase normalizer; `tokenizer_json()` writes it, `tokenize()` is the same in Python).
TOKEN_VOCAB = ["[PAD]", "[UNK]"] + list(dict.fromkeys(VOCAB_WORDS + [".", ","]))
TOKEN_IDS = {w: i for i, w in enumerate(TOKEN_VOCAB)}
PAD_ID, UNK_ID = 0, 1
_WS_RE = re.compile(r"\w+|[^\w\s]+")     # what the `tokenizers` Whitespace pre-tokenizer splits on


def tokenize(text):
    return [TOKEN_IDS.get(w, UNK_ID) for w in _WS_RE.findall(text.lower())]


def tokenizer_json():
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": w, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for i, w in enumerate(TOKEN_VOCAB[:2])],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None, "decoder": None,
        "model": {"type": "WordLevel", "vocab": TOKEN_IDS, "unk_token": "[UNK]"},
    }


def all_combos():
    return [(s, c, z, p) for s in SHAPES for c in COLOR_NAMES for z in SIZE_NAMES for p in POSITIONS]


def _heldout():
    combos = all_combos()
    rng = random.Random(HELDOUT_SEED)
    rng.shuffle(combos)
    return frozenset(combos[:int(round(len(combos) * HELDOUT_FRACTION))])


HELDOUT_COMBOS = _heldout()


def combo(obj):
    return (obj["shape"], obj["color"], obj["size"], obj["pos"])


def is_heldout(scene):
    return any(combo(o) in HELDOUT_COMBOS for o in scene["objects"])


def split_seed(split, index):
    return SPLITS[split] + index


# --------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------

def _centre(obj):
    x, y = POS_XY[obj["pos"]]
    return x + obj.get("dx", 0.0), y + obj.get("dy", 0.0)


def _radius(obj):
    return SIZES[obj["size"]] * obj.get("scale", 1.0)


def _bound(obj):
    """radius of a circle around the centre that contains the whole shape"""
    return _radius(obj) * {"circle": 1.0, "square": 0.9 * math.sqrt(2), "triangle": math.sqrt(2)}[obj["shape"]]


def sample_scene(seed, n_objects=None, augment=False, exclude_heldout=False, two_prob=0.3,
                 background=None, only_heldout=False):
    """The scene for `seed` (deterministic).

    n_objects: 1, 2 or None (two objects with probability two_prob).
    augment: jitter position (+-1.5 px), size (x0.8-1.2), colour shade (brightness x0.65-1.15,
      then +-30 per channel),
      rotation (+-12 degrees); background: a random plain background (dark 60 %, white 20 %,
      grey 20 %) unless `background` is given. Captions stay valid under all of these.
    exclude_heldout: resample until no object is a held-out combination (training data).
    only_heldout: single-object scenes drawn from the held-out combinations only.
    """
    rng = random.Random(seed * 7919 + 17)
    n = n_objects if n_objects else (2 if rng.random() < two_prob else 1)
    if only_heldout:
        n = 1
    while True:
        objs = []
        for _ in range(n):
            if only_heldout:
                s, c, z, p = rng.choice(sorted(HELDOUT_COMBOS))
            else:
                s, c, z, p = (rng.choice(SHAPES), rng.choice(COLOR_NAMES), rng.choice(SIZE_NAMES),
                              rng.choice(POSITIONS))
            o = {"shape": s, "color": c, "size": z, "pos": p}
            if augment:
                o["dx"] = rng.uniform(-1.5, 1.5)
                o["dy"] = rng.uniform(-1.5, 1.5)
                o["scale"] = rng.uniform(0.8, 1.2)
                base = COLORS[c]
                f = rng.uniform(0.65, 1.15)
                o["rgb"] = [int(min(255, max(0, v * f + rng.randint(-30, 30)))) for v in base]
                o["angle"] = rng.uniform(-12, 12) if s != "circle" else 0.0
            objs.append(o)
        if n == 2:
            a, b = objs
            if a["pos"] == b["pos"] or (a["shape"], a["color"]) == (b["shape"], b["color"]):
                continue
            (ax, ay), (bx, by) = _centre(a), _centre(b)
            if math.hypot(ax - bx, ay - by) < _bound(a) + _bound(b) + 1.0:
                continue
            objs.sort(key=lambda o: POSITIONS.index(o["pos"]))   # reading order
        scene = {"background": list(BACKGROUND), "objects": objs}
        if exclude_heldout and is_heldout(scene):
            continue
        if background is not None:
            scene["background"] = list(background)
        elif augment:
            r = rng.random()
            if r < 0.6:
                scene["background"] = [rng.randint(0, 40)] * 3
            elif r < 0.8:
                scene["background"] = [rng.randint(215, 255)] * 3
            else:
                scene["background"] = [rng.randint(60, 190)] * 3
        return scene


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------

_SS = IMAGE_SIZE * SUPERSAMPLE
_YS, _XS = np.mgrid[0:_SS, 0:_SS].astype(np.float32)
# sample point centres in pixel units
_PX = (_XS + 0.5) / SUPERSAMPLE
_PY = (_YS + 0.5) / SUPERSAMPLE


def coverage(obj):
    """Anti-aliased coverage in [0, 1] of one object, float32 [32, 32]."""
    cx, cy = _centre(obj)
    r = _radius(obj)
    x = _PX - cx
    y = _PY - cy
    ang = math.radians(obj.get("angle", 0.0))
    if ang:
        ca, sa = math.cos(ang), math.sin(ang)
        x, y = ca * x + sa * y, -sa * x + ca * y
    shape = obj["shape"]
    if shape == "circle":
        inside = x * x + y * y <= r * r
    elif shape == "square":
        h = r * 0.9
        inside = (np.abs(x) <= h) & (np.abs(y) <= h)
    elif shape == "triangle":
        # isosceles, apex up: apex (0, -r), base corners (+-r, +r)
        inside = (y <= r) & (y >= -r) & (np.abs(x) <= (y + r) * 0.5)
    else:
        raise ValueError("unknown shape: %r" % shape)
    cov = inside.astype(np.float32).reshape(IMAGE_SIZE, SUPERSAMPLE, IMAGE_SIZE, SUPERSAMPLE)
    return cov.mean(axis=(1, 3))


def render(scene):
    """uint8 [32, 32, 3] image of the scene."""
    img = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3), np.float32)
    img[:] = np.asarray(scene.get("background", BACKGROUND), np.float32)
    for o in scene["objects"]:
        cov = coverage(o)[:, :, None]
        rgb = np.asarray(o.get("rgb", COLORS[o["color"]]), np.float32)
        img = img * (1.0 - cov) + rgb * cov
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def gaussian_blur(img, sigma):
    """Separable Gaussian blur of a float/uint8 HxWxC image (edge padding); returns float32."""
    x = img.astype(np.float32)
    if sigma <= 0:
        return x
    rad = max(1, int(math.ceil(2.5 * sigma)))
    k = np.exp(-0.5 * (np.arange(-rad, rad + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    p = np.pad(x, ((rad, rad), (0, 0), (0, 0)), mode="edge")
    x = sum(k[i] * p[i:i + x.shape[0]] for i in range(len(k)))
    p = np.pad(x, ((0, 0), (rad, rad), (0, 0)), mode="edge")
    x = sum(k[i] * p[:, i:i + x.shape[1]] for i in range(len(k)))
    return x


def render_augmented(scene, seed):
    """render() plus a random slight blur and pixel noise (seeded): robustness augmentation."""
    rng = random.Random(seed * 31 + 5)
    img = render(scene).astype(np.float32)
    if rng.random() < 0.5:
        img = gaussian_blur(img, rng.uniform(0.3, 0.9))
    if rng.random() < 0.3:
        nrng = np.random.RandomState(seed % (2 ** 31))
        img = img + nrng.normal(0, rng.uniform(2, 8), img.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------
# Captions
# --------------------------------------------------------------------------------------

CAPTION_STYLES = ["short", "full", "shape", "color_shape", "size_color_shape", "color_shape_pos"]


def describe(obj, style="full"):
    s, c, z, p = obj["shape"], obj["color"], obj["size"], obj["pos"]
    where = "in the center" if p == "center" else "at the " + p
    if style == "full":
        return "a %s %s %s %s" % (z, c, s, where)
    if style in ("short", "color_shape"):
        return "a %s %s" % (c, s)
    if style == "shape":
        return "a " + s
    if style == "size_color_shape":
        return "a %s %s %s" % (z, c, s)
    if style == "color_shape_pos":
        return "a %s %s %s" % (c, s, where)
    if style == "color":
        return c
    if style == "size":
        return z
    if style == "position":
        return where
    raise ValueError(style)


def caption(scene, style=None):
    """Caption of a scene. Default style: "full" for one object ("a small red circle at the
    top left"), "short" for two ("a red circle and a blue square")."""
    objs = scene["objects"]
    if style is None:
        style = "full" if len(objs) == 1 else "short"
    return " and ".join(describe(o, style) for o in objs)


# --------------------------------------------------------------------------------------
# PNG I/O (tiny, dependency-free)
# --------------------------------------------------------------------------------------

def write_png(path, img):
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w, c = img.shape
    assert c == 3
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def read_png(path):
    """Reads 8-bit RGB/RGBA/grey PNGs (non-interlaced) -> uint8 [H, W, 3]."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        ln, = struct.unpack(">I", data[pos:pos + 4])
        tag = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + ln]
        if tag == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (0, 2, 4, 6), "unsupported PNG"
        elif tag == b"IDAT":
            idat += body
        pos += 12 + ln
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * ch
    out = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for i in range(stride):
            a = cur[i - ch] if i >= ch else 0
            b = prev[i]
            cc = prev[i - ch] if i >= ch else 0
            if ft == 0:
                pr = 0
            elif ft == 1:
                pr = a
            elif ft == 2:
                pr = b
            elif ft == 3:
                pr = (a + b) // 2
            else:
                pa, pb, pc = abs(b - cc), abs(a - cc), abs(a + b - 2 * cc)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
            cur[i] = (line[i] + pr) & 0xFF
        out[y] = cur
        prev = cur
    img = out.reshape(h, w, ch).astype(np.uint8)
    if ch == 1:
        img = np.repeat(img, 3, axis=2)
    elif ch == 2:
        img = np.repeat(img[:, :, :1], 3, axis=2)
    elif ch == 4:
        img = img[:, :, :3]
    return img


# --------------------------------------------------------------------------------------
# Frame sequences (for selective decoding)
# --------------------------------------------------------------------------------------

def sequence(seed, count, min_hold=4, max_hold=9):
    """A stream of `count` single-object scenes: each content holds for min_hold..max_hold
    frames while the object drifts by up to a pixel per frame, then the shape, colour,
    size or position changes. Returns a list of (scene, changed) pairs; changed is True on
    the first frame of each new content."""
    rng = random.Random(seed * 104729 + 3)
    frames = []
    cur = None
    while len(frames) < count:
        if cur is None:
            cur = {"shape": rng.choice(SHAPES), "color": rng.choice(COLOR_NAMES),
                   "size": rng.choice(SIZE_NAMES), "pos": rng.choice(POSITIONS)}
        else:
            cur = dict(cur)
            what = rng.choice(["shape", "color", "pos", "size", "shape+color"])
            for key in what.split("+"):
                choices = {"shape": SHAPES, "color": COLOR_NAMES, "pos": POSITIONS,
                           "size": SIZE_NAMES}[key]
                cur[key] = rng.choice([v for v in choices if v != cur[key]])
        hold = rng.randint(min_hold, max_hold)
        dx = dy = 0.0
        for k in range(hold):
            if len(frames) >= count:
                break
            dx = max(-1.5, min(1.5, dx + rng.uniform(-0.7, 0.7)))
            dy = max(-1.5, min(1.5, dy + rng.uniform(-0.7, 0.7)))
            o = dict(cur, dx=round(dx, 3), dy=round(dy, 3))
            frames.append(({"background": list(BACKGROUND), "objects": [o]}, k == 0))
    return frames


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="Render shapes-world scenes to PNG files.")
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1, help="first scene seed (scene i uses seed+i)")
    ap.add_argument("--objects", type=int, choices=[1, 2], default=None,
                    help="force one or two objects (default: mixed, 30%% two)")
    ap.add_argument("--augment", action="store_true", help="jittered size/position/shade/background")
    ap.add_argument("--heldout", action="store_true", help="only held-out attribute combinations")
    ap.add_argument("--sequence", action="store_true",
                    help="write a frame stream (frame_NNNN.png + frames.tsv) instead")
    ap.add_argument("--scale", type=int, default=1, help="upscale PNGs by this integer (nearest)")
    ap.add_argument("--json", action="store_true", help="also write each scene as JSON")
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)

    def save(name, scene):
        img = render(scene)
        if a.scale > 1:
            img = img.repeat(a.scale, 0).repeat(a.scale, 1)
        write_png(os.path.join(a.out, name + ".png"), img)
        if a.json:
            with open(os.path.join(a.out, name + ".json"), "w") as f:
                json.dump(scene, f)

    if a.sequence:
        with open(os.path.join(a.out, "frames.tsv"), "w") as f:
            f.write("frame\tchanged\tcaption\n")
            for i, (scene, changed) in enumerate(sequence(a.seed, a.count)):
                name = "frame_%04d" % i
                save(name, scene)
                f.write("%s.png\t%d\t%s\n" % (name, int(changed), caption(scene)))
    else:
        with open(os.path.join(a.out, "captions.tsv"), "w") as f:
            f.write("file\tcaption\tshort\n")
            for i in range(a.count):
                scene = sample_scene(a.seed + i, n_objects=a.objects, augment=a.augment,
                                     only_heldout=a.heldout)
                name = "scene_%04d" % i
                save(name, scene)
                f.write("%s.png\t%s\t%s\n" % (name, caption(scene), caption(scene, "short")))
    print("wrote %d images to %s" % (a.count, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
