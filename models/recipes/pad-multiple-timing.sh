#!/bin/bash
# make run's inference over seeds/ with the shipped model at three inference padding multiples
# (PAD_MULTIPLE in pipeline/model/ner.py: 16, the code's; 1, batches padded to their longest
# window only; 8): wall time and peak memory from /usr/bin/time -v, the rate from the runner's
# last line. Session 8 (AMD EPYC Zen 4, 74 reports): the README's make run figures.
# Usage: models/recipes/pad-multiple-timing.sh [OUT]   (default runs/pad-multiple-timing)
cd "$(dirname "$0")/../.."
OUT=${1:-runs/pad-multiple-timing}
mkdir -p "$OUT"
lscpu > "$OUT/lscpu.txt"
for m in 16 1 8; do
  rm -rf "$OUT/out-$m"
  { /usr/bin/time -v .venv/bin/python -c "
import sys; import pipeline.model.ner as N; N.PAD_MULTIPLE = $m
from pipeline.cli.infer import main; sys.exit(main(['seeds', '--out', '$OUT/out-$m', '--no-progress']))" ; } \
    > "$OUT/pad$m.log" 2>&1
done
grep -H -E "processed|Elapsed|Maximum resident" "$OUT"/pad*.log
