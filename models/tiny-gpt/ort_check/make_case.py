"""Writes torch reference inputs/outputs for OrtCheck.java (run via run.sh).
usage: make_case.py OUT_DIR(with model.onnx, tokenizer.json) CHECKPOINT CASE_DIR"""
import sys, os, json
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch, numpy as np
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train
torch.set_num_threads(1)
src = sys.argv[1]   # output dir with model.onnx/tokenizer.json
ckpt = sys.argv[2]
os.makedirs(sys.argv[3], exist_ok=True); os.chdir(sys.argv[3])
tok = train.load_hf_tokenizer_json(os.path.join(src, 'tokenizer.json'))
model = train.TinyGPT(tok.vocab_size); model.load_state_dict(torch.load(ckpt)); model.eval()
prompts = [tok.encode(t) for t in ["The meaning of life is", "A man walks into a bar and", "Q"]]
B, L = 3, max(map(len, prompts))
ids = torch.tensor([[tok.eot_id]*(L-len(s))+s for s in prompts])
mask = torch.tensor([[0]*(L-len(s))+[1]*len(s) for s in prompts])
pos = torch.tensor([[1]*(L-len(s))+list(range(len(s))) for s in prompts])
past = train.empty_past(B); plen=[len(s) for s in prompts]
steps=[]; os.makedirs('data', exist_ok=True)
def dump(name, t):
    a = t.numpy(); fn = 'data/%s.bin' % name
    a.astype('<i8' if a.dtype==np.int64 else '<f4').tofile(fn)
    return {"file": fn, "shape": list(a.shape), "dtype": "int64" if a.dtype==np.int64 else "float32"}
g = torch.Generator().manual_seed(0)
for si, sl in enumerate([None, 1, 3]):
    if sl is not None:
        ids = torch.randint(0, 1999, (B, sl), generator=g)
        pos = torch.tensor([[p+j for j in range(sl)] for p in plen]); plen=[p+sl for p in plen]
        mask = torch.cat([mask, torch.ones(B, sl, dtype=torch.long)], 1)
    feeds = {"input_ids": ids, "attention_mask": mask, "position_ids": pos}
    for i,(k,v) in enumerate(past):
        feeds["past_key_values.%d.key"%i]=k; feeds["past_key_values.%d.value"%i]=v
    with torch.no_grad():
        logits, pres = model.forward_cached(ids, mask, pos, past)
    outs = {"logits": logits}
    for i,(k,v) in enumerate(pres):
        outs["present.%d.key"%i]=k; outs["present.%d.value"%i]=v
    steps.append({"feeds": {n: dump("s%d_in_%s"%(si,n), t) for n,t in feeds.items()},
                  "expect": {n: dump("s%d_out_%s"%(si,n), t) for n,t in outs.items()}})
    past = pres
# Greedy decoding reference (torch, KV cache) for one prompt, 20 new tokens, no early stop.
gp = tok.encode("The meaning of life is")
inp = torch.tensor([gp]); m1 = torch.ones(1, len(gp), dtype=torch.long); p1 = torch.arange(len(gp))[None]
pk = train.empty_past(1); greedy = []
with torch.no_grad():
    for _ in range(20):
        lg, pk = model.forward_cached(inp, m1, p1, pk)
        nxt = int(lg[0, -1].argmax()); greedy.append(nxt)
        inp = torch.tensor([[nxt]]); p1 = torch.tensor([[m1.shape[1]]])
        m1 = torch.cat([m1, torch.ones(1, 1, dtype=torch.long)], 1)
json.dump({"model": os.path.abspath(os.path.join(src, 'model.onnx')), "steps": steps,
           "greedy_prompt": gp, "greedy_expect": greedy,
           "layers": train.N_LAYER, "heads": train.N_HEAD, "head_size": train.HEAD_SIZE},
          open('case.json', 'w'))
print('ok', len(steps))
