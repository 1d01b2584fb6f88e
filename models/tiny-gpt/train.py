#!/usr/bin/python3
"""Train and export the "tiny-gpt" model used by Triptych.

One command rebuilds everything (tokenizer, model, ONNX export, configs):

    /usr/bin/python3 models/tiny-gpt/train.py

Needs Debian's python3-torch, python3-onnx, python3-numpy and the corpus from the
Debian packages `fortunes` + `fortunes-min` (/usr/share/games/fortunes).

Outputs:
  bundles/models/tiny-gpt/src/main/resources/models/tiny-gpt/
      genai_config.json  model.onnx  tokenizer.json  tokenizer_config.json
  models/tiny-gpt/work/            (checkpoint, logs, metrics, samples; git-ignored)
  models/tiny-gpt/MODEL.md         (the generated results section is refreshed)

Options (for development): --smoke (a ~1 minute run written to work/smoke/),
--time-budget SECONDS, --steps N, --out DIR.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import trainkit  # noqa: E402  (first: it limits BLAS threads before torch loads)
from trainkit import log  # noqa: E402

import argparse
import collections
import json
import math
import random
import re
import time
import unicodedata

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
WORK = os.path.join(HERE, "work")
DEFAULT_OUT = os.path.join(REPO, "bundles", "models", "tiny-gpt", "src", "main", "resources",
                           "models", "tiny-gpt")
CORPUS_DIR = "/usr/share/games/fortunes"

EOT = "<|endoftext|>"
SEED = 1234
SPLIT_SEED = 20240601
VAL_FRACTION = 0.05

# Model / training hyper-parameters.
VOCAB_SIZE = 2000          # 256 byte symbols + merges + <|endoftext|>
CTX = 128
N_LAYER = 4
N_HEAD = 4
D_MODEL = 192
HEAD_SIZE = D_MODEL // N_HEAD
DROPOUT = 0.0
BATCH = 32
LR = 2e-3
MIN_LR_FRAC = 0.05
WARMUP = 100
WEIGHT_DECAY = 0.1
MAX_STEPS = 1500
TIME_BUDGET_S = 22 * 60    # safety cap on the training loop; if hit, the LR schedule is compressed to fit it
EVAL_EVERY = 100
OPSET = 17
MASK_VALUE = -1e9          # additive "minus infinity" for masked attention scores


# ----------------------------------------------------------------------------------------
# Corpus
# ----------------------------------------------------------------------------------------

def load_fortunes(corpus_dir=CORPUS_DIR):
    """Returns (list of fortune strings in file order, list of file names used)."""
    names = []
    for name in sorted(os.listdir(corpus_dir)):
        path = os.path.join(corpus_dir, name)
        if name.endswith(".dat") or name.endswith(".u8"):
            continue
        if os.path.islink(path) or not os.path.isfile(path):
            continue  # skips the off/ (offensive) folder and the .u8 symlinks
        names.append(name)
    fortunes, seen = [], set()
    for name in names:
        with open(os.path.join(corpus_dir, name), "rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")
        text = text.replace("\r\n", "\n")
        cur = []
        for line in text.split("\n") + ["%"]:
            if line.rstrip() == "%":
                f = clean_fortune("\n".join(cur))
                cur = []
                if f and f not in seen:
                    seen.add(f)
                    fortunes.append(f)
            else:
                cur.append(line)
    return fortunes, names


def clean_fortune(text):
    # Terminal overstrike ("_\bX" underline, "X\bX" bold) and bells are not text.
    text = re.sub(".\x08", "", text).replace("\x08", "").replace("\x07", "")
    lines = [ln.rstrip() for ln in text.split("\n")]
    return "\n".join(lines).strip("\n")


def split_fortunes(fortunes):
    idx = list(range(len(fortunes)))
    random.Random(SPLIT_SEED).shuffle(idx)
    n_val = int(round(len(fortunes) * VAL_FRACTION))
    val_idx = set(idx[:n_val])
    train = [f for i, f in enumerate(fortunes) if i not in val_idx]
    val = [f for i, f in enumerate(fortunes) if i in val_idx]
    return train, val


# ----------------------------------------------------------------------------------------
# Byte-level BPE tokenizer (GPT-2 style), written to a Hugging Face tokenizer.json
# ----------------------------------------------------------------------------------------

def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character table."""
    printable = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAC + 1)) | set(range(0xAE, 0xFF + 1))
    table, n = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}

# Whitespace as Oniguruma's Unicode \s (what the tokenizers crate uses), not Python's
# str.isspace() (which also counts \x1c-\x1f).
_WS_CHARS = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + \
    "\u2028\u2029\u202f\u205f\u3000"


def _char_class(codepoints):
    """Compact regex character-class body for a sorted list of code points."""
    def esc(cp):
        return "\\U%08x" % cp
    parts, start, prev = [], None, None
    for cp in codepoints:
        if start is None:
            start = prev = cp
        elif cp == prev + 1:
            prev = cp
        else:
            parts.append(esc(start) if start == prev else esc(start) + "-" + esc(prev))
            start = prev = cp
    if start is not None:
        parts.append(esc(start) if start == prev else esc(start) + "-" + esc(prev))
    return "".join(parts)


