#!/bin/sh
# A campaign run's current weights scored on validation with a shipped model's default path.
# Usage: sh research/eval_checkpoint.sh RUN STEP MODEL [SETS]
#   puts runs/RUN/model.safetensors's flow together with MODEL's AdaAttN module and inference
#   defaults (python -m research.combine_init: what shipping it as MODEL would give) in
#   runs/ck/RUN-STEP.safetensors, and scores its default path on each of SETS (default: paint
#   painted wide tail, the data/choice-* sets of research/choice_sets.sh; paint, with
#   Starry Night among its styles, is the one that agreed with the test split) into runs/ck-eval/RUN-STEP-SET
#   (python -m research.paint_knobs, 1 thread: about 4 minutes per 64 pairs).
set -e
[ $# -ge 3 ] || { sed -n 3p "$0" >&2; exit 2; }
mkdir -p runs/ck
F=runs/ck/$1-$2.safetensors
.venv/bin/python -m research.combine_init "runs/$1/model.safetensors" "$3" "$F" --summary "$1 at step $2"
for set in ${4:-paint painted wide tail}; do
  .venv/bin/python -m research.paint_knobs --threads 1 --model "$F" --content "data/choice-$set/content" \
    --styles "data/choice-$set/style" --variants base --out "runs/ck-eval/$1-$2-$set" > "runs/ck-eval-$1-$2-$set.log" 2>&1
  echo "$set: $(tail -n 1 "runs/ck-eval/$1-$2-$set/table.md")"
done
