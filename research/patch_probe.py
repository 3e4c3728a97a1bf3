"""Latent-space operators side by side on photo x art pairs: style, texture, SSIM, clipping, grid.

A quick instrument for choosing among transfer variants in z (AdaIN, WCT, the patch decorator
with its knobs) on one flow, without going through the pipeline's options: each variant is a
function (z_c, z_s) -> z. Pads by 64 px (reflect), one flow pass, no grid fix.

    python -m research.patch_probe --model artflow-adain --content data/splits/pval/content \
        --styles data/splits/pval/style --size 512 --out reports/patch-probe
"""

from __future__ import annotations

import time

import numpy as np
import torch

from flowstyle import operators as O
from flowstyle.eval import metrics as M
from flowstyle.image.io import save_image, tensor_to_image
from flowstyle.image.transforms import center_crop_to_multiple, pad_to_multiple
from flowstyle.models import load_model
from research.probes import load_pairs, pair_parser, save_table

PAD = 64


def variants(names: list[str]):
    """name -> fn(z_c, z_s, cache): "adain", "wct", or "patchK[-centre][-aX][-raw][-cX][-sN][-dN]": the patch
    decorator with patch size K and fold, matched at 1/N resolution (sN) or in N principal
    components (dN), mixed with WCT at
    weight X (1: the swapped patches alone) or with the photo's latent (cX), re-coloured with
    AdaIN unless raw.
    The swap and WCT of a pair are computed once (cache) and shared by the mixes."""
    def cached(cache, key, fn):
        if key not in cache:
            cache[key] = fn()
        return cache[key]

    table = {
        "adain": lambda c, s, cache: O.adain(c, s),
        "wct": lambda c, s, cache: cached(cache, "wct", lambda: O.wct(c, s)),
    }
    for name in names:
        if name in table:
            continue
        parts = name.split("-")
        k = int(parts[0][5:])
        fold = "centre" if "centre" in parts else "mean"
        mix = next((float(p[1:]) for p in parts if p.startswith("a")), 1.0)
        raw = "raw" in parts  # the swapped latent as it is, not re-coloured with AdaIN
        with_content = any(p.startswith("c") and p[1:2].isdigit() for p in parts)  # mix with z_c, not WCT
        if with_content:
            mix = next(float(p[1:]) for p in parts if p.startswith("c") and p[1:2].isdigit())
        scale = next((int(p[1:]) for p in parts if p.startswith("s") and p[1:].isdigit()), 1)
        dims = next((int(p[1:]) for p in parts if p.startswith("d") and p[1:].isdigit()), None)

        def fn(c, s, cache, k=k, fold=fold, mix=mix, raw=raw, with_content=with_content, scale=scale, dims=dims):
            def swap():
                swapped = O.patch_swap(c, s, patch=k, fold=fold, scale=scale, match_dims=dims)
                return swapped if raw else O.adain(swapped, s)
            swapped = cached(cache, (k, fold, raw, scale, dims), swap)
            if mix >= 1.0:
                return swapped
            other = c if with_content else cached(cache, "wct", lambda: O.wct(c, s))
            return mix * swapped + (1 - mix) * other

        table[name] = fn
    return {n: table[n] for n in names}


def main() -> None:
    ap = pair_parser(threads=2)
    ap.add_argument("--variants", nargs="+", default=["adain", "wct", "patch3"])
    ap.add_argument("--save-images", action="store_true")
    args = ap.parse_args()
    contents, styles, out_dir = load_pairs(args)
    model = load_model(args.model).eval()
    flow, m = model.flow, model.config.multiple
    fns = variants(args.variants)
    rows = {n: {k: [] for k in ("style", "texture", "ssim", "clipped", "grid", "seconds")} for n in fns}
    with torch.inference_mode():
        z_styles = [flow.encode(center_crop_to_multiple(s.tensor, m)) for s in styles]
        tex = [M.texture_features(s.tensor) for s in styles]
        for c in contents:
            x = c.tensor
            h, w = x.shape[-2:]
            z_c = flow.encode(pad_to_multiple(x, PAD, m, "reflect"))
            for si, s in enumerate(styles):
                base_style = M.style_loss(x, s.tensor)
                base_tex = M.texture_distance(x, tex[si])
                cache: dict = {}
                for name, fn in fns.items():
                    t0 = time.perf_counter()
                    out = flow.decode(fn(z_c, z_styles[si], cache))[..., PAD : PAD + h, PAD : PAD + w].clamp(0, 1)
                    r = rows[name]
                    r["seconds"].append(time.perf_counter() - t0)
                    r["style"].append(1 - M.style_loss(out, s.tensor) / base_style)
                    r["texture"].append(1 - M.texture_distance(out, tex[si]) / base_tex)
                    r["ssim"].append(M.ssim_luminance(out, x))
                    r["clipped"].append(100 * M.clipped_fraction(out))
                    r["grid"].append(M.grid_ratio(out, x))
                    if args.save_images:
                        save_image(tensor_to_image(out), out_dir / f"{c.name}__{s.name}__{name}.jpg")
                print(c.name, "done", flush=True)
    lines = ["| variant | style median (p10) | <0 | texture median (p10) | <0 | SSIM | clipped % | grid | s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        def mw(k, hi=True):
            a = np.asarray(r[k])
            return f"{np.median(a):.3f} ({np.percentile(a, 10 if hi else 90):.3f})"
        lines.append(f"| {name} | {mw('style')} | {sum(v < 0 for v in r['style'])} | {mw('texture')} | "
                     f"{sum(v < 0 for v in r['texture'])} | {mw('ssim')} | {mw('clipped', False)} | "
                     f"{mw('grid', False)} | {np.mean(r['seconds']):.2f} |")
    save_table(out_dir, lines, rows)


if __name__ == "__main__":
    main()