def build_pretokenizer_regex():
    """Python equivalent of the GPT-2 / ByteLevel split regex
    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    with \\p{L}, \\p{N} built from the Unicode general categories."""
    letters, numbers = [], []
    for cp in range(0x110000):
        cat = unicodedata.category(chr(cp))
        if cat[0] == "L":
            letters.append(cp)
        elif cat[0] == "N":
            numbers.append(cp)
    L = _char_class(letters)
    N = _char_class(numbers)
    S = _char_class(sorted(ord(c) for c in _WS_CHARS))
    pattern = (r"'s|'t|'re|'ve|'m|'ll|'d"
               rf"| ?[{L}]+| ?[{N}]+| ?[^{S}{L}{N}]+|[{S}]+(?![^{S}])|[{S}]+")
    return re.compile(pattern)


class ByteLevelBPE:
    def __init__(self, merges, pattern=None):
        """merges: list of (left, right) token strings in priority order."""
        self.pat = pattern or build_pretokenizer_regex()
        self.vocab = [BYTE_TO_CHAR[b] for b in range(256)]
        self.token_to_id = {t: i for i, t in enumerate(self.vocab)}
        self.merges = list(merges)
        self.ranks = {}
        for rank, (a, b) in enumerate(self.merges):
            tok = a + b
            if tok not in self.token_to_id:
                self.token_to_id[tok] = len(self.vocab)
                self.vocab.append(tok)
            self.ranks[(self.token_to_id[a], self.token_to_id[b])] = (rank, self.token_to_id[tok])
        self.eot_id = len(self.vocab)
        self.vocab.append(EOT)
        self.token_to_id[EOT] = self.eot_id
        self.cache = {}

    @property
    def vocab_size(self):
        return len(self.vocab)

    def pretokenize(self, text):
        return [m.group(0) for m in self.pat.finditer(text)]

    def _bpe(self, word):
        ids = self.cache.get(word)
        if ids is not None:
            return ids
        syms = [self.token_to_id[BYTE_TO_CHAR[b]] for b in word.encode("utf-8")]
        ranks = self.ranks
        while len(syms) > 1:
            best = None
            for pair in zip(syms, syms[1:]):
                r = ranks.get(pair)
                if r is not None and (best is None or r[0] < best[0]):
                    best = r
                    best_pair = pair
            if best is None:
                break
            a, b = best_pair
            new_id = best[1]
            out, i, n = [], 0, len(syms)
            while i < n:
                if i < n - 1 and syms[i] == a and syms[i + 1] == b:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        self.cache[word] = syms
        return syms

    def encode(self, text):
        """Encodes plain text (no special-token parsing), as tokenizers' encode() would
        for text that does not contain the literal string <|endoftext|>."""
        ids = []
        for w in self.pretokenize(text):
            ids.extend(self._bpe(w))
        return ids

    def decode(self, ids, skip_special=True):
        out = bytearray()
        parts = []
        for i in ids:
            if i == self.eot_id:
                if not skip_special:
                    parts.append(out.decode("utf-8", errors="replace") + EOT)
                    out = bytearray()
                continue
            out.extend(CHAR_TO_BYTE[c] for c in self.vocab[i])
        parts.append(out.decode("utf-8", errors="replace"))
        return "".join(parts)

    def to_hf_json(self):
        vocab = {t: i for i, t in enumerate(self.vocab)}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [{
                "id": self.eot_id, "content": EOT, "single_word": False, "lstrip": False,
                "rstrip": False, "normalized": False, "special": True}],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                              "use_regex": True},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                               "use_regex": True},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                        "use_regex": True},
            "model": {
                "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                "vocab": vocab,
                "merges": [a + " " + b for a, b in self.merges],
            },
        }


