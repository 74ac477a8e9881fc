#!/usr/bin/env bash
# Continued pre-training on a domain's raw text, then perplexity before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p corpus/moby-dick
node dist/scripts/data/english_corpus.js corpus/english > /dev/null
cp corpus/english/moby-* corpus/moby-dick/
node bin/gptune.js train --config examples/continued_pretraining.yaml --overwrite "$@"
# Held-out text of the domain: the validation split's loss is in runs/.../summary.json; the chart:
echo "loss chart: runs/example-continued-pretraining/loss_chart.svg"
node bin/gptune.js generate --model runs/example-continued-pretraining --prompt "The whale" --max-new-tokens 40 --temperature 0.8 --top-p 0.95 --seed 1
