"""Why a model moves a near pair away from its style: which VGG layer, and which operator helps.

For each (content, style) pair given by file-name stem in the xval split (the clip-art gate's
failing pairs, research/clipart_gate.py): the style loss split by layer (MSE of the channel means
and of the stds, relu1_1..relu4_1) for the content and for the model's default-path output, the
mean RGB of content, output and style, then style match / SSIM for operator variants on the same
path: the default, no anchor, AdaIN, WCT, and an inference-only probe of AdaAttN with the style's
global latent std in place of the attention's per-position std.

    .venv/bin/python -m research.near_pair_diagnosis artflow-adaattn-1x16 \
        cards__svg-dondorf-dondorf:cards__svg-penguins-penguins --threads 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.nn import functional as F

from flowstyle import Stylizer, StylizeOptions
from flowstyle import operators as O
from flowstyle.eval import metrics as M
from flowstyle.eval.runners import load_images
from flowstyle.training import losses as L

SPLIT = ("data/splits/xval/style", "data/splits/xval/content")


def find(stem: str) -> Path:
    for folder in SPLIT:
        found = sorted(Path(folder).glob(stem + ".*"))
        if found:
            return found[0]
    raise SystemExit(f"no image named {stem} in {', '.join(SPLIT)}")


def layer_mismatch(image: torch.Tensor, target: dict) -> list[tuple[float, float]]:
    feats = M._vgg_features(image)
    out = []
    for name in L.STYLE_LAYERS:
        mean, std = O.mean_std(feats[name], unbiased=True)
        out.append((F.mse_loss(mean, target[name][0]).item(), F.mse_loss(std, target[name][1]).item()))
    return out


def global_std_forward(self, z_c, z_s, max_keys=None, seed=0):
    """AdaAttN with the attention's mean but the style's global std per channel (a probe)."""
    norm_c, mean, _ = self.moments(z_c, z_s, max_keys, seed)
    return self.h(z_s).flatten(2).std(2)[..., None, None] * norm_c + mean


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("pairs", nargs="+", help="CONTENT_STEM:STYLE_STEM")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    st = Stylizer(args.model)
    base = dict(pad=64, pad_mode="reflect")
    variants = {"default": {}, "anchor 0": {"anchor": 0.0}, "adain": {"method": "adain"}, "wct": {"method": "wct"}}
    plain_forward = O.AdaAttN.forward
    for pair in args.pairs:
        c_stem, s_stem = pair.split(":")
        content, style = (im.tensor for im in load_images([find(c_stem), find(s_stem)], args.size))
        target = L.style_stats(M._vgg_features(style))
        out = st.stylize_tensor(content, [style], options=StylizeOptions(**base))
        print(f"\n{c_stem} x {s_stem}, {args.size} px, {args.model} default path")
        print("| image | " + " | ".join(f"{n} mean / std" for n in L.STYLE_LAYERS) + " | mean RGB |")
        print("|---|" + "---|" * (len(L.STYLE_LAYERS) + 1))
        for label, image in (("content", content), ("output", out), ("style", style)):
            cells = " | ".join(f"{m:.3f} / {s:.3f}" for m, s in layer_mismatch(image, target))
            rgb = ", ".join(f"{v:.3f}" for v in image.mean((0, 2, 3)).tolist())
            print(f"| {label} | {cells} | {rgb} |")
        row = []
        for name, changes in variants.items():
            o = st.stylize_tensor(content, [style], options=StylizeOptions(**base, **changes))
            row.append(f"{name} {M.style_match(o, content, style):+.2f} / {M.ssim_luminance(o, content):.2f}")
        O.AdaAttN.forward = global_std_forward
        try:
            o = st.stylize_tensor(content, [style], options=StylizeOptions(**base))
        finally:
            O.AdaAttN.forward = plain_forward
        row.append(f"global std (probe) {M.style_match(o, content, style):+.2f} / {M.ssim_luminance(o, content):.2f}")
        print("style match / SSIM: " + " | ".join(row), flush=True)


if __name__ == "__main__":
    main()