def train_bpe(texts, n_merges, pattern):
    """Classic BPE training on pre-tokenized words (counts within words only).
    Ties on the pair count are broken by the smallest (left id, right id)."""
    word_counts = collections.Counter()
    for t in texts:
        for m in pattern.finditer(t):
            word_counts[m.group(0)] += 1
    vocab = [BYTE_TO_CHAR[b] for b in range(256)]
    words, freqs = [], []
    for w, c in sorted(word_counts.items()):
        words.append([b for b in w.encode("utf-8")])
        freqs.append(c)
    pair_counts = collections.defaultdict(int)
    where = collections.defaultdict(set)
    for wi, syms in enumerate(words):
        f = freqs[wi]
        for p in zip(syms, syms[1:]):
            pair_counts[p] += f
            where[p].add(wi)
    merges = []
    for _ in range(n_merges):
        if not pair_counts:
            break
        best = min(pair_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        (a, b), cnt = best
        if cnt < 2:
            break
        new_id = len(vocab)
        vocab.append(vocab[a] + vocab[b])
        merges.append((vocab[a], vocab[b]))
        for wi in sorted(where.pop((a, b), ())):
            syms = words[wi]
            out, i, n = [], 0, len(syms)
            changed = False
            while i < n:
                if i < n - 1 and syms[i] == a and syms[i + 1] == b:
                    out.append(new_id)
                    i += 2
                    changed = True
                else:
                    out.append(syms[i])
                    i += 1
            if not changed:
                continue
            f = freqs[wi]
            for p in zip(syms, syms[1:]):
                pair_counts[p] -= f
                if pair_counts[p] <= 0:
                    del pair_counts[p]
            for p in zip(out, out[1:]):
                pair_counts[p] += f
                where[p].add(wi)
            words[wi] = out
        pair_counts.pop((a, b), None)
    return merges


def check_tokenizer(tok, texts):
    """Self-checks: round trip, and that the BPE result is a valid segmentation."""
    n_tok = 0
    for t in texts:
        ids = tok.encode(t)
        n_tok += len(ids)
        back = tok.decode(ids)
        if back != t:
            raise AssertionError("tokenizer round trip failed for %r -> %r" % (t[:80], back[:80]))
        joined = "".join(tok.vocab[i] for i in ids)
        expect = "".join(BYTE_TO_CHAR[b] for b in t.encode("utf-8"))
        if joined != expect:
            raise AssertionError("token strings do not concatenate to the byte-level text")
    # The pre-tokenizer must cover the text exactly (no dropped characters).
    for t in texts[:200]:
        if "".join(tok.pretokenize(t)) != t:
            raise AssertionError("pre-tokenizer lost characters")
    # A few fixed expectations of the GPT-2 split rules.
    assert tok.pretokenize("Hello world's  end\n\n  x") == ["Hello", " world", "'s", " ", " end", "\n\n ", " x"], \
        tok.pretokenize("Hello world's  end\n\n  x")
    assert tok.pretokenize("a1b 22c!!  ?") == ["a", "1", "b", " 22", "c", "!!", " ", " ?"], tok.pretokenize("a1b 22c!!  ?")
    return n_tok


def load_hf_tokenizer_json(path):
    """Re-creates the encoder from a written tokenizer.json (checks what Java will load)."""
    with open(path, encoding="utf-8") as fh:
        j = json.load(fh)
    merges = [tuple(m.split(" ")) for m in j["model"]["merges"]]
    tok = ByteLevelBPE(merges)
    for t, i in j["model"]["vocab"].items():
        assert tok.token_to_id[t] == i, (t, i)
    assert len(j["model"]["vocab"]) == tok.vocab_size
    return tok


TOKENIZER_EDGE_CASES = [
    "Hello world's  end\n\n  x", "a1b 22c!!  ?", "The meaning of life is", "A man walks into",
    "Q: What", "\t\t-- Mark Twain", "caf\u00e9 na\u00efve \u00bd 3\u00b2 \u2014 \U0001F600 _x_ it's I'LL they've",
    "  leading spaces, trailing spaces   ", "tabs\tand\r\nCRLF", "", " ", "\n", "12345678901234567890",
    "e-mail: user@example.com; http://www.debian.org/ ~/.bashrc",
]


def write_tokenizer_testcases(tok, val_texts, path):
    """Reference encodings for a Java-side parity test of tokenizer.json (DJL / tokenizers)."""
    cases = [{"text": t, "ids": tok.encode(t)} for t in TOKENIZER_EDGE_CASES + val_texts[:25]]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('{"description": %s,\n "eos_token_id": %d,\n "cases": [\n' % (json.dumps(
            "tiny-gpt tokenizer.json reference encodings (no special tokens added); "
            "generated by models/tiny-gpt/train.py"), tok.eot_id))
        fh.write(",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases))
        fh.write("\n ]}\n")


# ----------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------

class Block(nn.Module):
    def __init__(self, d, n_head, dropout):
        super().__init__()
        self.n_head = n_head
        self.hs = d // n_head
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, allowed, past_k=None, past_v=None):
        """x [B,T,C]; allowed: bool, broadcastable to [B,1,T,S]; past_*: [B,H,P,hs]."""
        B, T, C = x.shape[0], x.shape[1], x.shape[2]
        h = self.ln1(x)
        q, k, v = self.qkv(h).split(C, dim=2)
        q = q.reshape(B, T, self.n_head, self.hs).transpose(1, 2)
        k = k.reshape(B, T, self.n_head, self.hs).transpose(1, 2)
        v = v.reshape(B, T, self.n_head, self.hs).transpose(1, 2)
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hs))
        att = att.masked_fill(~allowed, MASK_VALUE)
        att = F.softmax(att, dim=-1)
        att = self.drop(att)
        y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, C)
        x = x + self.drop(self.proj(y))
        x = x + self.drop(self.fc2(F.gelu(self.fc(self.ln2(x)))))
        return x, k, v


