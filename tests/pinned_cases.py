"""The pinned stylize outputs: cases, and how to (re)generate them.

Run `ATEN_CPU_CAPABILITY=avx2 python -m tests.pinned_cases` only when a change is *meant* to
alter the outputs; the committed files in tests/pinned/ are what `test_pinned_outputs.py` holds
every refactor to (`ATEN_CPU_CAPABILITY=avx2 python -m tests.pinned_cases --check` compares them
in a fresh process; PINNED_ENV says why the cap).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).parent / "pinned"
MODELS = {"adain": DATA / "tiny-adain.safetensors", "adaattn": DATA / "tiny-adaattn.safetensors"}
OUTPUTS = DATA / "outputs.npz"
# torch's own kernels round float32 sums differently on AVX-512 than on AVX2 (the AdaAttN cases
# moved 5.4e-7); the outputs were written under AVX2, so generation and check both run capped there.
PINNED_ENV = {"ATEN_CPU_CAPABILITY": "avx2"}

# name -> (model, keyword options); content 40x28, styles 24x24 and 20x32 (generated below)
CASES: dict[str, tuple[str, dict]] = {
    "adain": ("adain", dict(pad=8)),
    "wct": ("adain", dict(method="wct", pad=8)),
    "alpha-0.5": ("adain", dict(alpha=0.5, pad=8)),
    "phases-4": ("adain", dict(recipe=dict(phases=4), pad=8)),
    "phases-4-gain": ("adain", dict(recipe=dict(phases=4, gain=1.5), pad=8)),
    "tile-8": ("adain", dict(tile=8, pad=8)),
    "tile-0-zeros": ("adain", dict(tile=0, pad=4, pad_mode="zeros")),
    "two-styles": ("adain", dict(styles=2, style_weights=[0.3, 0.7], pad=8)),
    "latents": ("adain", dict(styles="same-size", blend="latents", style_weights=[0.6, 0.4], pad=8)),
    "size": ("adain", dict(size=24, pad=8)),
    "adaattn": ("adaattn", dict(pad=8)),
    "adaattn-keys": ("adaattn", dict(recipe=dict(max_keys=20, seed=3), pad=8)),
}


def images() -> tuple[torch.Tensor, list[torch.Tensor]]:
    g = torch.Generator().manual_seed(1234)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 28), torch.linspace(0, 1, 40), indexing="ij")
    content = torch.stack([xx, yy, (xx * yy) ** 0.5]) * 0.8 + 0.2 * torch.rand(3, 28, 40, generator=g)
    style_a = torch.rand(3, 24, 24, generator=g)
    style_b = torch.rand(3, 20, 32, generator=g) ** 2
    return content.clamp(0, 1), [style_a, style_b]


def run_case(stylizer, name: str) -> np.ndarray:
    _, options = CASES[name]
    options = dict(options)
    content, styles = images()
    which = options.pop("styles", 1)
    styles = [styles[0], styles[0].flip(-1)] if which == "same-size" else styles[:which]
    return stylizer.stylize_tensor(content, styles if len(styles) > 1 else styles[0], **options).numpy()


def build_model(method: str):
    """The untrained tiny model (fixed seed), nudged off its zero-initialised coupling outputs."""
    from flowstyle.flow import FlowConfig
    from flowstyle.models import init_model

    model = init_model(FlowConfig(n_block=2, n_flow=2, width=8), method=method, size=32, seed=0)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=g))
    return model


def generate() -> None:  # pragma: no cover - run by hand
    from flowstyle.pipeline import Stylizer
    from flowstyle.models import save_model

    DATA.mkdir(parents=True, exist_ok=True)
    for method, path in MODELS.items():
        save_model(build_model(method), path, half=True)
    stylizers = {m: Stylizer(str(p)) for m, p in MODELS.items()}
    np.savez_compressed(OUTPUTS, **{n: run_case(stylizers[m], n) for n, (m, _) in CASES.items()})


def check() -> list[str]:
    """The cases whose output differs from the committed one (empty: all bit for bit equal)."""
    from safetensors.torch import load_file

    from flowstyle import Stylizer, load_model

    stylizers = {m: Stylizer(load_model(str(p))) for m, p in MODELS.items()}
    failed = []
    with np.load(OUTPUTS) as expected:
        for name, (method, _) in CASES.items():
            out = run_case(stylizers[method], name)
            if out.shape != expected[name].shape or not np.array_equal(out, expected[name]):
                diff = np.abs(out - expected[name]).max() if out.shape == expected[name].shape else "shape"
                failed.append(f"{name}: max diff {diff}")
    for method, path in MODELS.items():
        stored, state = load_file(str(path)), build_model(method).state_dict()
        if set(stored) != set(state) or not all(
            torch.equal(v.half() if v.is_floating_point() else v, stored[k]) for k, v in state.items()
        ):
            failed.append(f"init_model({method}) no longer builds the pinned weights")
    return failed


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--check"]:
        problems = check()
        print("\n".join(problems) or "all pinned outputs unchanged")
        sys.exit(1 if problems else 0)
    generate()
