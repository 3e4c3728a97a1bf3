#!/bin/sh
# Every grid variant of docs/grid.md scored once more on the held-out test split (after the
# choice was made on data/splits/val). The models come from the runs docs/grid.md describes:
# runs/grid/{control,gridloss} (150-step continuations), runs/ablation/* (research/ablation.sh),
# runs/trans/n* (research/transition_runs.sh). Scoring is `flowstyle eval metrics` (the one
# scoring path); one report folder per variant under reports/grid_test/.
set -e
E="${FLOWSTYLE:-.venv/bin/flowstyle} eval metrics --content data/splits/test/content --styles data/splits/test/style --size 192 --threads 2"
for p in 1 2 4 16; do
  $E --models runs/grid/control/model.safetensors --phases $p --out reports/grid_test/control-phases$p
done
$E --models runs/grid/control/model.safetensors --phases 1 --pad 0 --out reports/grid_test/control-pad0
$E --models runs/grid/control/model.safetensors --phases 1 --pad 32 --out reports/grid_test/control-pad32
$E --models runs/grid/control/model.safetensors --phases 1 --pad 64 --pad-mode zeros --out reports/grid_test/control-pad64-zeros
for p in 1 4; do
  $E --models runs/grid/gridloss/model.safetensors --phases $p --out reports/grid_test/gridloss-phases$p
done
$E --models runs/ablation/w128-c128-lr5e-4/model.safetensors,runs/ablation/w128-c128-lr5e-4-haar/model.safetensors \
   --phases 1 --out reports/grid_test/haar
for n in 0 1 2; do cp runs/trans/n$n/model.safetensors runs/trans/n$n.safetensors; done
$E --models runs/trans/n0.safetensors,runs/trans/n1.safetensors,runs/trans/n2.safetensors --phases 1 \
   --out reports/grid_test/transition