class TinyGPT(nn.Module):
    def __init__(self, vocab_size, ctx=CTX, n_layer=N_LAYER, n_head=N_HEAD, d=D_MODEL, dropout=DROPOUT):
        super().__init__()
        self.ctx = ctx
        self.wte = nn.Embedding(vocab_size, d)
        self.wpe = nn.Embedding(ctx, d)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(d, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d)
        self.register_buffer("causal", torch.tril(torch.ones(ctx, ctx, dtype=torch.bool)), persistent=False)
        self.apply(self._init)
        for b in self.blocks:  # GPT-2 style scaled init of residual projections
            nn.init.normal_(b.proj.weight, std=0.02 / math.sqrt(2 * n_layer))
            nn.init.normal_(b.fc2.weight, std=0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def logits_from_hidden(self, x):
        return torch.matmul(self.ln_f(x), self.wte.weight.t())  # tied embeddings

    def forward(self, idx):
        """Training / evaluation forward on [B,T] windows starting at position 0."""
        T = idx.shape[1]
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos)[None])
        allowed = self.causal[:T, :T][None, None]
        for b in self.blocks:
            x, _, _ = b(x, allowed)
        return self.logits_from_hidden(x)

    def forward_cached(self, input_ids, attention_mask, position_ids, past):
        """The exported decoder step. past: list of (k, v) per layer, [B,H,P,hs] (P may be 0).
        attention_mask: [B, P+T] int64, 1 = real token, 0 = padding (left padding)."""
        T = input_ids.shape[1]
        P = past[0][0].shape[2]
        q_pos = torch.arange(T, dtype=torch.int64) + P                     # [T] absolute
        k_pos = torch.arange(T + P, dtype=torch.int64)                     # [S]
        causal = k_pos.unsqueeze(0) <= q_pos.unsqueeze(1)                  # [T,S]
        allowed = causal.unsqueeze(0).unsqueeze(0) & (attention_mask > 0).unsqueeze(1).unsqueeze(2)
        pos = torch.clamp(position_ids, 0, self.ctx - 1)
        x = self.wte(input_ids) + self.wpe(pos)
        presents = []
        for b, (pk, pv) in zip(self.blocks, past):
            x, k, v = b(x, allowed, pk, pv)
            presents.append((k, v))
        return self.logits_from_hidden(x), presents


class OnnxDecoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents = self.model.forward_cached(input_ids, attention_mask, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def empty_past(batch, n_layer=N_LAYER, n_head=N_HEAD, hs=HEAD_SIZE):
    return [(torch.zeros(batch, n_head, 0, hs), torch.zeros(batch, n_head, 0, hs)) for _ in range(n_layer)]


# ----------------------------------------------------------------------------------------
# Training and evaluation
# ----------------------------------------------------------------------------------------

def build_stream(tok, fortunes):
    ids = []
    for f in fortunes:
        ids.append(tok.eot_id)
        ids.extend(tok.encode(f))
    ids.append(tok.eot_id)
    return torch.tensor(ids, dtype=torch.long)


def eval_windows(stream, ctx=CTX):
    """Non-overlapping windows that predict every token of the stream (except the first) once."""
    xs, ys = [], []
    n = stream.numel()
    for s in range(0, n - 1, ctx):
        e = min(s + ctx, n - 1)
        xs.append(stream[s:e])
        ys.append(stream[s + 1:e + 1])
    return xs, ys


@torch.no_grad()
def evaluate(model, xs, ys, batch=64):
    model.eval()
    tot, cnt = 0.0, 0
    full = [i for i in range(len(xs)) if xs[i].numel() == CTX]
    rest = [i for i in range(len(xs)) if xs[i].numel() != CTX]
    for j in range(0, len(full), batch):
        sel = full[j:j + batch]
        x = torch.stack([xs[i] for i in sel])
        y = torch.stack([ys[i] for i in sel])
        logits = model(x)
        tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        cnt += y.numel()
    for i in rest:
        logits = model(xs[i][None])
        tot += F.cross_entropy(logits[0], ys[i], reduction="sum").item()
        cnt += ys[i].numel()
    model.train()
    return tot / cnt, cnt


def bigram_baseline(train_stream, xs, ys, vocab_size):
    """Add-k smoothed bigram on the training tokens; k chosen on a small grid (favours the
    baseline). Scored on exactly the same (context, target) pairs as the model, using only
    the previous token."""
    counts = np.zeros((vocab_size, vocab_size), dtype=np.float64)
    tr = train_stream.numpy()
    np.add.at(counts, (tr[:-1], tr[1:]), 1.0)
    prev = np.concatenate([x.numpy() for x in xs])
    nxt = np.concatenate([y.numpy() for y in ys])
    row = counts.sum(axis=1)
    best = None
    for k in [1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001]:
        p = (counts[prev, nxt] + k) / (row[prev] + k * vocab_size)
        nll = -np.log(p).mean()
        if best is None or nll < best[0]:
            best = (nll, k)
    return best


def lr_at(progress):
    """Linear warm-up then cosine decay; progress in [0,1] of the run (steps or time)."""
    return MIN_LR_FRAC + (1 - MIN_LR_FRAC) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def train_model(tok, train_stream, val_xs, val_ys, steps, time_budget, ckpt_path):
    torch.manual_seed(SEED)
    model = TinyGPT(tok.vocab_size)
    n_params = sum(p.numel() for p in model.parameters())
    log("model parameters: %d" % n_params)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and "wpe" not in name else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=LR, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(SEED)
    n = train_stream.numel()
    offs = torch.arange(CTX + 1)
    best = (float("inf"), -1)
    t0 = time.time()
    step = 0
    loss_ema = None
    while step < steps:
        elapsed = time.time() - t0
        progress = max(step / steps, elapsed / time_budget)
        if progress >= 1.0:
            log("time budget reached at step %d" % step)
            break
        lr = LR * min(1.0, (step + 1) / WARMUP) * lr_at(progress)
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, n - CTX - 1, (BATCH,), generator=gen)
        chunk = train_stream[starts[:, None] + offs[None]]
        x, y = chunk[:, :-1], chunk[:, 1:]
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        loss_ema = loss.item() if loss_ema is None else 0.95 * loss_ema + 0.05 * loss.item()
        if step % 20 == 0:
            log("step %5d  loss %.3f  lr %.2e  %.2fs/step  elapsed %.0fs"
                % (step, loss_ema, lr, (time.time() - t0) / step, time.time() - t0))
        if step % EVAL_EVERY == 0 or step == steps:
            vl, _ = evaluate(model, val_xs, val_ys)
            log("step %5d  val loss %.4f  val ppl %.2f" % (step, vl, math.exp(vl)))
            if vl < best[0]:
                best = (vl, step)
                torch.save(model.state_dict(), ckpt_path)
    vl, _ = evaluate(model, val_xs, val_ys)
    log("final step %d  val loss %.4f  val ppl %.2f" % (step, vl, math.exp(vl)))
    if vl < best[0]:
        best = (vl, step)
        torch.save(model.state_dict(), ckpt_path)
    train_time = time.time() - t0
    model.load_state_dict(torch.load(ckpt_path))
    model.eval()
    log("using checkpoint from step %d (val loss %.4f)" % (best[1], best[0]))
    return model, {"steps": step, "best_step": best[1], "train_seconds": train_time, "params": n_params}


