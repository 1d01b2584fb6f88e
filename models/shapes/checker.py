#!/usr/bin/python3
"""An independent attribute checker for single-object shapes-world images.

A tiny CNN, trained separately (its own seed, its own augmented renders) to read an
image's shape, colour, size and position. tiny-diffusion uses it to check its generated
images against the prompt. It never sees any generated image during training.

    /usr/bin/python3 models/shapes/checker.py --train      # ~2-4 min on one core
    /usr/bin/python3 models/shapes/checker.py --eval       # accuracy on the test split

The weights go to models/shapes/work/checker.pt (git-ignored; `load()` trains them on
first use). Python API:

    import checker; net = checker.load(); checker.predict(net, uint8_images_NHW3)
      -> dict of lists: {"shape": [...], "color": [...], "size": [...], "pos": [...]}
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import trainkit  # noqa: E402,F401  (first: it limits BLAS threads before torch loads)

import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import shapes as S  # noqa: E402

WORK = os.path.join(HERE, "work")
WEIGHTS = os.path.join(WORK, "checker.pt")
SEED = 777
STEPS = 1500
BATCH = 64
HEADS = {"shape": S.SHAPES, "color": S.COLOR_NAMES, "size": S.SIZE_NAMES, "pos": S.POSITIONS}


class Checker(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)   # 16x16
        self.c3 = nn.Conv2d(32, 64, 3, stride=2, padding=1)   # 8x8
        self.c4 = nn.Conv2d(64, 64, 3, padding=1)
        self.fc = nn.Linear(64 * 8 * 8, 128)
        self.heads = nn.ModuleDict({k: nn.Linear(128, len(v)) for k, v in HEADS.items()})

    def forward(self, x):                      # x: float [b,3,32,32] in [0,1]
        x = F.relu(self.c1(x))
        x = F.relu(self.c2(x))
        x = F.relu(self.c3(x))
        x = F.relu(self.c4(x))
        h = F.relu(self.fc(x.flatten(1)))
        return {k: head(h) for k, head in self.heads.items()}


def to_tensor(imgs):
    return torch.from_numpy(np.asarray(imgs, np.float32) / 255.0).permute(0, 3, 1, 2).contiguous()


def batch(seeds, augment=True):
    imgs, labels = [], {k: [] for k in HEADS}
    for s in seeds:
        scene = S.sample_scene(int(s), n_objects=1, augment=augment)
        imgs.append(S.render_augmented(scene, int(s)) if augment else S.render(scene))
        o = scene["objects"][0]
        for k in HEADS:
            labels[k].append(HEADS[k].index(o[k]))
    return to_tensor(imgs), {k: torch.tensor(v) for k, v in labels.items()}


def train(steps=STEPS, log=print):
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    net = Checker()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    rng = np.random.RandomState(SEED)
    t0 = time.time()
    for step in range(steps):
        # checker's own seeds: a slice of the train range the generative models do not use first
        seeds = rng.randint(500_000, 1_000_000, BATCH)
        x, y = batch(seeds)
        out = net(x)
        loss = sum(F.cross_entropy(out[k], y[k]) for k in HEADS)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 300 == 0 or step == steps - 1:
            log("checker step %d loss %.4f (%.0fs)" % (step, loss.item(), time.time() - t0))
    os.makedirs(WORK, exist_ok=True)
    torch.save(net.state_dict(), WEIGHTS)
    return net


def load(log=print):
    if not os.path.exists(WEIGHTS):
        log("checker weights missing: training them (%s)" % WEIGHTS)
        return train(log=log).eval()
    net = Checker()
    net.load_state_dict(torch.load(WEIGHTS))
    return net.eval()


@torch.no_grad()
def predict(net, imgs):
    """imgs: uint8 [N,32,32,3] -> dict of predicted attribute names per image."""
    out = net(to_tensor(imgs))
    return {k: [HEADS[k][i] for i in out[k].argmax(1).tolist()] for k in HEADS}


def evaluate(net, n=2000, augment=False):
    seeds = [S.split_seed("test", i) for i in range(n)]
    correct = {k: 0 for k in HEADS}
    for i in range(0, n, 200):
        x, y = batch(seeds[i:i + 200], augment=augment)
        with torch.no_grad():
            out = net(x)
        for k in HEADS:
            correct[k] += int((out[k].argmax(1) == y[k]).sum())
    return {k: correct[k] / n for k in HEADS}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--steps", type=int, default=STEPS)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.train:
        t = time.time()
        net = train(a.steps).eval()
        print("trained in %.1f min" % ((time.time() - t) / 60))
    else:
        net = load()
    if a.eval or a.train:
        res = {"clean": evaluate(net), "augmented": evaluate(net, augment=True)}
        print(json.dumps(res, indent=1))
        with open(os.path.join(WORK, "checker_metrics.json"), "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
