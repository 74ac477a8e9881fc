# The spam example's encoder pre-training (examples/spam.sh, step (1)) done by Hugging Face instead of
# gptune: the same RoBERTa config (read from gptune's saved run), the same English corpus and tokenizer,
# blocks of 256 framed as <s> ... </s>, DataCollatorForLanguageModeling (15%, 80/10/10), AdamW lr 1e-3,
# 40 warm-up steps then cosine to 0 over 700 steps, batch 16, gradient norm clipped at 1. It prints the
# loss curve, to tell a property of the recipe (both stay on the unigram plateau) from a gptune bug.
#   python3 scripts/examples/hf_mlm_pretrain.py runs/spam/enc-base corpus/english [steps] [block length]
import glob, json, math, os, sys, time
import torch
from transformers import (AutoTokenizer, DataCollatorForLanguageModeling, RobertaConfig, RobertaForMaskedLM,
                          get_cosine_schedule_with_warmup)

run_dir, corpus_dir = sys.argv[1], sys.argv[2]
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 700
seq_len = int(sys.argv[4]) if len(sys.argv) > 4 else 256
torch.manual_seed(42)
torch.set_num_threads(2)
tok = AutoTokenizer.from_pretrained(run_dir)
cfg = json.load(open(os.path.join(run_dir, 'config.json')))
model = RobertaForMaskedLM(RobertaConfig(**{k: v for k, v in cfg.items() if k not in ('architectures', 'torch_dtype')}))

# Every document's tokens then </s>, concatenated; blocks of 254 framed to 256; the last 1% held out.
stream = []
for f in sorted(glob.glob(os.path.join(corpus_dir, '*'))):
    stream += tok(open(f, encoding='utf8').read(), add_special_tokens=False)['input_ids'] + [tok.eos_token_id]
inner = seq_len - 2
blocks = [[tok.bos_token_id] + stream[i:i + inner] + [tok.eos_token_id] for i in range(0, len(stream) - inner + 1, inner)]
n_val = max(1, round(0.01 * len(blocks)))
train, val = blocks[:-n_val], blocks[-n_val:]
print(f'{len(stream)} tokens -> {len(train)} train / {len(val)} val blocks of {seq_len}', flush=True)

collate = DataCollatorForLanguageModeling(tok, mlm_probability=0.15)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
sched = get_cosine_schedule_with_warmup(opt, 40, steps)
order = torch.randperm(len(train)).tolist()
model.train()
t0 = time.time()
for step in range(1, steps + 1):
    first = ((step - 1) * 16) % len(order)
    batch = collate([{'input_ids': train[j]} for j in order[first:first + 16]])
    loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step(); sched.step(); opt.zero_grad()
    if step % 25 == 0 or step == steps:
        print(f'step {step} loss {loss.item():.4f} ({time.time() - t0:.0f} s)', flush=True)

model.eval()
with torch.no_grad():
    losses = [model(**collate([{'input_ids': b} for b in val[i:i + 16]])).loss.item() for i in range(0, len(val), 16)]
print(f'eval loss {sum(losses) / len(losses):.4f}')
