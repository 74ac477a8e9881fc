# PyTorch peer for opening a checkpoint as transformers' users do: AutoModelForCausalLM.from_pretrained
# in the stored dtype (bf16; safetensors memory-maps the file), then one greedy token, as
# `gptune generate --max-new-tokens 1` does. Reads {"model": DIR, "prompt_ids": [...]} on stdin.
import json, sys, time
import torch
import transformers
from transformers import AutoModelForCausalLM

torch.set_num_threads(2)
cfg = json.load(sys.stdin)
t0 = time.perf_counter()
model = AutoModelForCausalLM.from_pretrained(cfg["model"], dtype=torch.bfloat16)
t1 = time.perf_counter()
ids = torch.tensor([cfg["prompt_ids"]])
with torch.no_grad():
    model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=1, do_sample=False)
t2 = time.perf_counter()
out = {"config": f"torch {torch.__version__}, transformers {transformers.__version__}, from_pretrained(dtype=torch.bfloat16), "
                 f"{torch.get_num_threads()} threads",
       "open_s": t1 - t0, "generate_s": t2 - t1}
# VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would report its parent's size.
out["max_rss_mb"] = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps(out))
