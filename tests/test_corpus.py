"""The GIMP pattern reader and the offline corpus builder (no network: apt is faked away)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from flowstyle import corpus
from flowstyle.corpus import build_corpus, read_manifest
from flowstyle.errors import FlowstyleError
from flowstyle.gimp_pat import encode_pat, parse_pat, read_pat

CHELSEA = corpus.SKIMAGE_FILES["chelsea.png"]


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


def test_build_without_apt_uses_scikit_image(tmp_path: Path, monkeypatch, capsys) -> None:
    _no_apt(monkeypatch)
    out = tmp_path / "corpus"
    summary = build_corpus(out, cache_dir=tmp_path / "cache", progress=True)
    assert "apt-get/dpkg not found" in capsys.readouterr().err
    assert set(summary.unavailable) == set(corpus.DEBIAN_PACKAGES)
    rows = read_manifest(out / "manifest.csv")
    assert rows == summary.rows and len(rows) == len(corpus.SKIMAGE_FILES)
    assert {row["source"] for row in rows} == {"scikit-image"}
    counts = summary.counts()
    assert counts[("content", "scikit-image")] == 6 and counts[("style", "scikit-image")] == 4
    for row in rows:
        assert list(row) == list(corpus.MANIFEST_COLUMNS)
        with Image.open(out / row["file"]) as image:
            assert image.mode == "RGB"
            assert image.size == (int(row["width"]), int(row["height"]))
        assert row["licence"]
    assert "grey, stored as RGB" in next(r["note"] for r in rows if "brick" in r["file"])
    assert "6 content, 4 style" in str(summary)

    again = build_corpus(out, cache_dir=tmp_path / "cache", progress=False)
    assert again.written == 0 and again.reused == len(rows) and again.rows == rows


def test_build_from_cached_debian_trees(tmp_path: Path, monkeypatch) -> None:
    """Unpacked packages already in the cache are used without apt (as on a second build)."""
    _no_apt(monkeypatch)
    monkeypatch.setattr(corpus, "SKIMAGE_FILES", {})  # only the fake packages below
    cache = tmp_path / "cache"
    gimp = cache / "extracted" / "gimp-data"
    patterns = gimp / "usr/share/gimp/2.0/patterns"
    (patterns / "Stone").mkdir(parents=True)
    (patterns / "Stone" / "grey.pat").write_bytes(_pat_bytes(np.full((64, 48), 100)))
    (patterns / "Stone" / "rgba.pat").write_bytes(
        _pat_bytes(np.dstack([np.zeros((40, 40, 3)), np.full((40, 40), 255)]))
    )
    (patterns / "tiny.pat").write_bytes(_pat_bytes(np.zeros((4, 4))))  # a dither matrix: left out
    (patterns / "broken.pat").write_bytes(b"GPAT nonsense")
    (gimp / "usr/share/doc/gimp-data").mkdir(parents=True)
    (gimp / "usr/share/doc/gimp-data/copyright").write_text("Files: *\nLicense: GPL-3+\n")
    (gimp / ".complete").touch()
    mate = cache / "extracted" / "mate-backgrounds"
    nature = mate / corpus.MATE_ROOT / "nature"
    nature.mkdir(parents=True)
    Image.new("RGB", (2048, 1536), (10, 120, 30)).save(nature / "Aqua.jpg")
    Image.new("RGB", (300, 200)).save(nature / "Unknown.jpg")  # not in the reviewed list
    (mate / ".complete").touch()

    out = tmp_path / "corpus"
    summary = build_corpus(out, cache_dir=cache, progress=False)
    rows = {row["file"]: row for row in summary.rows}
    assert set(rows) == {
        "content/mate__nature-Aqua.jpg",
        "style/gimp-data__Stone-grey.png",
        "style/gimp-data__Stone-rgba.png",
    }
    aqua = rows["content/mate__nature-Aqua.jpg"]
    assert (aqua["width"], aqua["height"]) == ("1024", "768") and aqua["licence"] == "GPL-2+"
    grey = rows["style/gimp-data__Stone-grey.png"]
    assert (grey["width"], grey["height"]) == ("288", "256")
    assert "tiled 6x4 from 48x64" in grey["note"] and "'Test pattern'" in grey["note"]
    assert sorted(summary.unavailable) == ["gimp-data-extras", "krita-data"]
    skipped = "\n".join(summary.skipped)
    assert "tiny" in skipped and "broken" in skipped and "Unknown.jpg" in skipped
    assert (out / "licenses" / "gimp-data.copyright").read_text().startswith("Files: *")

    # re-run without the packages: the rows already built stay in the manifest
    monkeypatch.setattr(corpus, "DEBIAN_PACKAGES", ())
    again = build_corpus(out, cache_dir=tmp_path / "empty", progress=False)
    assert {row["file"] for row in again.rows} == set(rows)


class FakeApt:
    """Stands in for subprocess.run: records commands and plays apt-get / dpkg."""

    def __init__(self, download_error: str | None = None, lists_missing: bool = False) -> None:
        self.commands: list[list[str]] = []
        self.download_error = download_error
        self.lists_missing = lists_missing

    def __call__(self, command, cwd=None, **kwargs) -> subprocess.CompletedProcess:
        command = [c for c in command if c not in ("-o", "APT::Sandbox::User=root")]
        self.commands.append(command)
        if command[:2] == ["apt-get", "update"]:
            self.lists_missing = False
            return subprocess.CompletedProcess(command, 0, "", "")
        if command[:2] == ["apt-get", "download"]:
            if self.lists_missing:
                return self._fail(command, f"E: Unable to locate package {command[2]}")
            if self.download_error:
                return self._fail(command, self.download_error)
            (Path(cwd) / f"{command[2]}_1.0_all.deb").write_bytes(b"!<arch>")
            return subprocess.CompletedProcess(command, 0, "", "")
        if command[:2] == ["dpkg", "-x"]:
            package = Path(command[2]).name.split("_")[0]
            target = Path(command[3])
            (target / "usr/share/doc" / package).mkdir(parents=True)
            (target / "usr/share/doc" / package / "copyright").write_text(f"{package} licence")
            if package == "mate-backgrounds":
                nature = target / corpus.MATE_ROOT / "nature"
                nature.mkdir(parents=True)
                Image.new("RGB", (640, 480), "green").save(nature / "Aqua.jpg")
            return subprocess.CompletedProcess(command, 0, "", "")
        raise AssertionError(f"unexpected command {command}")

    @staticmethod
    def _fail(command, message: str) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(command, 100, "", message + "\n")


@pytest.fixture()
def apt_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus.shutil, "which", lambda cmd: f"/usr/bin/{cmd}")
    monkeypatch.setattr(corpus, "SKIMAGE_FILES", {})


def test_apt_offline_gives_up_after_one_failure(tmp_path: Path, monkeypatch, apt_present,
                                                 capsys) -> None:
    monkeypatch.setattr(corpus, "SKIMAGE_FILES", {"chelsea.png": CHELSEA})
    fake = FakeApt(download_error="E: Failed to fetch http://deb.debian.org/x  Temporary "
                                  "failure resolving 'deb.debian.org'")
    monkeypatch.setattr(corpus.subprocess, "run", fake)
    summary = build_corpus(tmp_path / "corpus", cache_dir=tmp_path / "cache", progress=True)
    assert fake.commands == [["apt-get", "download", "mate-backgrounds"]]  # no retries, no update
    err = capsys.readouterr().err
    assert err.count("failed") == 1 and "Temporary failure resolving" in err
    assert set(summary.unavailable) == set(corpus.DEBIAN_PACKAGES)
    assert [row["file"] for row in summary.rows] == ["content/skimage__chelsea.png"]


def test_apt_update_when_lists_are_missing_then_cached(tmp_path: Path, monkeypatch,
                                                       apt_present) -> None:
    fake = FakeApt(lists_missing=True)
    monkeypatch.setattr(corpus.subprocess, "run", fake)
    cache = tmp_path / "cache"
    summary = build_corpus(tmp_path / "corpus", cache_dir=cache, progress=False)
    assert fake.commands[:3] == [["apt-get", "download", "mate-backgrounds"],
                                 ["apt-get", "update"],
                                 ["apt-get", "download", "mate-backgrounds"]]
    assert sum(c[:2] == ["dpkg", "-x"] for c in fake.commands) == len(corpus.DEBIAN_PACKAGES)
    assert summary.unavailable == []
    assert [row["file"] for row in summary.rows] == ["content/mate__nature-Aqua.jpg"]
    licences = {p.name for p in (tmp_path / "corpus" / "licenses").iterdir()}
    assert licences >= {f"{p}.copyright" for p in corpus.DEBIAN_PACKAGES}
    # second build: everything comes from the cache, no command runs
    fake.commands.clear()
    again = build_corpus(tmp_path / "corpus", cache_dir=cache, progress=False)
    assert fake.commands == [] and again.reused == 1
