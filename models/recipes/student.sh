#!/bin/bash
# A 4-layer student distilled from the shipped teacher (models/govreport-ner, 12 layers):
# layers 0, 4, 8 and 11 of the teacher's fine-tuned encoder (its head and tokenizer too),
# trained on the gold train split (cross-entropy + soft targets) and on every other raw
# report that is in no split (soft targets only; the teacher labels them in float32 once).
# Windows of similar length are batched together (group_by_length) and long paragraphs are
# cut at sentence ends (sentence_windows). bf16 autocast is off: on a CPU without native
# bfloat16 it is emulated and slower than float32 (set BF16=true where it is native).
# Resumable: re-run after a kill (the teacher's labels are kept in OUT until the run ends).
# Usage: models/recipes/student.sh [OUT]   (default runs/student4; log: OUT.log)
cd "$(dirname "$0")/../.."
OUT=${1:-runs/student4}
BF16=${BF16:-false}
mkdir -p "$(dirname "$OUT")"
# every other raw report (sorted by name) of ../shared/corpus, as a TOML list
RAW=$(ls ../shared/corpus/*.txt | sort | awk 'NR % 2 == 1' | sed 's/.*/"&"/' | paste -sd, -)
exec .venv/bin/python scripts/train.py --set base_model="\"models/govreport-ner\"" \
  --set teacher="\"models/govreport-ner\"" --set student_layers='[0, 4, 8, 11]' \
  --set distill_files="[$RAW]" --set temperature=2.0 --set distill_alpha=0.5 \
  --set lr=2e-4 --set batch_size=8 --set epochs=3 --set patience=2 --set eval_batch_size=8 \
  --set group_by_length=true --set sentence_windows=true --set bf16=$BF16 \
  --set output_dir="\"$OUT\"" >> "$OUT.log" 2>&1
