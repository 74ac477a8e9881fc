#!/usr/bin/env bash
# Full fine-tuning (every parameter) on task data: the support desk's (prompt, completion) pairs,
# loss on the completions only. Then the same held-out evaluation `npm start` reports.
set -euo pipefail
cd "$(dirname "$0")/.."
node bin/gptune.js train --model assets/base-model --data data/support/train.jsonl --method full \
  --out runs/example-full-finetune --max-steps 150 --batch-size 16 --lr 5e-4 --warmup-steps 10 \
  --schedule cosine --overwrite "$@"
node bin/gptune.js eval --model runs/example-full-finetune --data data/support/test.jsonl --task --limit 60
