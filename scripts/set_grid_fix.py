"""Store a shipped model's recommended grid fix (docs/grid.md) in its weights file.

    python scripts/set_grid_fix.py artflow-adain --phases 16 --gain 1.3

`phases`: squeeze phases averaged by default; `gain`: the latent-change scale that restores
the style strength averaging softens, chosen on the validation split (scripts/score_models.py
--gains). The weights are untouched; only the metadata changes.
"""

from __future__ import annotations

import argparse

from flowstyle.models import REGISTRY, load_model, save_model, weights_dir


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(REGISTRY))
    p.add_argument("--phases", type=int, required=True)
    p.add_argument("--gain", type=float, required=True)
    args = p.parse_args()
    model = load_model(args.name)
    info = {**model.info, "default_phases": args.phases, "default_gain": args.gain}
    path = save_model(model, weights_dir() / REGISTRY[args.name], info=info)
    print(f"{path}: default_phases {args.phases}, default_gain {args.gain}")


if __name__ == "__main__":
    main()
