"""`flowstyle train`: flags generated from TrainConfig and FlowConfig (training/config.py)."""

from __future__ import annotations

import argparse
import os

from ..flow.model import FlowConfig
from ..training.config import TrainConfig
from .args import add_fields, values


def add_train(p: argparse.ArgumentParser) -> None:
    add_fields(p, TrainConfig)
    add_fields(p, FlowConfig)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    from ..training.trainer import train

    cfg = TrainConfig(**values(args, TrainConfig), flow=FlowConfig(**values(args, FlowConfig)))
    path = train(cfg, resume=args.resume, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:
        print(path)
    return 0
