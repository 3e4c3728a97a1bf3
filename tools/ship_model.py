"""Copy a training run's exported model into the package as a named, documented model.

    python -m tools.ship_model runs/adain-2x8 artflow-adain \
        --summary "AdaIN, 2x8 flow, width 128, trained 80 min on 2 CPU cores"
    flowstyle models set-defaults artflow-adain --phases 1 --grid-filter 2

Adds the name, a one-line summary and the machine it was trained on to the weights file's
metadata. The inference defaults (the grid fix chosen in docs/grid.md) are set afterwards with
`flowstyle models set-defaults`, which checks them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flowstyle.flow.precision import describe_cpu
from flowstyle.models import REGISTRY, load_model, save_model, weights_dir


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("name", choices=sorted(REGISTRY))
    p.add_argument("--summary", required=True)
    args = p.parse_args()
    model = load_model(args.run / "model.safetensors")
    info = {
        **model.info,
        "name": args.name,
        "summary": args.summary,
        "trained_on": f"{describe_cpu()}, 2 cores, no GPU",
        "run": str(args.run),
    }
    path = save_model(model, weights_dir() / REGISTRY[args.name], info=info)
    print(f"{path} ({path.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
