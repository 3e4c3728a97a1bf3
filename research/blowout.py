"""Where decoded values leave [0, 1], and why: per operator, on photo x art pairs.

For each pair and operator (one flow pass, 64 px reflect pad, no grid fix) it measures
- out of range: share of pixels with a channel outside [0, 1] before the final clamp, and the
  clipped share (a channel at 0 or 255 once written) after it;
- off-style: how far the transferred latent lies from the style's own latent distribution, as
  the mean squared Mahalanobis distance per channel under the style's mean and covariance (the
  style's own latent scores 1; a latent outside that cloud scores more), and the share of latent
  values beyond the style's per-channel [min, max];
and, per style, its mean HSV saturation and the energy of its latent's finest detail, to see
which styles blow out.

    python -m research.blowout --content data/splits/pval/content --styles data/splits/pval/style \
        --max-images 6 --max-styles 6 --out reports/blowout
"""

from __future__ import annotations


import numpy as np
import torch

from flowstyle import operators as O
from flowstyle.eval import metrics as M
from flowstyle.image.transforms import center_crop_to_multiple, pad_to_multiple
from flowstyle.models import load_model
from research.probes import load_pairs, pair_parser, save_table

PAD = 64
OPERATORS = {
    "adain": O.adain,
    "wct": O.wct,
    "patch (shipped)": O.style_decorator,
    "patch, swapped latent only": lambda c, s: O.patch_swap(c, s),
    "patch, swapped + AdaIN": lambda c, s: O.adain(O.patch_swap(c, s), s),
}


def style_gaussian(z_s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (C,) and inverse covariance (C, C) of one style latent, float64, lightly regularised."""
    flat = z_s[0].flatten(1).double()
    mean = flat.mean(1)
    cov = torch.cov(flat) + 1e-5 * torch.eye(flat.shape[0], dtype=torch.float64)
    return mean, torch.linalg.inv(cov)


def off_style(z: torch.Tensor, mean: torch.Tensor, inv_cov: torch.Tensor) -> float:
    d = z[0].flatten(1).double() - mean[:, None]
    return float(((inv_cov @ d) * d).sum(0).mean() / d.shape[0])


def saturation(x: torch.Tensor) -> float:
    hi, lo = x.amax(1), x.amin(1)
    return float(((hi - lo) / hi.clamp_min(1e-6)).mean())


def main() -> None:
    args = pair_parser().parse_args()
    contents, styles, out = load_pairs(args)
    flow = load_model(args.model).eval().flow
    m = flow.config.multiple
    rows = []
    with torch.inference_mode():
        encoded = [flow.encode(center_crop_to_multiple(s.tensor, m)) for s in styles]
        gaussians = [style_gaussian(z) for z in encoded]
        ranges = [(z.amin(dim=(0, 2, 3)), z.amax(dim=(0, 2, 3))) for z in encoded]
        for c in contents:
            h, w = c.tensor.shape[-2:]
            z_c = flow.encode(pad_to_multiple(c.tensor, PAD, m, "reflect"))
            for si, s in enumerate(styles):
                lo, hi = ranges[si]
                for name, op in OPERATORS.items():
                    z = op(z_c, encoded[si])
                    raw = flow.decode(z)[..., PAD : PAD + h, PAD : PAD + w]
                    outside = ((raw < 0) | (raw > 1)).any(1).float().mean()
                    beyond = ((z < lo[None, :, None, None]) | (z > hi[None, :, None, None])).float().mean()
                    rows.append({
                        "content": c.name, "style": s.name, "operator": name,
                        "outside_pct": 100 * float(outside), "clipped_pct": 100 * M.clipped_fraction(raw.clamp(0, 1)),
                        "off_style": off_style(z, *gaussians[si]), "beyond_style_range_pct": 100 * float(beyond),
                        "style_saturation": saturation(s.tensor),
                    })
            print(c.name, flush=True)
    lines = ["| operator | outside [0,1] % median (p90) | clipped % median (p90) | off-style median (p90) | latent beyond style range % median |",
             "|---|---|---|---|---|"]
    for name in OPERATORS:
        sel = [r for r in rows if r["operator"] == name]
        def q(k):
            a = np.array([r[k] for r in sel])
            return f"{np.median(a):.2f} ({np.percentile(a, 90):.2f})"
        lines.append(f"| {name} | {q('outside_pct')} | {q('clipped_pct')} | {q('off_style')} | {q('beyond_style_range_pct')} |")
    adain = [r for r in rows if r["operator"] == "adain"]
    corr = np.corrcoef([r["off_style"] for r in adain], [r["outside_pct"] for r in adain])[0, 1]
    sat = np.corrcoef([r["style_saturation"] for r in adain], [r["outside_pct"] for r in adain])[0, 1]
    lines += ["", f"AdaIN, over {len(adain)} pairs: correlation of off-style with outside-range share {corr:.2f}; "
              f"of the style's saturation with it {sat:.2f}."]
    save_table(out, lines, rows, indent=1)


if __name__ == "__main__":
    main()
