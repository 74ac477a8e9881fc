# Writes a random-weight checkpoint of a config.json object with the real HF class, in bf16, once:
# both sides of a bench then load the same files. Input JSON {hf_config, dir}; prints {"dir": ...}.
import json, os, shutil, sys
import torch
from transformers import AutoConfig, AutoModelForCausalLM

cfg = json.load(sys.stdin)
out = cfg["dir"]
if not os.path.exists(os.path.join(out, "model.safetensors")):
    torch.manual_seed(0)
    config = AutoConfig.for_model(**cfg["hf_config"])
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    tmp = f"{out}.tmp-{os.getpid()}"
    model.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
print(json.dumps({"dir": out}))
