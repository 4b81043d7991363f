#!/bin/bash
# v0.3 candidates (session 7): the shipped v0.2 teacher fine-tuned further on the train split
# (a warm start, so a few epochs at half v0.2's learning rate instead of 6 from the base
# encoder, which would take ~2 h 40 min on 2 cores). Windows of similar length are batched
# together (group_by_length). Resumable: re-run after a kill.
#   runs/teacher44: EPOCHS=3, on the 44 train reports before gold round 5
#   runs/teacher54: EPOCHS=4, on the 54 train reports with round 5 (the default)
# BASE: the model to continue from. v0.3 itself was continued from v0.2, which lived at
# models/govreport-ner then (git 0a920da); since session 9 the default is the v0.3 teacher
# (models/govreport-ner-teacher), the start of a next teacher on today's train split.
# Usage: [BASE=…] [EPOCHS=4] [BF16=true] models/recipes/train-v0.3.sh [OUT]   (default runs/teacher54; log: OUT.log)
cd "$(dirname "$0")/../.."
OUT=${1:-runs/teacher54}
EPOCHS=${EPOCHS:-4}
BF16=${BF16:-true}
mkdir -p "$(dirname "$OUT")"
BASE=${BASE:-models/govreport-ner-teacher}
exec .venv/bin/python scripts/train.py --set base_model="\"$BASE\"" --set lr=1e-4 \
  --set batch_size=8 --set grad_accum=1 --set epochs=$EPOCHS --set patience=2 --set eval_batch_size=8 \
  --set group_by_length=true --set bf16=$BF16 --set output_dir="\"$OUT\"" >> "$OUT.log" 2>&1
