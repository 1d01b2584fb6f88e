#!/usr/bin/python3
"""Selective decoding on a shapes-world frame stream with the trained tiny-vljepa (torch
checkpoint models/tiny-vljepa/work/model.pt, written by train.py).

VL-JEPA's idea: embed every frame (cheap), but "decode" (here: rank the candidate captions,
standing in for a text decoder) only when the embedding has drifted from the embedding at the
last decode by more than a threshold (cosine distance); otherwise reuse the last label.
Reports, per threshold, the decodes saved vs decoding every frame, the agreement with
per-frame decoding, and both accuracies against the stream's ground truth.

    /usr/bin/python3 models/tiny-vljepa/selective_decoding.py [--frames 400] [--seed 7]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train as T  # noqa: E402

S = T.S


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", default=os.path.join(T.WORK, "selective_decoding.json"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(os.path.join(T.WORK, "model.pt"))
    enc, vlp, yenc = T.ViT(), T.VLPredictor(), T.TextEncoder()
    enc.load_state_dict(ck["enc"])
    vlp.load_state_dict(ck["vlp"])
    yenc.load_state_dict(ck["yenc"])
    enc.eval(), vlp.eval(), yenc.eval()
    frames = S.sequence(a.seed, a.frames)
    imgs = np.stack([S.render(sc) for sc, _ in frames])
    truth = [S.caption(sc, "color_shape") for sc, _ in frames]
    cands = ["a %s %s" % (c, s) for c in S.COLOR_NAMES for s in S.SHAPES]
    with torch.no_grad():
        emb = T.predict_emb(enc, vlp, imgs, T.DEFAULT_QUERY)
        ce = T.embed_texts(yenc, cands)
    per_frame = [cands[i] for i in (emb @ ce.t()).argmax(1).tolist()]
    n_changes = sum(1 for _, ch in frames if ch)
    res = {"frames": len(frames), "content_changes": n_changes,
           "per_frame_accuracy": float(np.mean([p == t for p, t in zip(per_frame, truth)])),
           "thresholds": []}
    for tau in [0.02, 0.05, 0.1, 0.2, 0.3]:
        decodes, last_e, last_label, labels = 0, None, None, []
        for i in range(len(frames)):
            e = emb[i]
            if last_e is None or 1.0 - float(F.cosine_similarity(e, last_e, dim=0)) > tau:
                last_e, last_label = e, per_frame[i]      # decode this frame
                decodes += 1
            labels.append(last_label)
        res["thresholds"].append({
            "threshold": tau, "decodes": decodes,
            "fewer_decodes": len(frames) / decodes,
            "agreement_with_per_frame": float(np.mean([x == y for x, y in zip(labels, per_frame)])),
            "accuracy": float(np.mean([x == t for x, t in zip(labels, truth)]))})
    print(json.dumps(res, indent=1))
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
