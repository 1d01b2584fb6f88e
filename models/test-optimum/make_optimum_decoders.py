"""Writes a tiny random-weight GPT-2-style causal LM in Hugging Face Optimum's ONNX layouts, for the generator engine's tests.

One model (seed 0: 2 layers, d_model 32, 4 heads, vocab 100, context 64, learned positions, tied
embeddings), exported three ways. The weights are random: the tokens mean nothing, the mechanics are real.

  optimum-gpt-with-past/     model.onnx, Optimum's current layout (`optimum-cli export onnx
                             --task text-generation-with-past`): one graph taking input_ids,
                             attention_mask, past_key_values.N.key/.value (past length may be 0) and
                             position_ids, returning logits and present.N.key/.value.
  optimum-gpt-merged/        decoder_model_merged.onnx, Optimum's `--legacy` layout: decoder_model.onnx
                             (no past) and decoder_with_past_model.onnx joined under one If on a bool[1]
                             input use_cache_branch (true: the with-past branch), the weights
                             deduplicated into outer-graph initializers, as optimum.onnx.merge_decoders does.
  optimum-gpt-merged-no-position-ids/
                             the same merge without a position_ids input, as Optimum's legacy GPT-2
                             exports have it (it adds position_ids only outside --legacy): the model
                             counts positions itself from the past length, so left padding takes positions.

Each folder also holds config.json (model_type gpt2), generation_config.json and expected.json: greedy
continuations computed in torch alone (every step recomputes the whole sequence, no cache), for
single prompts and a batch of two prompts of different lengths, left-padded as ORT GenAI does
(attention mask = token != pad, position ids = running count of non-pad tokens, pads 0). Every
exported graph is checked against torch with the real ONNX Runtime (models/shapes/ortrun.py), with
an empty and a filled cache, where ortrun is available.

usage (from the repository root; rewrites the three folders):
    /usr/bin/python3 models/test-optimum/make_optimum_decoders.py [out-folder]
out-folder defaults to bundles/engine-generator/src/test/resources/optimum.
"""
import json
import math
import os
import re
import shutil
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bundles/engine-generator/src/test/resources/optimum")
sys.path.insert(0, os.path.join(ROOT, "models", "shapes"))
import ortrun  # noqa: E402

LAYERS, DIM, HEADS, VOCAB, CONTEXT = 2, 32, 4, 100, 64
HEAD = DIM // HEADS
PAD, BOS, EOS = 0, 1, 2
OPSET = 14  # Optimum's default for GPT-2
MASKED = torch.finfo(torch.float32).min  # finite, as in transformers: a row with every key masked stays finite

# (name, prompts, max_length): token ids avoid PAD, BOS and EOS
CASES = [
    ("single", [[12, 55, 6, 30, 19]], 16),
    ("max-length", [[88, 41, 7, 7]], 12),
    ("one-token", [[42]], 12),
    ("padded-batch", [[88, 41, 7, 7, 15, 9], [9, 3, 71]], 16),
]


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(DIM)
        self.c_attn = nn.Linear(DIM, 3 * DIM)
        self.c_proj = nn.Linear(DIM, DIM)
        self.ln_2 = nn.LayerNorm(DIM)
        self.c_fc = nn.Linear(DIM, 4 * DIM)
        self.mlp_proj = nn.Linear(4 * DIM, DIM)

    def forward(self, h, allowed, past):
        b, s, _ = h.shape
        q, k, v = self.c_attn(self.ln_1(h)).split(DIM, dim=2)
        q, k, v = (t.reshape(b, s, HEADS, HEAD).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HEAD)
        w = torch.where(allowed, w, torch.tensor(MASKED))
        a = torch.matmul(torch.softmax(w, dim=-1), v).transpose(1, 2).reshape(b, s, DIM)
        h = h + self.c_proj(a)
        h = h + self.mlp_proj(nn.functional.gelu(self.c_fc(self.ln_2(h)), approximate="tanh"))
        return h, k, v


