#!/bin/bash
# Domain-adaptive pre-training (#17, idea 2): 2 epochs of whole-piece n-gram masked-LM on every raw
# report except the dev and test documents (seeds/, ../shared/reports/, ../shared/corpus/), starting
# from the pruned base of v0.2; then the v0.2 fine-tuning recipe (models/recipes/train-v0.2.sh) on
# the adapted encoder. Both steps resume from their last epoch checkpoint: re-run after a kill.
cd "$(dirname "$0")/../.."
mkdir -p runs
[ -f runs/dapt/pretrain_summary.json ] || .venv/bin/python -m pipeline pretrain \
  --set base_model='"models/base/e5-small-gov2"' --set output_dir='"runs/dapt"' \
  --set corpus='["seeds", "../shared/reports", "../shared/corpus"]' --set epochs=2 \
  >> runs/dapt.log 2>&1 || exit 1
exec .venv/bin/python scripts/train.py --set base_model='"runs/dapt"' --set lr=2e-4 \
  --set batch_size=8 --set grad_accum=1 --set epochs=6 --set patience=3 --set eval_batch_size=8 \
  --set decoding='"argmax"' --set output_dir='"runs/dapt-ft"' >> runs/dapt-ft.log 2>&1
