"""Does refining the output's latent against the VGG losses paint more? Texture, style, SSIM of the
default path's output after 0..N Adam steps on encode(output), decoded through the exact flow.

    python -m research.refine_probe --content data/splits/pval/content --styles data/splits/pval/style \
        --max-images 2 --max-styles 2 --steps 0 5 10 20 --out runs/refine-probe
"""

from __future__ import annotations

import time

import numpy as np

from flowstyle import Stylizer
from flowstyle.eval import metrics as M
from flowstyle.image.io import save_image, tensor_to_image
from flowstyle.pipeline import refine as refine_module
from research.probes import load_pairs, pair_parser, save_table


def main() -> None:
    ap = pair_parser()
    ap.add_argument("--steps", type=int, nargs="+", default=[0, 5, 10, 20])
    ap.add_argument("--lr", type=float, default=None, help="Adam's step size (default: refine.LEARNING_RATE)")
    args = ap.parse_args()
    contents, styles, out_dir = load_pairs(args)
    if args.lr is not None:
        refine_module.LEARNING_RATE = args.lr
    stylizer = Stylizer(args.model, precision="float32")
    rows = {n: {k: [] for k in ("style", "texture", "ssim", "clipped", "seconds")} for n in args.steps}
    for c in contents:
        for s in styles:
            tex = M.texture_features(s.tensor)
            base_style, base_tex = M.style_loss(c.tensor, s.tensor), M.texture_distance(c.tensor, tex)
            for n in args.steps:
                t0 = time.perf_counter()
                out = stylizer.stylize_tensor(c.tensor, s.tensor, refine=n)
                r = rows[n]
                r["seconds"].append(time.perf_counter() - t0)
                r["style"].append(1 - M.style_loss(out, s.tensor) / base_style)
                r["texture"].append(1 - M.texture_distance(out, tex) / base_tex)
                r["ssim"].append(M.ssim_luminance(out, c.tensor))
                r["clipped"].append(100 * M.clipped_fraction(out))
                save_image(tensor_to_image(out), out_dir / f"{c.name}__{s.name}__{n}.jpg")
                print(c.name, s.name, n, {k: round(v[-1], 3) for k, v in r.items()}, flush=True)
    lines = ["| steps | style median | texture median (p10) | <0 | SSIM | clipped % | s |", "|---|---|---|---|---|---|---|"]
    for n, r in rows.items():
        t = np.asarray(r["texture"])
        lines.append(f"| {n} | {np.median(r['style']):.3f} | {np.median(t):.3f} ({np.percentile(t, 10):.3f}) | "
                     f"{int((t < 0).sum())} | {np.median(r['ssim']):.3f} | {np.median(r['clipped']):.2f} | "
                     f"{np.mean(r['seconds']):.1f} |")
    save_table(out_dir, lines, rows)


if __name__ == "__main__":
    main()
