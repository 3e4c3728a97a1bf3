#!/bin/sh
# A campaign run's current weights scored on validation with the shipped models' default path.
# Usage: sh research/eval_checkpoint.sh RUN STEP [SETS]
#   copies runs/RUN/model.safetensors to runs/ck/RUN-STEP.safetensors, gives it the default path's
#   defaults (patch operator, lattice filter 2 px), and scores it on each of SETS (default: painted
#   wide tail, the data/choice-* sets of research/choice_sets.sh) into runs/ck-eval/RUN-STEP-SET
#   (python -m research.paint_knobs, 1 thread: about 4 minutes per 64 pairs).
set -e
[ $# -ge 2 ] || { sed -n 3p "$0" >&2; exit 2; }
mkdir -p runs/ck
F=runs/ck/$1-$2.safetensors
cp "runs/$1/model.safetensors" "$F"
.venv/bin/flowstyle models set-defaults "$F" --method patch --precision auto --recipe grid_filter=2 -o "$F" > /dev/null
for set in ${3:-painted wide tail}; do
  .venv/bin/python -m research.paint_knobs --threads 1 --model "$F" --content "data/choice-$set/content" \
    --styles "data/choice-$set/style" --variants base --out "runs/ck-eval/$1-$2-$set" > "runs/ck-eval-$1-$2-$set.log" 2>&1
  echo "$set: $(tail -n 1 "runs/ck-eval/$1-$2-$set/table.md")"
done