class TinyGpt(nn.Module):
    """GPT-2's structure at toy size. Without position_ids it counts positions from the past length, as GPT-2 does."""

    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, DIM)
        self.wpe = nn.Embedding(CONTEXT, DIM)
        self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(DIM)

    def forward(self, input_ids, attention_mask, position_ids=None, past=None):
        s = input_ids.shape[1]
        past_len = past[0][0].shape[2] if past is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + s).unsqueeze(0)
        h = self.wte(input_ids) + self.wpe(position_ids)
        causal = torch.arange(past_len + s).unsqueeze(0) <= (torch.arange(s) + past_len).unsqueeze(1)
        allowed = causal.unsqueeze(0).unsqueeze(0) & (attention_mask > 0).unsqueeze(1).unsqueeze(2)
        presents = []
        for i, block in enumerate(self.blocks):
            h, k, v = block(h, allowed, None if past is None else past[i])
            presents += [k, v]
        return (torch.matmul(self.ln_f(h), self.wte.weight.t()), *presents)


class Export(nn.Module):
    """The flat signature torch.onnx.export needs: input_ids, attention_mask, [past...], [position_ids]."""

    def __init__(self, model, with_past, with_positions):
        super().__init__()
        self.model, self.with_past, self.with_positions = model, with_past, with_positions

    def forward(self, input_ids, attention_mask, *rest):
        rest = list(rest)
        position_ids = rest.pop() if self.with_positions else None
        past = [(rest[2 * i], rest[2 * i + 1]) for i in range(LAYERS)] if self.with_past else None
        return self.model(input_ids, attention_mask, position_ids, past)


def cache_names(prefix):
    return [f"{prefix}.{i}.{kv}" for i in range(LAYERS) for kv in ("key", "value")]


def export(model, path, with_past, with_positions):
    """One decoder graph with Optimum's tensor names and dynamic axes."""
    b, s, p = 2, 3, 4
    args = [torch.randint(3, VOCAB, (b, s)), torch.ones(b, p + s if with_past else s, dtype=torch.int64)]
    names = ["input_ids", "attention_mask"]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length" if with_past else "sequence_length"}}
    if with_past:
        for n in cache_names("past_key_values"):
            args.append(torch.randn(b, HEADS, p, HEAD))
            names.append(n)
            axes[n] = {0: "batch_size", 2: "past_sequence_length"}
    if with_positions:
        args.append((torch.arange(p, p + s) if with_past else torch.arange(s)).repeat(b, 1))
        names.append("position_ids")
        axes["position_ids"] = {0: "batch_size", 1: "sequence_length"}
    outputs = ["logits"] + cache_names("present")
    axes["logits"] = {0: "batch_size", 1: "sequence_length"}
    for n in cache_names("present"):
        axes[n] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}
    torch.onnx.export(Export(model, with_past, with_positions).eval(), tuple(args), path, input_names=names,
                      output_names=outputs, dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def _rename_inputs(graph, renames):
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]


def merge(decoder, with_past):
    """optimum.onnx.merge_decoders, re-done with the onnx API: one If on use_cache_branch, weights shared."""
    assert [o.name for o in decoder.graph.output] == [o.name for o in with_past.graph.output]
    # the no-past branch's outputs take the with-past graph's (more general) dimension names
    del decoder.graph.output[:]
    decoder.graph.output.extend(with_past.graph.output)
    inputs, seen = [], set()
    for model in (decoder, with_past):
        for i in model.graph.input:
            if i.name not in seen:
                seen.add(i.name)
                inputs.append(i)
    for i in inputs:
        if i.name == "attention_mask":
            # first pass: as long as input_ids; later passes: past + 1
            i.type.tensor_type.shape.dim[1].dim_param = "attention_mask_sequence_length"
    # Weights equal in content become one outer-graph initializer named <one of them>_merged; scalars and
    # 1-D integer tensors stay in their branch, as Optimum keeps them.
    shared, renames, branch_initializers = {}, {}, []
    for model in (decoder, with_past):
        local = []
        for t in model.graph.initializer:
            if len(t.dims) == 0 or (len(t.dims) == 1 and t.data_type in (onnx.TensorProto.INT32, onnx.TensorProto.INT64)):
                local.append(t)
                continue
            key = (t.data_type, tuple(t.dims), numpy_helper.to_array(t).tobytes())
            if key not in shared:
                merged = onnx.TensorProto()
                merged.CopyFrom(t)
                merged.name = t.name + "_merged"
                shared[key] = merged
            renames.setdefault(id(model), {})[t.name] = shared[key].name
        branch_initializers.append(local)
    for model in (decoder, with_past):
        _rename_inputs(model.graph, renames.get(id(model), {}))
    no_past = helper.make_graph(decoder.graph.node, "no_past", [], decoder.graph.output, branch_initializers[0])
    cached = helper.make_graph(with_past.graph.node, "with_past", [], with_past.graph.output, branch_initializers[1])
    use_cache_branch = helper.make_tensor_value_info("use_cache_branch", onnx.TensorProto.BOOL, [1])
    if_node = helper.make_node("If", ["use_cache_branch"], [o.name for o in decoder.graph.output], name="optimum::if",
                               then_branch=cached, else_branch=no_past)
    graph = helper.make_graph([if_node], "merged", inputs + [use_cache_branch], decoder.graph.output, list(shared.values()))
    model = helper.make_model(graph, producer_name="optimum-onnx", opset_imports=list(decoder.opset_import))
    model.ir_version = decoder.ir_version
    onnx.checker.check_model(model)
    return model


