"""How far a model's trained path is from a teacher's all-phase average on given training batches.

Why: `flowstyle train --distill-weight` logs the distillation MSE of one batch per 10 steps, and
batches differ a lot (clip art on white against photos), so a rising log may be harder batches
or a model moving away from its teacher. This replays the run's own batches (same seed, same
steps: `Trainer.run` is deterministic in its data) through any model's trained path and the
frozen teacher's all-phase average, so that a checkpoint can be compared with its start batch
by batch. The recipe flags are those of `flowstyle train` that change the batch or the path.

    python -m research.distill_drift artflow-adaattn-1x16 --teacher artflow-adaattn-1x16 \
        --steps 10,120,250 --phases 2 --anchor 1 --anchor-stats covariance-tone --shift-weight 200
"""

from __future__ import annotations

import argparse
import tempfile

import torch

from flowstyle.models import load_model
from flowstyle.training.config import TrainConfig
from flowstyle.training.data import batch_iterator
from flowstyle.training.losses import distillation_loss
from flowstyle.training.trainer import Trainer


def drift(model: str, teacher: str, steps: list[int], content_dir: str = "data/splits/train/content",
          style_dir: str = "data/splits/train/style", clamped: bool = False, **recipe) -> dict[int, float]:
    """Distillation MSE of `model`'s trained path against `teacher`'s all-phase average on the
    batch that training step s saw (s as logged: the step after it ran). `recipe`: TrainConfig
    fields (the shipped runs' batch 4, 128 px crops of 256 px images unless given). `clamped`:
    both outputs clipped to 0..1 first, as an image shows them (the loss sees them unclipped)."""
    loaded = load_model(model)
    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig(**{
            "batch": 4, "crop": 128, "resize": 256, "balance_sources": True, **recipe,
            "content_dir": content_dir, "style_dir": style_dir, "out": out, "method": loaded.method,
            "flow": loaded.flow.config, "init": model, "workers": 0,
        })
        trainer = Trainer(cfg, progress=False)  # no distill_weight: the teacher is ours, not a copy of `model`
        trainer.teacher = load_model(teacher).eval().requires_grad_(False)
        trainer.model.eval()
        result = {}
        for s in steps:
            # as Trainer.run and train_step build step s's batch (the step counter before it ran)
            trainer.step = s - 1
            content = trainer._prepare(next(batch_iterator(trainer.content, cfg.batch, cfg.seed, s)))
            style = trainer._prepare(next(batch_iterator(trainer.style, cfg.batch, cfg.seed + 1, s)))
            content, style = trainer.with_close_pairs(content, style)
            if cfg.shift_weight > 0:
                content, style, _, _ = trainer._shift_pairs(content, style)
            with torch.no_grad():
                path, target = trainer.stylize_batch(content, style).float(), trainer.teacher_batch(content, style).float()
                if clamped:
                    path, target = path.clamp(0, 1), target.clamp(0, 1)
                result[s] = distillation_loss(path, target).item()
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--teacher", required=True)
    p.add_argument("--steps", required=True, help="comma-separated logged steps")
    p.add_argument("--phases", type=int, default=1)
    p.add_argument("--anchor", type=float, default=0.0)
    p.add_argument("--anchor-stats", default="mean-std")
    p.add_argument("--shift-weight", type=float, default=0.0)
    p.add_argument("--clamped", action="store_true", help="compare the outputs clipped to 0..1, as shown")
    args = p.parse_args()
    torch.set_num_threads(1)
    steps = [int(s) for s in args.steps.split(",")]
    found = drift(args.model, args.teacher, steps, phases=args.phases, anchor=args.anchor,
                  anchor_stats=args.anchor_stats, shift_weight=args.shift_weight, clamped=args.clamped)
    for s, mse in found.items():
        print(f"{s},{mse:.6f}")


if __name__ == "__main__":
    main()
