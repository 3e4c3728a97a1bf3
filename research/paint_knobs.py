"""The default path with one of its fixed knobs changed, on photo x art pairs, beside the peer.

Where research/decorator_variants.py rebuilds one flow pass by hand, this runs the whole default
path (`Stylizer.stylize`: working size, padding, the model's recipe, the guided carry to full
size) and changes one constant of it per variant, so what a user would get is what is scored:

    mix=X      the patch operator's share of swapped style patches (the rest is the photo's latent)
    patch=K    the patch operator's patch side in latent positions (odd)
    scale=S    match on latents pooled S times, copy the style's full-resolution blocks (the
               operator's DECORATOR_SCALE unless given; the reports' `base` was measured at 1)
    centre=1   fold each chosen patch's middle only (sharp) instead of the mean of the overlaps
    marks=S    the style latent's fine band below a blur of S positions taken whole from each
               position's own match instead of averaged (`patch_swap(marks=)`; 0: all averaged)
    energy=E   each latent channel's deviation scaled up E of the way to the style's (never down):
               what averaging the overlapping patches and the photo's share take away
    lift=E     the same for the swapped style patches alone, before the photo's share is mixed in
    sharp=E    the same for each channel's detail (its deviation from the 3 x 3 local mean) only
    fine=W     a second, finer swap beside the operator's: W of the swapped latent is made of
               the style's unpooled patches (scale 1: blocks half as large), 1 - W of the usual ones
    quilt=S    blocks placed every S pooled positions and blended with a tent window
               (research/quilt_swap.py) instead of at every position and averaged; taper=T
               raises the tent to the power T (sharper middles)
    spread=L   usage-balanced search (unpooled 3 x 3 patches): after each of SPREAD_ROUNDS
               searches, style patches chosen more often than their fair share (content
               positions / style patches) are handicapped by L * log(usage / share) and the
               search runs again, so the photo is rebuilt from more of the style's patches (its
               flat areas stop taking one flat patch each)
    candidates=N  the style patches each position's shared-out choice is made among
               (patch.BALANCE_CANDIDATES unless given)
    rounds=N   the Sinkhorn rounds of that sharing-out (patch.BALANCE_ROUNDS unless given)
    hm=H       search with the photo's latent moved H of the way to the style's distribution, channel
               by channel (the operator's `tone`, patch.DECORATOR_TONE unless given; 0: the latent as
               it is); the photo's share stays its own latent
    radius=R   the guided carry's window radius at the working size
    keep=K     the guided carry plus K of the painted result's own detail: its residual from the
               fit at the working size (which averages the marks away where the photo is flat),
               upsampled
    work=N     the working size (StylizeOptions.work_size)
    refine=N   N refinement steps (StylizeOptions.refine)
    lr=R       the refinement's Adam step (refine.LEARNING_RATE): its first step moves every latent
               value by about R
    alpha=A    the style strength
    gain=G     the recipe's gain: the style change scaled by G (above 1: extrapolated)
    anchor=A   the recipe's anchor (AdaAttN models: the pull towards a global transfer)
    balance=B  the recipe's balance: how strongly the style's patches are shared out
               (patch.balanced_choice; 0: plain best matches)
    phases=P, deep_phases=D, grid_filter=W   the recipe's squeeze phases averaged, the deepest
               block's phases, the lattice filter's width in px
    palette=P  the output's colours moved P of the way to the style's distribution, channel by channel
               in RGB, rank for rank (stats.quantile_match on the decoded image: the painting's
               palette in its own proportions; values stay within the style's)
    detail=D   the recipe's detail lift: the output's fine detail scaled up towards the style's
               contrast, by at most D extra (image/detail.py)

A variant is a comma-separated list of these, e.g. `mix=1,work=320`; `base` changes nothing.

    python -m research.paint_knobs --content data/choice-painted/content \
        --styles data/choice-painted/style --variants peer base mix=1 --out runs/painted/knobs
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import torch

from flowstyle.image import guided
from flowstyle.operators import patch as patch_module
from flowstyle.operators import registry
from flowstyle.operators.stats import quantile_match
from flowstyle.pipeline import refine as refine_module
from flowstyle.pipeline import stylizer as stylizer_module
from flowstyle.pipeline.stylizer import Stylizer
from flowstyle.models import load_model
from research.quilt_swap import quilt_swap
from research.pair_scores import Stylize, peer_variant, score_variants, variant_table
from research.probes import load_pairs, pair_parser, save_table

CARRY_KNOBS = ("radius", "keep")
OUTPUT_KNOBS = ("palette",)
OPERATOR_KNOBS = ("mix", "patch", "scale", "centre", "marks", "fine", "energy", "lift", "sharp", "hm", "spread", "candidates", "rounds", "quilt", "taper")
SPREAD_ROUNDS = 3
RECIPE_KNOBS = ("gain", "anchor", "balance", "detail", "phases", "deep_phases", "grid_filter")
WHOLE_KNOBS = ("work", "refine", "phases", "deep_phases")
REFINE_KNOBS = ("lr",)
OPTION_KNOBS = {"work": "work_size", "alpha": "alpha", "refine": "refine"}
# knobs that stand in for a module constant while they are set: knob -> (module, constant, type)
CONSTANT_KNOBS = {
    "candidates": (patch_module, "BALANCE_CANDIDATES", int),
    "rounds": (patch_module, "BALANCE_ROUNDS", int),
    "lr": (refine_module, "LEARNING_RATE", float),
}


def parse_variant(name: str) -> dict[str, float]:
    if name in ("base", "peer"):
        return {}
    knobs = {}
    for part in name.split(","):
        key, _, value = part.partition("=")
        if key not in OPERATOR_KNOBS + CARRY_KNOBS + OUTPUT_KNOBS + RECIPE_KNOBS + REFINE_KNOBS + tuple(OPTION_KNOBS):
            raise SystemExit(f"unknown knob {key!r} in {name!r}")
        knobs[key] = float(value)
    return knobs


def spread_swap(z_c, z_s, patch: int, strength: float, rounds: int = SPREAD_ROUNDS):
    """`patch_swap` (mean fold, 64-component search) with usage-balanced matching (the `spread` knob)."""
    F = torch.nn.functional
    r = patch // 2
    raw, _, unit = patch_module._style_patches(z_s.float(), patch, None, 0)
    query = patch_module.normalize(z_c.float())
    query = F.unfold(F.pad(query, (r, r, r, r), mode="reflect"), patch)[0]
    basis = patch_module._principal_axes(unit, patch_module.DECORATOR_MATCH_DIMS)
    unit, query = basis.T @ unit, basis.T @ query
    query = query / query.norm(dim=0, keepdim=True).clamp_min(1e-8)
    n_s = unit.shape[1]
    share = query.shape[1] / n_s
    bias = torch.zeros(n_s)
    step = max(1, patch_module.SCORE_BLOCK // n_s)
    for _ in range(rounds):
        best = torch.cat([(query[:, j : j + step].T @ unit + bias).argmax(dim=1) for j in range(0, query.shape[1], step)])
        usage = torch.bincount(best, minlength=n_s).float()
        bias -= strength * torch.log((usage + 1) / (share + 1))
    chosen = raw[:, best]
    c, h, w = z_c.shape[1:]
    size = (h + 2 * r, w + 2 * r)
    total = F.fold(chosen[None], size, patch)
    count = F.fold(torch.ones_like(chosen[None]), size, patch)
    return (total / count)[:, :, r : r + h, r : r + w].to(z_c.dtype)


def _lifted(z, centre, z_s, centre_s, strength: float):
    """z's deviation from `centre` scaled, per channel, `strength` of the way up to z_s's deviation
    from `centre_s` (never down)."""
    ratio = ((z_s - centre_s).std(dim=(-2, -1), keepdim=True) / (z - centre).std(dim=(-2, -1), keepdim=True).clamp_min(1e-8)).clamp_min(1.0)
    return centre + (1 + strength * (ratio - 1)) * (z - centre)


def restore_energy(z, z_s, strength: float):
    """Each latent channel's deviation from its mean scaled back up towards the style's (never
    down): the fold's averaging of overlapping patches and the photo's share lower it."""
    return _lifted(z, z.mean(dim=(-2, -1), keepdim=True), z_s, z_s.mean(dim=(-2, -1), keepdim=True), strength)


def _local_mean(z):
    return torch.nn.functional.avg_pool2d(torch.nn.functional.pad(z, (1, 1, 1, 1), mode="replicate"), 3, stride=1)


def restore_detail(z, z_s, strength: float):
    """`restore_energy` for the detail only: each channel's deviation from its 3 x 3 local mean,
    so the tones and colours (the local means) stay as they are."""
    return _lifted(z, _local_mean(z), z_s, _local_mean(z_s), strength)


@contextlib.contextmanager
def knobs_set(knobs: dict[str, float]) -> Iterator[None]:
    """The operator and the guided carry with `knobs` in place of their constants, restored after."""
    original_decorator, original_upsample = registry.style_decorator, stylizer_module.guided_upsample
    mix = knobs.get("mix", patch_module.DECORATOR_MIX)
    patch = int(knobs.get("patch", patch_module.DECORATOR_PATCH))
    scale = int(knobs.get("scale", patch_module.DECORATOR_SCALE))
    fold = "centre" if knobs.get("centre") else "mean"
    radius = int(knobs.get("radius", guided.RADIUS))

    def decorator(z_c, z_s, max_patches=None, seed=0, balance=patch_module.DECORATOR_BALANCE, marks=patch_module.DECORATOR_MARKS):
        hm = knobs.get("hm", patch_module.DECORATOR_TONE)
        query = patch_module.search_query(z_c, z_s, hm)
        if knobs.get("spread"):
            swapped = spread_swap(query, z_s, patch, knobs["spread"])
        elif knobs.get("quilt"):
            swapped = quilt_swap(query, z_s, patch, patch_module.decorator_scale(z_s, patch, scale), int(knobs["quilt"]),
                                 balance, power=knobs.get("taper", 1.0))
        else:
            def swap(at_scale):
                return patch_module.patch_swap(query, z_s, patch=patch, max_patches=max_patches, seed=seed,
                                               match_dims=patch_module.DECORATOR_MATCH_DIMS,
                                               scale=patch_module.decorator_scale(z_s, patch, at_scale), fold=fold, balance=balance,
                                               marks=knobs.get("marks", marks))
            swapped = swap(scale)
            if knobs.get("fine"):
                swapped = (1 - knobs["fine"]) * swapped + knobs["fine"] * swap(1)
        if knobs.get("lift"):
            swapped = restore_energy(swapped, z_s, knobs["lift"])
        out = swapped if mix >= 1 else mix * swapped + (1 - mix) * z_c
        if knobs.get("sharp"):
            out = restore_detail(out, z_s, knobs["sharp"])
        if knobs.get("energy"):
            out = restore_energy(out, z_s, knobs["energy"])
        return out

    def upsample(small_out, small_photo, photo):
        full = original_upsample(small_out, small_photo, photo, radius=radius)
        if knobs.get("keep"):  # the small result's detail its fit to the photo's luminance leaves out
            at_small = original_upsample(small_out, small_photo, small_photo, radius=radius)
            residual = torch.nn.functional.interpolate(small_out - at_small, size=photo.shape[-2:], mode="bilinear",
                                                       align_corners=False)
            full = (full + knobs["keep"] * residual).clamp(0, 1)
        return full

    originals = {key: getattr(module, name) for key, (module, name, _) in CONSTANT_KNOBS.items()}
    for key, (module, name, kind) in CONSTANT_KNOBS.items():
        setattr(module, name, kind(knobs.get(key, originals[key])))
    registry.style_decorator, stylizer_module.guided_upsample = decorator, upsample
    try:
        yield
    finally:
        registry.style_decorator, stylizer_module.guided_upsample = original_decorator, original_upsample
        for key, (module, name, _) in CONSTANT_KNOBS.items():
            setattr(module, name, originals[key])


def main() -> None:
    ap = pair_parser(threads=2)
    ap.add_argument("--variants", nargs="+", default=["peer", "base"])
    ap.add_argument("--save-images", action="store_true", help="write every output beside the table")
    args = ap.parse_args()
    contents, styles, out_dir = load_pairs(args)
    stylizer = Stylizer(load_model(args.model))

    def variant(knobs: dict[str, float]) -> Stylize:
        options = {OPTION_KNOBS[k]: (int(v) if k in WHOLE_KNOBS else v) for k, v in knobs.items() if k in OPTION_KNOBS}
        recipe = {k: (int(v) if k in WHOLE_KNOBS else v) for k, v in knobs.items() if k in RECIPE_KNOBS}
        if recipe:
            options["recipe"] = recipe

        def stylize(content, style):
            with knobs_set(knobs):
                out = stylizer.stylize_tensor(content, [style], **options)
            if knobs.get("palette"):
                out = torch.lerp(out, quantile_match(out[None], style[None])[0], knobs["palette"])
            return out
        return stylize

    stylizers = {name: peer_variant if name == "peer" else variant(parse_variant(name)) for name in args.variants}
    scores = score_variants(contents, styles, stylizers, out_dir if args.save_images else None)
    save_table(out_dir, variant_table(scores, texture_mean=True), {name: dataclasses.asdict(r) for name, r in scores.items()})


if __name__ == "__main__":
    main()
