#!/usr/bin/env bash
# BERT or GPT? Spam or ham on real e-mails (SpamAssassin), three ways, every model pre-trained by gptune
# on the same English text (scripts/data/english_corpus.ts) with the same tokenizer (assets/base-model's):
#   (1) a small RoBERTa-style encoder, masked-LM pre-trained here, fine-tuned with a classification head;
#   (2) the shipped GPT base (assets/base-model) with a classification head (GPT2ForSequenceClassification);
#   (3) the GPT base instruction-tuned to answer " spam" or " ham", scored on its generated first word.
# Every fine-tuning trains all parameters, 16 e-mails a step: 100 steps with a head, one epoch (294 steps)
# instruction-tuned. Each training prints its wall time and the load average; the README's table
# ("BERT or GPT?") was made with these commands.
#   bash examples/spam.sh [--test-rows N] [flags for every gptune train, e.g. --max-steps 2]
# --test-rows N scores only the first N test e-mails (a quick check; the table uses all of them).
set -euo pipefail
cd "$(dirname "$0")/.."
test_rows=0
train_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --test-rows) test_rows=$2; shift 2 ;;
    *) train_flags+=("$1"); shift ;;
  esac
done
gptune() { node bin/gptune.js "$@"; }
# timed NAME CMD...: runs CMD and says how long it took and the 1-minute load average before and after.
timed() {
  local name=$1 load0 t0=$SECONDS; shift
  load0=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
  "$@"
  echo "== $name: $((SECONDS - t0)) s wall, load average $load0 -> $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
}
out=runs/spam
mkdir -p "$out"

node dist/scripts/data/make_spam_data.js                       # data/spam/{train,test}{,-instruct}.jsonl
node dist/scripts/data/english_corpus.js corpus/english > /dev/null
test_cls=data/spam/test.jsonl test_instruct=data/spam/test-instruct.jsonl
if [ "$test_rows" -gt 0 ]; then
  head -n "$test_rows" data/spam/test.jsonl > "$out/test.jsonl" && test_cls=$out/test.jsonl
  head -n "$test_rows" data/spam/test-instruct.jsonl > "$out/test-instruct.jsonl" && test_instruct=$out/test-instruct.jsonl
fi
fine_tune=(--method full --batch-size 16 --lr 5e-4 --schedule cosine --overwrite)

# (1) the encoder: masked-LM pre-training from scratch on the GPT base's budget (its shape, 4 x 256 with 256
# positions, and its 700 steps of 16 x 256 tokens, assets/base-model/README.md), then a head.
timed "(1) encoder pre-training (masked LM)" gptune train --init roberta --tokenizer assets/base-model --data corpus/english \
  --seq-len 256 --n-layer 4 --n-embd 256 --n-head 4 --val-fraction 0.01 --max-steps 700 --batch-size 16 --lr 1e-3 \
  --warmup-steps 40 --schedule cosine --eval-every 100 --save-every 100 --out "$out/enc-base" --overwrite "${train_flags[@]}"
timed "(1) encoder + head fine-tuning" gptune train --model "$out/enc-base" --task seq-cls --data data/spam/train.jsonl \
  "${fine_tune[@]}" --max-steps 100 --warmup-steps 10 --out "$out/enc-cls" "${train_flags[@]}"
gptune eval --model "$out/enc-cls" --data "$test_cls" --json > "$out/enc-cls.eval.json"

# (2) the GPT base with a classification head (the last non-padding token's state, as Hugging Face scores).
timed "(2) GPT + head fine-tuning" gptune train --model assets/base-model --task seq-cls --data data/spam/train.jsonl \
  "${fine_tune[@]}" --max-steps 100 --warmup-steps 10 --out "$out/gpt-cls" "${train_flags[@]}"
gptune eval --model "$out/gpt-cls" --data "$test_cls" --json > "$out/gpt-cls.eval.json"

# (3) the GPT base instruction-tuned: loss on the answer " spam" / " ham" (and EOS) only.
timed "(3) GPT instruction tuning" gptune train --model assets/base-model --data data/spam/train-instruct.jsonl \
  "${fine_tune[@]}" --epochs 1 --warmup-steps 20 --out "$out/gpt-instruct" "${train_flags[@]}"
node dist/scripts/examples/label_answers.js --model "$out/gpt-instruct" --data "$test_instruct" --json > "$out/gpt-instruct.eval.json"

# accuracy and macro-F1 of each, on the same test e-mails
for m in enc-cls gpt-cls gpt-instruct; do
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); 
    console.log(`${process.argv[2].padEnd(13)} accuracy ${(100 * r.accuracy).toFixed(2)}%  macro-F1 ${(100 * r.macroF1).toFixed(2)}%`)' \
    "$out/$m.eval.json" "$m"
done
