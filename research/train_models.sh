#!/bin/sh
# The training runs behind the shipped models and the experiments the docs cite (docs/training.md).
# Broad corpus (make corpus), float32, one thread per run so that two runs share the 2 cores. Every
# run resumes from its checkpoint: rerun this script after a kill and it continues.
# Usage: sh research/train_models.sh RUN
#   adain                 AdaIN flow from scratch: range + shift-consistency losses
#   adain-grid            ... continued with the anti-grid spectral loss (the shipped artflow-adain)
#   adain-nest, adain-haar, adain-noshift   grid experiments (docs/grid.md: tried and dropped)
#   adain-texture         the shipped artflow-adain trained on towards textures: the texture term
#                         (centred Gram of VGG relu2_1..relu5_1, weight 5, about the style loss's size)
#                         on 256 px crops of 512 px images, batch 2 (about 12 s a step on one thread),
#                         with the shipped flow's shift and anti-grid losses (its first 300 steps ran
#                         without them and grew the grid: reports/texture-run/)
#   patch-texture         the same, trained through the patch operator (the default's method) instead
#                         of AdaIN: the texture term then judges what the default path paints
#   adaattn-patch         the shipped artflow-adaattn's flow trained on the same way (its default path is the
#                         patch operator, whose outputs this flow decodes smoother than the AdaIN flow: the
#                         styles' fine line work and contrast are lost); its AdaAttN module is not trained
#   adaattn-patch-content the same with 3x the content weight and half the learning rate: adaattn-patch
#                         lifted the haze but lost the photo (SSIM 0.70 -> 0.60 on validation) and swung
#   adaattn-patch-structure adaattn-patch with the Laplacian term (weight 100: about the content term's size), which
#                         holds the photo's edges and shapes at a quarter resolution where relu4_1 let them go
#   adaattn-1x16-patch-structure  the same for the shipped artflow-adaattn-1x16's flow (no anti-grid loss: its
#                         grid is the 2 px one its lattice filter takes out)
#   adaattn-module        AdaAttN's module alone (--freeze-flow) trained again for a flow trained through the patch
#                         operator: INIT=the flow combined with artflow-adaattn's module (research.combine_init)
#   adaattn-1x16-patch-attention  adaattn-1x16-patch-structure's flow (research/campaign/) with the shipped
#                         module (INIT: a model that has its own, e.g. this run's committed weights), every
#                         other step through AdaAttN (--attention-every 2): that flow had learnt to decode the
#                         patch operator's latents and no longer decoded the attention's
#   adaattn-texture       artflow-adaattn trained on through its own attention with the texture and Laplacian
#                         terms, 256 px crops: an attention that paints rather than recolours
#   adaattn-texture-low   adaattn-texture's weights trained on with a quarter of the anchor in the loop
#                         (the anchor the texture-trained attention paints best at)
#   adaattn-1x16-module   the same for artflow-adaattn-1x16's module (its own training's settings: anchor 0.75,
#                         no anti-grid loss)
#   adaattn, adaattn-grid AdaAttN from the AdaIN flow (the shipped artflow-adaattn: adaattn-grid, then
#                         adaattn-anchor: its anchor in the training loop)
#   adaattn-1x16, adaattn-1x16-anchor   the one-block AdaAttN model (the shipped artflow-adaattn-1x16)
#   other adaattn-* runs  anchor, near-pair, hinge, art-pair, distillation and content-weight
#                         experiments on the AdaAttN models (docs/generalisation.md, docs/grid.md:
#                         tried and dropped)
set -e
FS=${FS:-.venv/bin/flowstyle}
DATA="--content-dir data/splits/train/content --style-dir data/splits/train/style"
COMMON="--balance-sources --batch 4 --crop 128 --resize 256 --width 128 --lr 5e-4 --iters 100000 --save-every 50 --save-minutes 5 --threads 1 --resume"
case "$1" in
  adain)          $FS train $DATA $COMMON --method adain --range-weight 20 --shift-weight 200 --out runs/adain-2x8 ;;
  adain-texture)  $FS train $DATA $COMMON --method adain --init ${INIT:-artflow-adain} --lr 1e-4 --range-weight 20 --texture-weight 5 --shift-weight 200 --grid-weight 1 --crop 256 --resize 512 --batch 2 --out runs/adain-texture ;;
  patch-texture)  $FS train $DATA $COMMON --method patch --init ${INIT:-artflow-adain} --lr 1e-4 --range-weight 20 --texture-weight 5 --shift-weight 200 --grid-weight 1 --crop 256 --resize 512 --batch 2 --out runs/patch-texture ;;
  adaattn-patch)  $FS train $DATA $COMMON --method patch --init ${INIT:-artflow-adaattn} --lr 1e-4 --range-weight 20 --texture-weight 5 --shift-weight 200 --grid-weight 1 --crop 256 --resize 512 --batch 2 --out runs/adaattn-patch ;;
  adaattn-patch-content) $FS train $DATA $COMMON --method patch --init ${INIT:-artflow-adaattn} --lr 5e-5 --content-weight 0.3 --range-weight 20 --texture-weight 5 --shift-weight 200 --grid-weight 1 --crop 256 --resize 512 --batch 2 --out runs/adaattn-patch-content ;;
  adaattn-patch-structure) $FS train $DATA $COMMON --method patch --init ${INIT:-artflow-adaattn} --lr 1e-4 --range-weight 20 --texture-weight 5 --laplacian-weight 100 --shift-weight 200 --grid-weight 1 --crop 256 --resize 512 --batch 2 --out runs/adaattn-patch-structure ;;
  adaattn-1x16-patch-structure) $FS train $DATA $COMMON --method patch --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --lr 1e-4 --range-weight 20 --texture-weight 5 --laplacian-weight 100 --shift-weight 200 --crop 256 --resize 512 --batch 2 --out runs/adaattn-1x16-patch-structure ;;
  adaattn-1x16-patch-attention) I=runs/adaattn-1x16-patch-attention-init.safetensors
                  [ -f $I ] || if [ -n "$INIT" ]; then cp "$INIT" $I; else .venv/bin/python -m research.combine_init research/campaign/adaattn-1x16-patch-structure/model.safetensors artflow-adaattn-1x16 $I; fi
                  $FS train $DATA $COMMON --method patch --attention-every 2 --anchor 0.75 --n-block 1 --n-flow 16 --init $I --lr 1e-4 --range-weight 20 --texture-weight 5 --laplacian-weight 100 --shift-weight 200 --crop 256 --resize 512 --batch 2 --out runs/adaattn-1x16-patch-attention ;;
  adaattn-texture) $FS train $DATA $COMMON --method adaattn --init ${INIT:-artflow-adaattn} --lr 1e-4 --range-weight 20 --texture-weight 5 --laplacian-weight 100 --shift-weight 200 --grid-weight 1 --anchor 0.75 --crop 256 --resize 512 --batch 2 --out runs/adaattn-texture ;;
  adaattn-texture-low) $FS train $DATA $COMMON --method adaattn --init ${INIT:-research/campaign/adaattn-texture/model.safetensors} --lr 1e-4 --range-weight 20 --texture-weight 5 --laplacian-weight 100 --shift-weight 200 --grid-weight 1 --anchor 0.25 --crop 256 --resize 512 --batch 2 --out runs/adaattn-texture-low ;;
  adaattn-1x16-module) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:?INIT=a flow combined with a module: python -m research.combine_init FLOW artflow-adaattn-1x16 OUT} --freeze-flow --lr 2e-4 --range-weight 20 --shift-weight 200 --anchor 0.75 --out runs/adaattn-1x16-module ;;
  adaattn-module) $FS train $DATA $COMMON --method adaattn --init ${INIT:?INIT=a flow combined with a module: python -m research.combine_init FLOW artflow-adaattn OUT} --freeze-flow --lr 2e-4 --range-weight 20 --shift-weight 200 --grid-weight 1 --anchor 0.75 --out runs/adaattn-module ;;
  adain-noshift)  $FS train $DATA $COMMON --method adain --range-weight 20 --shift-weight 0 --out runs/adain-2x8-noshift ;;
  adain-grid)     $FS train $DATA $COMMON --method adain --init ${INIT:-runs/adain-2x8/model.safetensors} --lr 3e-4 --range-weight 20 --shift-weight 200 --grid-weight 1 --out runs/adain-grid ;;
  adain-nest)     $FS train $DATA $COMMON --method adain --init ${INIT:-runs/adain-grid-step750.safetensors} --lr 3e-4 --range-weight 20 --shift-weight 200 --grid-weight 1 --phases 4 --out runs/adain-nest ;;
  adain-haar)     $FS train $DATA $COMMON --method adain --squeeze haar ${INIT:+--init $INIT} --range-weight 20 --shift-weight 200 --grid-weight 1 --out runs/adain-haar ;;
  adaattn)        $FS train $DATA $COMMON --method adaattn --init runs/adain-2x8-step500.safetensors --lr 2e-4 --range-weight 20 --shift-weight 200 --out runs/adaattn-2x8 ;;
  adaattn-grid)   [ -f runs/adaattn-grid-init.safetensors ] || .venv/bin/python -m research.combine_init artflow-adain artflow-adaattn runs/adaattn-grid-init.safetensors
                  $FS train $DATA $COMMON --method adaattn --init runs/adaattn-grid-init.safetensors --lr 2e-4 --range-weight 20 --shift-weight 200 --grid-weight 1 --out runs/adaattn-grid ;;
  adaattn-anchor) $FS train $DATA $COMMON --method adaattn --init ${INIT:-artflow-adaattn} --lr 2e-4 --range-weight 20 --shift-weight 200 --grid-weight 1 --anchor 0.75 --out runs/adaattn-anchor ;;
  adaattn-1x16-anchor) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --lr 2e-4 --range-weight 20 --shift-weight 200 --anchor 0.75 --out runs/adaattn-1x16-anchor ;;
  adaattn-1x16-p2) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --lr 2e-4 --range-weight 20 --shift-weight 200 --grid-weight 1 --anchor 1 --phases 2 --out runs/adaattn-1x16-p2 ;;
  adaattn-1x16-a1) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --lr 2e-4 --range-weight 20 --shift-weight 200 --anchor 1 --out runs/adaattn-1x16-a1 ;;
  adaattn-1x16-cov) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --lr 2e-4 --range-weight 20 --shift-weight 200 --anchor 1 --anchor-stats covariance --out runs/adaattn-1x16-cov ;;
  adaattn-1x16-near) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --lr 2e-4 --range-weight 20 --shift-weight 200 --anchor 1 --anchor-stats covariance --near-pairs 0.25 --out runs/adaattn-1x16-near ;;
  adaattn-1x16-near512) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --lr 2e-4 --range-weight 20 --shift-weight 200 --anchor 1 --anchor-stats covariance --near-pairs 0.25 --resize 512 --crop 256 --batch 2 --out runs/adaattn-1x16-near512 ;;
  adaattn-1x16-hinge) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --lr 2e-4 --range-weight 20 --shift-weight 200 --anchor 1 --anchor-stats covariance --near-pairs 0.25 --hinge-weight 10 --out runs/adaattn-1x16-hinge ;;
  adaattn-1x16-hinge512) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --lr 2e-4 --range-weight 20 --shift-weight 200 --anchor 1 --anchor-stats covariance --near-pairs 0.25 --hinge-weight 10 --resize 512 --crop 256 --batch 2 --out runs/adaattn-1x16-hinge512 ;;
  adaattn-1x16-art) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --lr 2e-4 --range-weight 20 --shift-weight 200 --anchor 1 --anchor-stats covariance --near-pairs 0.25 --art-pairs 0.5 --hinge-weight 10 --out runs/adaattn-1x16-art ;;
  adaattn-distill) $FS train $DATA $COMMON --method adaattn --init ${INIT:-artflow-adaattn} --lr 2e-4 --range-weight 20 --shift-weight 200 --grid-weight 1 --anchor 0.75 --distill-weight 1000 --out runs/adaattn-distill ;;
  adaattn-1x16-p2d) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --range-weight 20 --shift-weight 200 --grid-weight 1 --anchor 1 --anchor-stats covariance-tone --phases 2 --distill-weight 1000 --lr 5e-5 --out runs/adaattn-1x16-p2d ;;
  adaattn-1x16-p2x) $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --init ${INIT:-artflow-adaattn-1x16} --content-weight 0 --style-weight 0 --range-weight 0 --shift-weight 0 --grid-weight 0 --anchor 1 --anchor-stats covariance-tone --phases 2 --distill-weight 1000 --lr 1e-5 --out runs/adaattn-1x16-p2x ;;
  adaattn-1x16)   $FS train $DATA $COMMON --method adaattn --n-block 1 --n-flow 16 --range-weight 20 --shift-weight 200 --out runs/adaattn-1x16 ;;
  adaattn-style)  $FS train $DATA $COMMON --method adaattn --init ${INIT:-artflow-adaattn} --lr 2e-4 --range-weight 20 --shift-weight 200 --grid-weight 1 --anchor 0.75 --content-weight 0.07 --out runs/adaattn-style ;;
  *) echo "usage: $0 RUN, RUN = $(sed -n 's/^#   RUN = //p' "$0")" >&2; exit 2 ;;
esac
