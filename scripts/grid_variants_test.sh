#!/bin/sh
# Every grid variant of docs/grid.md scored once more on the held-out test split (after the
# choice was made on data/splits/val). The models come from the runs docs/grid.md describes:
# runs/grid/{control,gridloss} (150-step continuations), runs/ablation/* (scripts/ablation.sh),
# runs/trans/n* (scripts/transition_runs.sh). Output: reports/grid_test_variants.md
set -e
S="${PYTHON:-.venv/bin/python} scripts/score_models.py --split data/splits/test --size 192 --threads 2"
{
  $S runs/grid/control/model.safetensors --phases 1,2,4,16
  $S runs/grid/control/model.safetensors --phases 1 --pads 0:reflect,32:reflect,64:zeros | tail -n +3
  $S runs/grid/gridloss/model.safetensors --phases 1,4 | tail -n +3
  $S runs/ablation/w128-c128-lr5e-4/model.safetensors runs/ablation/w128-c128-lr5e-4-haar/model.safetensors --phases 1 | tail -n +3
  for n in 0 1 2; do cp runs/trans/n$n/model.safetensors runs/trans/n$n.safetensors; done
  $S runs/trans/n0.safetensors runs/trans/n1.safetensors runs/trans/n2.safetensors --phases 1 | tail -n +3
} > reports/grid_test_variants.md
cat reports/grid_test_variants.md