# ----------------------------------------------------------------------------------------
# Generation (torch, with the same KV-cache path that is exported)
# ----------------------------------------------------------------------------------------

@torch.no_grad()
def generate(model, tok, prompt, max_new=60, greedy=True, temperature=0.8, top_k=40, gen=None):
    ids = tok.encode(prompt)
    inp = torch.tensor([ids])
    mask = torch.ones(1, len(ids), dtype=torch.long)
    pos = torch.arange(len(ids))[None]
    past = empty_past(1)
    out = []
    for _ in range(max_new):
        if mask.shape[1] >= CTX:
            break
        logits, past = model.forward_cached(inp, mask, pos, past)
        last = logits[0, -1]
        if greedy:
            nxt = int(torch.argmax(last))
        else:
            v, ix = torch.topk(last / temperature, top_k)
            p = F.softmax(v, dim=-1)
            nxt = int(ix[torch.multinomial(p, 1, generator=gen)])
        if nxt == tok.eot_id:
            break
        out.append(nxt)
        inp = torch.tensor([[nxt]])
        pos = torch.tensor([[mask.shape[1]]])
        mask = torch.cat([mask, torch.ones(1, 1, dtype=torch.long)], dim=1)
    return tok.decode(out)


# ----------------------------------------------------------------------------------------
# Export and verification
# ----------------------------------------------------------------------------------------

def input_output_names(n_layer=N_LAYER):
    ins = ["input_ids", "attention_mask", "position_ids"]
    outs = ["logits"]
    for i in range(n_layer):
        ins += ["past_key_values.%d.key" % i, "past_key_values.%d.value" % i]
        outs += ["present.%d.key" % i, "present.%d.value" % i]
    return ins, outs


def export_onnx(model, path):
    model.eval()
    wrapper = OnnxDecoder(model).eval()
    B, P, T = 2, 3, 2
    input_ids = torch.randint(0, 100, (B, T))
    attention_mask = torch.ones(B, P + T, dtype=torch.long)
    position_ids = torch.arange(P, P + T)[None].repeat(B, 1)
    past = []
    for _ in range(N_LAYER):
        past += [torch.randn(B, N_HEAD, P, HEAD_SIZE), torch.randn(B, N_HEAD, P, HEAD_SIZE)]
    ins, outs = input_output_names()
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(N_LAYER):
        dyn["past_key_values.%d.key" % i] = {0: "batch_size", 2: "past_sequence_length"}
        dyn["past_key_values.%d.value" % i] = {0: "batch_size", 2: "past_sequence_length"}
        dyn["present.%d.key" % i] = {0: "batch_size", 2: "total_sequence_length"}
        dyn["present.%d.value" % i] = {0: "batch_size", 2: "total_sequence_length"}
    with torch.no_grad():
        torch.onnx.export(wrapper, (input_ids, attention_mask, position_ids, *past), path,
                          input_names=ins, output_names=outs, dynamic_axes=dyn,
                          opset_version=OPSET, do_constant_folding=True)


