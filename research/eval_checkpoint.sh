#!/bin/sh
# A campaign run's current weights scored on validation with a shipped model's default path.
# Usage: sh research/eval_checkpoint.sh RUN STEP MODEL [SETS]
#   puts runs/RUN/model.safetensors's flow together with MODEL's AdaAttN module and inference
#   defaults (python -m research.combine_init: what shipping it as MODEL would give) in
#   runs/ck/RUN-STEP.safetensors, and scores its default path on each of SETS (default: paint
#   painted wide tail, the data/choice-* sets of research/choice_sets.sh; paint, with
#   Starry Night among its styles, is the one that agreed with the test split) into runs/ck-eval/RUN-STEP-SET
#   (python -m research.paint_knobs, 1 thread: about 4 minutes per 64 pairs).
# OWN_MODULE=1: the run trained its own AdaAttN module (flowstyle train --attention-every): keep it,
#   with MODEL's defaults. ATTENTION_SETS="painted": also score --method adaattn on those sets
#   (runs/ck-eval/RUN-STEP-attention-SET), which a flow trained through the patch operator can break.
set -e
[ $# -ge 3 ] || { sed -n 3p "$0" >&2; exit 2; }
mkdir -p runs/ck
F=runs/ck/$1-$2.safetensors
if [ -n "$OWN_MODULE" ]; then
  .venv/bin/python -m research.combine_init "runs/$1/model.safetensors" "runs/$1/model.safetensors" "$F" --summary "$1 at step $2" --defaults "$3"
else
  .venv/bin/python -m research.combine_init "runs/$1/model.safetensors" "$3" "$F" --summary "$1 at step $2"
fi
score() {  # score MODEL_FILE SET OUT_NAME
  .venv/bin/python -m research.paint_knobs --threads 1 --model "$1" --content "data/choice-$2/content" \
    --styles "data/choice-$2/style" --variants base --out "runs/ck-eval/$3" > "runs/ck-eval-$3.log" 2>&1
  echo "$3: $(tail -n 1 "runs/ck-eval/$3/table.md")"
}
if [ -n "$ATTENTION_SETS" ]; then
  .venv/bin/flowstyle models set-defaults "$F" --method adaattn -o "runs/ck/$1-$2-attention.safetensors" > /dev/null
  for set in $ATTENTION_SETS; do score "runs/ck/$1-$2-attention.safetensors" "$set" "$1-$2-attention-$set"; done
fi
for set in ${4:-paint painted wide tail}; do score "$F" "$set" "$1-$2-$set"; done
