#!/bin/bash
# Every published score of the shipped model, on the current gold, then the tables that quote them
# (models/recipes/fill_published.py): the README's test table and precision tables, the plain
# transformers export, the model card's table. Float32 is the canonical precision; the AVX2 rows restrict the kernels to AVX2 on this CPU.
# Writes runs/published/*.txt; about 25 minutes on 2 cores (Zen 3), 5 on the AMX Xeon.
set -e
cd "$(dirname "$0")/../.."
OUT=runs/published; M=models/govreport-ner
mkdir -p $OUT
EV=".venv/bin/python scripts/evaluate.py --data annotations/gold/*.jsonl --batch-size 32"
$EV --model $M --split test --compare-dtypes bfloat16,int8 --json $M/eval/test.json \
    --errors outputs/evaluation/test.errors.jsonl > $OUT/test-dtypes.txt 2>&1
$EV --model $M --split dev --compare-dtypes bfloat16,int8 --json $M/eval/dev.json \
    --errors $OUT/dev.errors.jsonl > $OUT/dev-dtypes.txt 2>&1
$EV --model $M --split dev --decoding argmax --json $M/eval/dev.argmax.json \
    --errors $OUT/dev.argmax.errors.jsonl > $OUT/dev-argmax.txt 2>&1
(
  export ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 FBGEMM_ENABLE_INSTRUCTIONS=AVX2 \
         ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2
  $EV --model $M --split test --compare-dtypes int8 --errors $OUT/e.jsonl > $OUT/test-avx2.txt 2>&1
  $EV --model $M --split dev --compare-dtypes int8 --errors $OUT/e.jsonl > $OUT/dev-avx2.txt 2>&1
)
rm -rf runs/hf-export
.venv/bin/python -m pipeline export-hf runs/hf-export > $OUT/export.log 2>&1
$EV --model runs/hf-export --split test --errors $OUT/e.jsonl > $OUT/test-plain.txt 2>&1
.venv/bin/python models/recipes/fill_published.py