def left_pad(prompts):
    width = max(len(p) for p in prompts)
    return [[PAD] * (width - len(p)) + list(p) for p in prompts]


def positions_of(mask_row):
    out, n = [], 0
    for m in mask_row:
        out.append(n if m else 0)
        n += m
    return out


def greedy(model, prompts, max_length, with_positions):
    """The engine's greedy search, in torch, recomputing the whole sequence every step (no cache).

    Returns the sequences (prompt + generated, unpadded), why each ended, and the smallest gap
    between the best and second-best logit over all choices (how safe argmax is from rounding)."""
    rows = left_pad(prompts)
    mask = [[int(t != PAD) for t in r] for r in rows]
    done = [None] * len(rows)
    generated = [[] for _ in rows]
    gap = float("inf")
    while any(d is None for d in done) and len(rows[0]) < max_length:
        positions = torch.tensor([positions_of(m) for m in mask]) if with_positions else None
        with torch.no_grad():
            logits = model(torch.tensor(rows), torch.tensor(mask), positions)[0][:, -1]
        for r in range(len(rows)):
            if done[r] is not None:
                nxt = PAD
            else:
                top = torch.topk(logits[r], 2).values
                gap = min(gap, float(top[0] - top[1]))
                nxt = int(torch.argmax(logits[r]))
                generated[r].append(nxt)
                if nxt == EOS:
                    done[r] = "EOS"
            rows[r].append(nxt)
            mask[r].append(1)
    sequences = [list(p) + g for p, g in zip(prompts, generated)]
    return sequences, [d or "MAX_LENGTH" for d in done], gap


def check_with_ort(model, path, with_positions, merged):
    """Runs the ONNX file with ONNX Runtime on a left-padded prompt (empty cache) and one cached step; compares with torch."""
    if not ortrun.available():
        print("  (ONNX Runtime's Java jar not found: ORT check skipped)")
        return
    rows = left_pad([[5, 17, 33, 8, 61], [23, 4]])
    mask = np.array([[int(t != PAD) for t in r] for r in rows], dtype=np.int64)
    ids = np.array(rows, dtype=np.int64)
    positions = np.array([positions_of(m) for m in mask], dtype=np.int64)
    with torch.no_grad():
        want = model(torch.tensor(ids), torch.tensor(mask), torch.tensor(positions) if with_positions else None)
    empty = {n: np.zeros((2, HEADS, 0, HEAD), dtype=np.float32) for n in cache_names("past_key_values")}
    first = run_ort(path, ids, mask, positions if with_positions else None, empty, merged, use_cache=False)
    compare("prompt", want, first)
    nxt = np.array([[7], [11]], dtype=np.int64)
    mask2 = np.concatenate([mask, np.ones((2, 1), dtype=np.int64)], axis=1)
    pos2 = positions[:, -1:] + 1
    past = {p: first[q] for p, q in zip(cache_names("past_key_values"), cache_names("present"))}
    with torch.no_grad():
        cached = [(torch.tensor(past[f"past_key_values.{i}.key"]), torch.tensor(past[f"past_key_values.{i}.value"]))
                  for i in range(LAYERS)]
        want2 = model(torch.tensor(nxt), torch.tensor(mask2), torch.tensor(pos2) if with_positions else None, cached)
        whole = model(torch.tensor(np.concatenate([ids, nxt], axis=1)), torch.tensor(mask2),
                      torch.tensor(np.concatenate([positions, pos2], axis=1)) if with_positions else None)[0][:, -1:]
    assert torch.allclose(want2[0], whole, atol=1e-5), "torch: the cached step differs from recomputing the sequence"
    compare("cached step", want2, run_ort(path, nxt, mask2, pos2 if with_positions else None, past, merged, use_cache=True))


