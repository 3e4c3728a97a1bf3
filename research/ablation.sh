#!/bin/sh
# Short same-budget ablation before the default models (MODELS.md, "Ablation").
# Each run trains MINUTES minutes of step time on data/splits/train (2-core CPU, bf16).
# Usage: sh research/ablation.sh [MINUTES]   (results: runs/ablation/*; score: flowstyle eval metrics --phases P --gain G)
set -e
MIN=${1:-8}
FS=".venv/bin/flowstyle"
COMMON="--content-dir data/splits/train/content --style-dir data/splits/train/style --method adain --batch 4 --bf16 --iters 100000 --minutes $MIN --save-every 50 --sample-every 100 --no-progress"
run() { name=$1; shift; [ -f runs/ablation/$name/model.safetensors ] && grep -q . runs/ablation/$name/done 2>/dev/null && return 0
  $FS train $COMMON --out runs/ablation/$name --resume "$@" > runs/ablation/$name.log 2>&1; echo ok > runs/ablation/$name/done; }
mkdir -p runs/ablation
run w128-c128-lr1e-4 --width 128 --crop 128 --resize 256 --lr 1e-4
run w128-c128-lr5e-4 --width 128 --crop 128 --resize 256 --lr 5e-4
run w64-c128-lr5e-4  --width 64  --crop 128 --resize 256 --lr 5e-4
run w128-c192-lr5e-4 --width 128 --crop 192 --resize 384 --lr 5e-4
run w128-c128-lr5e-4-haar --width 128 --crop 128 --resize 256 --lr 5e-4 --squeeze haar
