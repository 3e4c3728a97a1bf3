#!/bin/sh
# Transition steps (docs/grid.md): the same from-scratch budget, counted in steps, with 0, 1 and 2
# transition steps per block. Config as the ablation's w128-c128-lr5e-4 (2-core CPU, bf16).
# Usage: sh research/transition_runs.sh [STEPS]   (results: runs/trans/*; score: flowstyle eval metrics --phases P --gain G)
set -e
STEPS=${1:-400}
FS=".venv/bin/flowstyle"
COMMON="--content-dir data/splits/train/content --style-dir data/splits/train/style --method adain --batch 4 --bf16 --iters $STEPS --width 128 --crop 128 --resize 256 --lr 5e-4 --threads 1 --save-every 50 --sample-every 200 --no-progress"
mkdir -p runs/trans
for n in 0 1 2; do
  [ -f runs/trans/n$n/done ] && continue
  $FS train $COMMON --n-trans $n --out runs/trans/n$n --resume > runs/trans/n$n.log 2>&1
  echo ok > runs/trans/n$n/done
done