def run_ort(path, ids, mask, positions, past, merged, use_cache):
    feeds = {"input_ids": ids, "attention_mask": mask, **past}
    if positions is not None:
        feeds["position_ids"] = positions
    if not merged:
        return ortrun.run(path, feeds)
    # ortrun passes float32 and int64 tensors only: fix use_cache_branch as a constant in a copy
    m = onnx.load(path)
    flag = next(i for i in m.graph.input if i.name == "use_cache_branch")
    m.graph.input.remove(flag)
    m.graph.initializer.append(helper.make_tensor("use_cache_branch", onnx.TensorProto.BOOL, [1], [use_cache]))
    d = tempfile.mkdtemp(prefix="optimum-check-")
    try:
        onnx.save(m, os.path.join(d, "branch.onnx"))
        return ortrun.run(os.path.join(d, "branch.onnx"), feeds)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def compare(what, want, got):
    names = ["logits"] + cache_names("present")
    worst = max(float(np.abs(w.numpy() - got[n]).max()) for n, w in zip(names, want))
    assert worst < 1e-4, f"ONNX Runtime differs from torch on the {what}: max |diff| {worst}"
    print(f"  ORT = torch on the {what} (max |diff| {worst:.1e})")


def write_json(folder, name, obj):
    text = json.dumps(obj, indent=2)
    # a token row on one line
    text = re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]", lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]", text)
    with open(os.path.join(folder, name), "w") as f:
        f.write(text + "\n")


def write_folder(model, name, onnx_file, onnx_model, with_positions, merged):
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    path = os.path.join(folder, onnx_file)
    onnx.save(onnx_model, path)
    write_json(folder, "config.json", {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": VOCAB, "n_positions": CONTEXT,
        "n_ctx": CONTEXT, "n_embd": DIM, "n_layer": LAYERS, "n_head": HEADS, "n_inner": None,
        "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "bos_token_id": BOS, "eos_token_id": EOS,
        "pad_token_id": PAD, "tie_word_embeddings": True, "use_cache": True})
    write_json(folder, "generation_config.json", {"_from_model_config": True, "bos_token_id": BOS, "eos_token_id": EOS,
                                                  "pad_token_id": PAD})
    cases = []
    for case, prompts, max_length in CASES:
        sequences, finish, gap = greedy(model, prompts, max_length, with_positions)
        assert gap > 1e-3, f"{name} {case}: top logits only {gap} apart, too close for an exact-token test"
        cases.append({"name": case, "prompts": prompts, "max_length": max_length, "sequences": sequences, "finish": finish})
        print(f"  {case}: {sequences} {finish} (smallest top-2 gap {gap:.3f})")
    write_json(folder, "expected.json", {
        "comment": "greedy continuations computed in torch by models/test-optimum/make_optimum_decoders.py; "
                   "prompts are left-padded with pad_token_id " + str(PAD)
                   + ("" if with_positions else "; without position_ids the pads take positions, as in GPT-2"),
        "cases": cases})
    check_with_ort(model, path, with_positions, merged)
    print(f"  {os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes")


def main():
    torch.manual_seed(0)
    model = TinyGpt()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.3)  # wider than GPT-2's 0.02, so the greedy choices are clear-cut
    model.eval()
    tmp = tempfile.mkdtemp(prefix="optimum-export-")
    try:
        print("optimum-gpt-with-past")
        single = export(model, os.path.join(tmp, "model.onnx"), with_past=True, with_positions=True)
        write_folder(model, "optimum-gpt-with-past", "model.onnx", single, True, merged=False)
        for name, positions in (("optimum-gpt-merged", True), ("optimum-gpt-merged-no-position-ids", False)):
            print(name)
            merged = merge(export(model, os.path.join(tmp, "decoder_model.onnx"), False, positions),
                           export(model, os.path.join(tmp, "decoder_with_past_model.onnx"), True, positions))
            write_folder(model, name, "decoder_model_merged.onnx", merged, positions, merged=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
