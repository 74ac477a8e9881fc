#!/usr/bin/env bash
# Chat-format fine-tuning: {"messages": [...]} rows rendered with the model's chat template (the base
# model has none, so gptune's documented default, ChatML, is used), loss on assistant turns only.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs
node -e '
const fs = require("fs");
const rows = fs.readFileSync("data/support/train.jsonl", "utf8").trim().split("\n").map(JSON.parse);
const out = rows.map((r) => JSON.stringify({ messages: [
  { role: "system", content: "You are Lumen support." },
  { role: "user", content: r.prompt.replace(/^Customer: /, "").replace(/\nAgent:$/, "") },
  { role: "assistant", content: r.completion.trim() },
] }));
fs.writeFileSync("runs/support_chat.jsonl", out.join("\n") + "\n");'
node bin/gptune.js train --model assets/base-model --data runs/support_chat.jsonl --out runs/example-chat \
  --lora-r 32 --lora-alpha 64 --lora-targets all-linear --max-steps 300 --batch-size 4 --lr 5e-3 \
  --warmup-steps 15 --schedule cosine --packing --overwrite "$@"
node bin/gptune.js generate --model assets/base-model --adapter runs/example-chat --temperature 0 --max-new-tokens 30 \
  --stop "<|im_end|>" --prompt $'<|im_start|>system\nYou are Lumen support.<|im_end|>\n<|im_start|>user\nHow long is the warranty?<|im_end|>\n<|im_start|>assistant\n'