@torch.no_grad()
def verify_cache_consistency(model, tok, texts):
    """(a) full forward == incremental forward with KV cache; also left padding in a batch."""
    model.eval()
    worst = 0.0
    for t in texts:
        ids = tok.encode(t)[:CTX]
        x = torch.tensor([ids])
        full = model(x)[0]
        # cached, in chunks of 1..5 tokens
        past = empty_past(1)
        pieces, s, step = [], 0, 1
        while s < len(ids):
            e = min(len(ids), s + step)
            logits, past = model.forward_cached(
                x[:, s:e], torch.ones(1, e, dtype=torch.long), torch.arange(s, e)[None], past)
            pieces.append(logits[0])
            s = e
            step = step % 5 + 1
        inc = torch.cat(pieces, 0)
        worst = max(worst, (inc - full).abs().max().item())
    # Batched, left padded prompts must give the same logits as each prompt on its own.
    a, b = tok.encode(texts[0])[:20], tok.encode(texts[1])[:9]
    L = max(len(a), len(b))
    batch_ids, batch_mask, batch_pos = [], [], []
    for seq in (a, b):
        pad = L - len(seq)
        batch_ids.append([tok.eot_id] * pad + seq)
        batch_mask.append([0] * pad + [1] * len(seq))
        batch_pos.append([1] * pad + list(range(len(seq))))  # HF convention: pads get 1
    ids_t = torch.tensor(batch_ids)
    mask_t = torch.tensor(batch_mask)
    logits, past = model.forward_cached(ids_t, mask_t, torch.tensor(batch_pos), empty_past(2))
    # one more step each
    nxt = torch.tensor([[5], [7]])
    mask2 = torch.cat([mask_t, torch.ones(2, 1, dtype=torch.long)], 1)
    pos2 = torch.tensor([[len(a)], [len(b)]])
    logits2, _ = model.forward_cached(nxt, mask2, pos2, past)
    for r, seq, tokn in ((0, a, 5), (1, b, 7)):
        ref = model(torch.tensor([seq + [tokn]]))[0]
        got = torch.cat([logits[r, L - len(seq):], logits2[r]], 0)
        worst = max(worst, (ref - got).abs().max().item())
    return worst


def verify_onnx(path, model, tok, texts):
    import onnx
    from onnx_numpy import run_onnx_numpy
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    ops = sorted(set(n.op_type for n in m.graph.node))
    domains = sorted(set(n.domain for n in m.graph.node))
    assert domains in ([""], ["ai.onnx"], []), "non-standard op domains: %s" % domains
    ins = [(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in m.graph.input]
    outs = [(o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]) for o in m.graph.output]
    # Compare the ONNX graph (evaluated by a small numpy interpreter) with torch:
    # no past + 2 prompts left padded, then one cached step (seq = 1), then a 3-token step.
    # Batch 3 and sequence lengths that differ from the export trace (batch 2, past 3, seq 2).
    worst = 0.0
    prompts = [tok.encode(texts[0])[:11], tok.encode(texts[1])[:6], tok.encode(texts[2])[:1]]
    B, L = len(prompts), max(len(s) for s in prompts)
    ids = torch.tensor([[tok.eot_id] * (L - len(s)) + s for s in prompts])
    mask = torch.tensor([[0] * (L - len(s)) + [1] * len(s) for s in prompts])
    pos = torch.tensor([[1] * (L - len(s)) + list(range(len(s))) for s in prompts])
    past = empty_past(B)
    plen = [len(s) for s in prompts]
    for step_len in (None, 1, 3):
        if step_len is not None:
            ids = torch.randint(0, tok.vocab_size - 1, (B, step_len))
            pos = torch.tensor([[p + j for j in range(step_len)] for p in plen])
            plen = [p + step_len for p in plen]
            mask = torch.cat([mask, torch.ones(B, step_len, dtype=torch.long)], 1)
        feeds = {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "position_ids": pos.numpy()}
        for i, (k, v) in enumerate(past):
            feeds["past_key_values.%d.key" % i] = k.numpy()
            feeds["past_key_values.%d.value" % i] = v.numpy()
        with torch.no_grad():
            t_logits, t_present = model.forward_cached(ids, mask, pos, past)
        res = run_onnx_numpy(m, feeds)
        worst = max(worst, float(np.abs(res["logits"] - t_logits.numpy()).max()))
        for i, (k, v) in enumerate(t_present):
            worst = max(worst, float(np.abs(res["present.%d.key" % i] - k.numpy()).max()))
            worst = max(worst, float(np.abs(res["present.%d.value" % i] - v.numpy()).max()))
        past = [(torch.from_numpy(res["present.%d.key" % i]), torch.from_numpy(res["present.%d.value" % i]))
                for i in range(N_LAYER)]
    return {"ops": ops, "inputs": ins, "outputs": outs, "max_abs_diff_numpy_vs_torch": worst}


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------

