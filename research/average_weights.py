"""Average the weights of several checkpoints of one training run (a flow's stochastic weight
average): a noisy run's checkpoints swing from pair to pair, their mean can be steadier.

    python -m research.average_weights runs/mean.safetensors runs/step500.safetensors runs/step650.safetensors

Every checkpoint must have the same architecture; the first one's metadata (defaults, method)
is kept and the info says which checkpoints were averaged. ActNorm scales are stored as logs and
the 1x1 convolutions as LU factors, so the mean of each tensor is itself a valid flow.
"""

from __future__ import annotations

import sys

import torch

from flowstyle.models.weights import load_model, save_model

USAGE = "usage: python -m research.average_weights OUT.safetensors CHECKPOINT.safetensors..."


def average(out: str, paths: list[str]) -> None:
    models = [load_model(p) for p in paths]
    first = models[0]
    states = [m.state_dict() for m in models]
    if any(s.keys() != states[0].keys() for s in states):
        raise SystemExit("the checkpoints' architectures differ")
    mean = {k: sum(s[k].double() for s in states).div(len(states)).to(states[0][k].dtype) for k in states[0]}
    first.load_state_dict(mean)
    save_model(first, out, info={"name": "averaged", "averaged": paths})


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(USAGE)
    average(sys.argv[1], sys.argv[2:])
