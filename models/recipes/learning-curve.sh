#!/bin/bash
# Learning curve (#16): the full run's recipe (models/recipes/train-v0.2.sh) on 25% and 50% of the
# 31 training reports (train_fraction, nested subsets, train_subset_seed 0). Resumable: re-run.
cd "$(dirname "$0")/../.."
mkdir -p runs
for f in 0.25 0.5; do
  [ -f runs/lc-$f/train_summary.json ] && continue
  .venv/bin/python scripts/train.py --set base_model='"models/base/e5-small-gov2"' --set lr=2e-4 \
    --set batch_size=8 --set grad_accum=1 --set epochs=6 --set patience=3 --set eval_batch_size=8 \
    --set decoding='"argmax"' --set train_fraction=$f --set output_dir="\"runs/lc-$f\"" >> runs/lc-$f.log 2>&1 || exit 1
done
