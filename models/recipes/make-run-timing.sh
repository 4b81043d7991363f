#!/bin/bash
# `make run` timed in each precision the component can run on this CPU (the every-CPU issue):
# the default (`dtype = "auto"`: bfloat16 where native, else int8), float32 at the shipped
# 8 windows per forward pass, and float32 at 32 windows (the setting before int8 existed).
# Each run starts from an empty output folder; /usr/bin/time -v gives wall time and peak
# memory, the runner's last line the rate (chars/s, model loading excluded).
# Usage: models/recipes/make-run-timing.sh [OUT]   (default runs/make-run-timing)
cd "$(dirname "$0")/../.."
OUT=${1:-runs/make-run-timing}
mkdir -p "$OUT"
lscpu > "$OUT/lscpu.txt"
rm -rf "$OUT/model-b32" && cp -r models/govreport-ner "$OUT/model-b32"
sed -i '/^\[components.govreport_ner\]/,/^\[/ s/^batch_size = 8$/batch_size = 32/' "$OUT/model-b32/config.cfg"
rm -rf outputs
{ /usr/bin/time -v make run ; } > "$OUT/make_run.log" 2>&1
rm -rf "$OUT/out-fp32"
{ /usr/bin/time -v .venv/bin/python scripts/infer.py seeds --out "$OUT/out-fp32" --dtype float32 --no-progress ; } \
  > "$OUT/fp32_b8.log" 2>&1
rm -rf "$OUT/out-fp32-b32"
{ /usr/bin/time -v .venv/bin/python scripts/infer.py seeds --out "$OUT/out-fp32-b32" --model "$OUT/model-b32" \
  --dtype float32 --no-progress ; } > "$OUT/fp32_b32.log" 2>&1
grep -H -E "processed|Elapsed|Maximum resident" "$OUT"/*.log