PROMPTS = ["The meaning of life is", "A man walks into", "Q: What", "Computers are", "Never"]


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=None if path.endswith("tokenizer.json") else 2)
        fh.write("\n")


def render_results(m):
    """Markdown for the generated results section of MODEL.md, from work/metrics.json."""
    v = m["onnx"]
    lines = ["Produced by the last run of `train.py` (%s)." % time.strftime("%Y-%m-%d"), "",
             "| | value |", "| --- | --- |",
             "| parameters | {:,} |".format(m["params"]),
             "| training steps (batch %d x %d tokens) | %d (best validation loss at step %d) |"
             % (BATCH, CTX, m["steps"], m["best_step"]),
             "| training loop wall time, 1 CPU thread | %.1f min |" % (m["train_loop_seconds"] / 60),
             "| whole script wall time | %.1f min |" % (m["total_seconds"] / 60),
             "| training / validation tokens | {:,} / {:,} |".format(m["train_tokens"], m["val_tokens"]),
             "| **validation perplexity, tiny-gpt** | **%.2f** (loss %.4f nats/token) |" % (m["val_ppl"], m["val_loss"]),
             "| validation perplexity, add-k bigram (k=%g) | %.2f (loss %.4f nats/token) |"
             % (m["bigram_k"], m["bigram_val_ppl"], m["bigram_val_loss"]),
             "| KV-cache vs full forward, max abs logit diff | %.1e |" % m["kv_cache_max_abs_diff"],
             "| ONNX graph (numpy interpreter) vs torch, max abs diff | %.1e |" % v["max_abs_diff_numpy_vs_torch"],
             "", "File sizes: " + ", ".join("`%s` %s bytes" % (f, format(n, ",")) for f, n in m["files"].items()),
             "", "ONNX operators used: " + ", ".join(v["ops"]), "", "### Samples", "",
             "Generated by the torch model through the same KV-cache code path that is exported. "
             "Prompts are encoded without a leading `<|endoftext|>`; generation stops at "
             "`<|endoftext|>` or after 60 new tokens. Each block shows the prompt followed directly "
             "by the continuation (tabs as in the output).", ""]
    for smp in m["samples"]:
        lines += ["%s, prompt `%s`:" % (smp["mode"], smp["prompt"]), "",
                  "```text", (smp["prompt"] + smp["continuation"]).replace("```", "`\u200b``"), "```", ""]
    return "\n".join(lines).rstrip("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--time-budget", type=float, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    trainkit.start(SEED)
    sys.path.insert(0, HERE)
    work = os.path.join(WORK, "smoke") if args.smoke else WORK
    out_dir = args.out or (os.path.join(work, "out") if args.smoke else DEFAULT_OUT)
    steps = args.steps or (60 if args.smoke else MAX_STEPS)
    budget = args.time_budget or (60 if args.smoke else TIME_BUDGET_S)
    os.makedirs(work, exist_ok=True)
    os.makedirs(out_dir, exist_ok=True)
    t_start = time.time()

    fortunes, files = load_fortunes()
    train_f, val_f = split_fortunes(fortunes)
    log("corpus: %d files, %d unique fortunes (%d chars); train %d, val %d"
        % (len(files), len(fortunes), sum(len(f) for f in fortunes), len(train_f), len(val_f)))

    t0 = time.time()
    pattern = build_pretokenizer_regex()
    merges = train_bpe(train_f, VOCAB_SIZE - 256 - 1, pattern)
    tok = ByteLevelBPE(merges, pattern)
    log("BPE: %d merges, vocab %d, eot id %d (%.0fs)" % (len(merges), tok.vocab_size, tok.eot_id, time.time() - t0))
    tok_path = os.path.join(out_dir, "tokenizer.json")
    write_json(tok_path, tok.to_hf_json())
    write_json(os.path.join(out_dir, "tokenizer_config.json"), {
        "model_max_length": CTX, "bos_token": EOT, "eos_token": EOT, "tokenizer_class": "GPT2Tokenizer"})
    tok = load_hf_tokenizer_json(tok_path)  # train with exactly what was written
    n_val_tok = check_tokenizer(tok, val_f)
    log("tokenizer self-check ok (round trip on %d validation fortunes, %d tokens)" % (len(val_f), n_val_tok))
    check_tokenizer(tok, TOKENIZER_EDGE_CASES)
    if not args.smoke:
        write_tokenizer_testcases(tok, val_f, os.path.join(HERE, "tokenizer_testcases.json"))

    train_stream = build_stream(tok, train_f)
    val_stream = build_stream(tok, val_f)
    log("tokens: train %d, val %d (%.2f chars/token)"
        % (train_stream.numel(), val_stream.numel(), sum(len(f) for f in train_f) / train_stream.numel()))
    val_xs, val_ys = eval_windows(val_stream)

    bigram_nll, bigram_k = bigram_baseline(train_stream, val_xs, val_ys, tok.vocab_size)
    log("bigram baseline (add-k, k=%g): val loss %.4f  ppl %.2f" % (bigram_k, bigram_nll, math.exp(bigram_nll)))

    ckpt = os.path.join(work, "model.pt")
    model, info = train_model(tok, train_stream, val_xs, val_ys, steps, budget, ckpt)
    val_nll, val_cnt = evaluate(model, val_xs, val_ys)
    log("model val loss %.4f  ppl %.2f over %d tokens (bigram ppl %.2f)"
        % (val_nll, math.exp(val_nll), val_cnt, math.exp(bigram_nll)))

    diff = verify_cache_consistency(model, tok, val_f[:8])
    log("KV-cache / left-padding consistency: max abs diff %.2e" % diff)
    assert diff < 1e-4, diff

    onnx_path = os.path.join(out_dir, "model.onnx")
    export_onnx(model, onnx_path)
    size = os.path.getsize(onnx_path)
    log("exported %s (%.2f MB)" % (onnx_path, size / 1e6))
    assert size < 20e6
    vinfo = verify_onnx(onnx_path, model, tok, val_f)
    log("onnx checker ok; ops: %s" % ", ".join(vinfo["ops"]))
    log("onnx (numpy interpreter) vs torch: max abs diff %.2e" % vinfo["max_abs_diff_numpy_vs_torch"])
    assert vinfo["max_abs_diff_numpy_vs_torch"] < 1e-3

    write_json(os.path.join(out_dir, "genai_config.json"), {
        "model": {
            "type": "tiny-gpt", "bos_token_id": tok.eot_id, "eos_token_id": tok.eot_id,
            "pad_token_id": tok.eot_id, "vocab_size": tok.vocab_size, "context_length": CTX,
            "decoder": {
                "filename": "model.onnx", "num_hidden_layers": N_LAYER, "num_attention_heads": N_HEAD,
                "num_key_value_heads": N_HEAD, "head_size": HEAD_SIZE, "hidden_size": D_MODEL,
                "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask",
                           "position_ids": "position_ids", "past_key_names": "past_key_values.%d.key",
                           "past_value_names": "past_key_values.%d.value"},
                "outputs": {"logits": "logits", "present_key_names": "present.%d.key",
                            "present_value_names": "present.%d.value"}}},
        "search": {"do_sample": False, "max_length": CTX, "min_length": 0, "num_beams": 1,
                   "num_return_sequences": 1, "temperature": 1.0, "top_k": 50, "top_p": 1.0,
                   "repetition_penalty": 1.0, "length_penalty": 1.0, "early_stopping": True,
                   "no_repeat_ngram_size": 0}})

    samples = []
    gen = torch.Generator().manual_seed(SEED)
    for p in PROMPTS:
        samples.append(("greedy", p, generate(model, tok, p, greedy=True)))
    for p in PROMPTS:
        samples.append(("sampled (T=0.8, top-k 40)", p, generate(model, tok, p, greedy=False, gen=gen)))
    for kind, p, s in samples:
        log("[%s] %r -> %r" % (kind, p, s))

    total = time.time() - t_start
    metrics = {
        "params": info["params"], "steps": info["steps"], "best_step": info["best_step"],
        "train_loop_seconds": round(info["train_seconds"], 1), "total_seconds": round(total, 1),
        "val_tokens": val_cnt, "val_loss": val_nll, "val_ppl": math.exp(val_nll),
        "bigram_k": bigram_k, "bigram_val_loss": bigram_nll, "bigram_val_ppl": math.exp(bigram_nll),
        "vocab_size": tok.vocab_size, "eot_id": tok.eot_id, "train_tokens": train_stream.numel(),
        "val_fortunes": len(val_f), "train_fortunes": len(train_f),
        "kv_cache_max_abs_diff": diff, "onnx": vinfo,
        "files": {f: os.path.getsize(os.path.join(out_dir, f)) for f in sorted(os.listdir(out_dir))},
        "samples": [{"mode": k, "prompt": p, "continuation": s} for k, p, s in samples],
    }
    write_json(os.path.join(work, "metrics.json"), metrics)

    section = render_results(metrics)
    with open(os.path.join(work, "results.md"), "w", encoding="utf-8") as fh:
        fh.write(section + "\n")
    if not args.smoke:
        trainkit.refresh_model_md(os.path.join(HERE, "MODEL.md"), section)
    log("done in %.1f min; outputs in %s" % (total / 60, out_dir))


if __name__ == "__main__":
    main()
