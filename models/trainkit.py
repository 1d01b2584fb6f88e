"""What the training scripts under models/ share.

Import it before torch: it limits BLAS/OpenMP to one thread (the machine is shared, and one
thread keeps runs reproducible), which only takes effect before torch loads.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import random  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

RESULTS_BEGIN = "<!-- BEGIN GENERATED RESULTS -->"
RESULTS_END = "<!-- END GENERATED RESULTS -->"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def start(seed):
    """One torch thread and every random generator (Python, numpy, torch) seeded with `seed`."""
    torch.set_num_threads(1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def nparams(module):
    return sum(p.numel() for p in module.parameters())


def refresh_model_md(md_path, text):
    """Replaces the generated results section of a MODEL.md (between the two markers) with `text`."""
    if not os.path.exists(md_path):
        return
    with open(md_path, encoding="utf-8") as f:
        md = f.read()
    if RESULTS_BEGIN in md and RESULTS_END in md:
        head, rest = md.split(RESULTS_BEGIN, 1)
        _, tail = rest.split(RESULTS_END, 1)
        with open(md_path, "w", encoding="utf-8") as f:
            f.write(head + RESULTS_BEGIN + "\n" + text.rstrip("\n") + "\n" + RESULTS_END + tail)
