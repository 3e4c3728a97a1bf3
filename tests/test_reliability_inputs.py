"""Hostile inputs: every kind of bad file, path and folder through the loader, the API
and the CLI, plus hypothesis fuzzing of the loader. The contract: a correct RGB image, or one
line `flowstyle: error: ...` with exit code 2: no traceback, no NaN pixel, no partial file.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from flowstyle.cli import main
from flowstyle.errors import FlowstyleError
from flowstyle.image import io as image_io
from flowstyle.image.io import open_image
from flowstyle.pipeline import Stylizer

from .hostile import EITHER, INVALID, VALID_SIZES, encode, hostile_bytes, hostile_files, pattern

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TINY = ["--pad", "4", "--recipe", "phases=1"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    return hostile_files(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def finite_outputs(monkeypatch):
    """Every image the pipeline turns into pixels must be finite (no NaN hidden by the uint8 cast)."""
    from flowstyle.pipeline import stylizer as module

    original = module.tensor_to_image

    def checked(t):
        assert torch.isfinite(t).all(), "NaN or Inf pixel"
        return original(t)

    monkeypatch.setattr(module, "tensor_to_image", checked)


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("flowstyle: error: "), err
    assert "Traceback" not in err[0]
    return err[0]


# ------------------------------------------------------------------ the loader, kind by kind
def test_loader_gives_an_rgb_image_or_one_clear_error_for_every_kind(hostile):
    outcomes = {}
    for kind, path in hostile.items():
        try:
            img = open_image(path)
        except FlowstyleError as exc:
            assert "\n" not in str(exc)
            outcomes[kind] = "refused"
            continue
        assert img.mode == "RGB"
        assert np.isfinite(np.asarray(img, np.float64)).all()
        outcomes[kind] = img.size
    for kind, size in VALID_SIZES.items():
        assert outcomes[kind] == size, kind
    for kind in INVALID:
        assert outcomes[kind] == "refused", kind
    assert set(outcomes) == set(VALID_SIZES) | set(INVALID) | set(EITHER)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied(hostile, orientation):
    img = np.asarray(open_image(hostile[f"exif_orientation_{orientation}"]), np.float64)
    expected = pattern().astype(np.float64)
    assert img.shape == expected.shape
    assert np.abs(img - expected).mean() < 8  # JPEG loss only; a wrong orientation is ~80
    assert img[:2, :3].min() > 200  # the bright corner is at the top left


def test_transparent_kinds_are_composited_on_white(hostile):
    assert np.asarray(open_image(hostile["palette_transparent_png"])).max() == 255
    la = np.asarray(open_image(hostile["grey_alpha_la"]))
    assert (la[..., 0] == la[..., 1]).all() and (la[..., 1] == la[..., 2]).all()


def test_nan_in_a_float_tiff_does_not_reach_the_pixels(hostile):
    img = np.asarray(open_image(hostile["float_nan_tiff"]))
    assert img[2:5, 3:9].max() == 0 and img[8:, 12:].max() > 0


def test_bombs_are_refused_from_the_header_before_decoding(hostile, monkeypatch):
    def no_decoding(self, *args, **kwargs):
        raise AssertionError("a bomb was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    for kind in ("bomb_png", "bomb_jpeg", "bomb_gif", "bomb_webp"):
        with pytest.raises(FlowstyleError, match=r"image too large \(\d+x\d+, .* the limit is 100 MP, raise it with FLOWSTYLE_MAX_MEGAPIXELS"):
            open_image(hostile[kind])


def test_megapixel_limit_is_configurable(hostile, monkeypatch):
    assert image_io.max_pixels() == image_io.MAX_PIXELS == 100_000_000
    monkeypatch.setenv("FLOWSTYLE_MAX_MEGAPIXELS", "0.0003")  # 300 px: 24x16 is over
    with pytest.raises(FlowstyleError, match=r"24x16, 0.0 MP; the limit is 0.0003 MP"):
        open_image(hostile["rgb_png"])
    assert open_image(hostile["one_by_one"]).size == (1, 1)
    monkeypatch.setenv("FLOWSTYLE_MAX_MEGAPIXELS", "250")
    assert image_io.max_pixels() == 250_000_000
    with pytest.raises(FlowstyleError, match="the limit is 250 MP"):  # PIL's own check follows ours
        open_image(hostile["bomb_webp"])
    monkeypatch.setenv("FLOWSTYLE_MAX_MEGAPIXELS", "300")
    assert open_image(hostile["rgb_png"]).size == (24, 16)
    for bad in ("lots", "-1", "0"):
        monkeypatch.setenv("FLOWSTYLE_MAX_MEGAPIXELS", bad)
        with pytest.raises(FlowstyleError, match="FLOWSTYLE_MAX_MEGAPIXELS"):
            open_image(hostile["rgb_png"])


def test_other_decoders_are_never_reached(tmp_path):
    path = tmp_path / "x.png"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PPM")
    path.write_bytes(buf.getvalue())
    with pytest.raises(FlowstyleError, match="not a readable image"):
        open_image(path)


# ------------------------------------------------------------------ the loader, fuzzed
_SUFFIXES = st.sampled_from([".png", ".jpg", ".webp", ".gif", ".tif", ".bmp"])


def _check_loader(path: Path) -> None:
    # a mutated header may declare any size: keep what a test may decode small (1 MP)
    saved = os.environ.get("FLOWSTYLE_MAX_MEGAPIXELS")
    os.environ["FLOWSTYLE_MAX_MEGAPIXELS"] = "1"
    try:
        img = open_image(path)
    except FlowstyleError as exc:
        assert "\n" not in str(exc)
        return
    finally:
        if saved is None:
            del os.environ["FLOWSTYLE_MAX_MEGAPIXELS"]
        else:
            os.environ["FLOWSTYLE_MAX_MEGAPIXELS"] = saved
    assert img.mode == "RGB" and img.width * img.height <= 1_000_000
    np.asarray(img)  # the pixels are there


@FUZZ
@given(data=st.binary(max_size=2048), suffix=_SUFFIXES)
def test_fuzz_loader_random_bytes(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    _check_loader(path)


def _bases() -> dict[str, bytes]:
    rgb = Image.fromarray(pattern(20, 12))
    return {
        "png": encode(rgb, "PNG"), "jpg": encode(rgb, "JPEG"), "webp": encode(rgb, "WEBP"),
        "gif": encode(rgb.convert("P"), "GIF"), "tif": encode(rgb, "TIFF"), "bmp": encode(rgb, "BMP"),
        "exif": hostile_bytes()["exif_orientation_6"],
    }


_BASES = _bases()
_MUTATION = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("insert"), st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=64))),
    st.tuples(st.just("header"), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 255)), min_size=1, max_size=4)),
)


def _mutate(data: bytes, mutation) -> bytes:
    kind, arg = mutation
    b = bytearray(data)
    if not b:
        return data
    if kind == "truncate":
        return bytes(b[: int(arg * len(b))])
    if kind == "flip":
        for where, mask in arg:
            b[min(int(where * len(b)), len(b) - 1)] ^= mask
    elif kind == "insert":
        where, extra = arg
        b[int(where * len(b)) : int(where * len(b))] = extra
    else:  # header: overwrite bytes near the start, where sizes and chunk lengths live
        for where, value in arg:
            b[min(where, len(b) - 1)] = value
    return bytes(b)


@FUZZ
@given(base=st.sampled_from(sorted(_BASES)), mutations=st.lists(_MUTATION, min_size=1, max_size=3))
def test_fuzz_loader_corrupted_valid_files(tmp_path, base, mutations):
    data = _BASES[base]
    for mutation in mutations:
        data = _mutate(data, mutation)
    path = tmp_path / f"mutated.{'jpg' if base == 'exif' else base}"
    path.write_bytes(data)
    _check_loader(path)


# ------------------------------------------------------------------ the API, fuzzed
@pytest.fixture(scope="module")
def stylizer(tiny_model):
    return Stylizer(tiny_model)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    h=st.integers(1, 40), w=st.integers(1, 40), mode=st.sampled_from(["RGB", "L", "LA", "RGBA", "P", "CMYK", "I;16", "1", "F"]),
    level=st.sampled_from(["random", "flat", "black", "white"]), as_style=st.booleans(),
    alpha=st.sampled_from([0.0, 1e-6, 0.5, 1.0]), method=st.sampled_from(["adain", "wct"]),
)
def test_fuzz_stylize_api_on_odd_images(stylizer, photos, finite_outputs, h, w, mode, level, as_style, alpha, method):
    rng = np.random.default_rng(h * 41 + w)
    arr = {"random": rng.integers(0, 256, (h, w, 3)), "flat": np.full((h, w, 3), 117), "black": np.zeros((h, w, 3)),
           "white": np.full((h, w, 3), 255)}[level].astype(np.uint8)
    img = Image.fromarray(arr)
    img = img.convert("F") if mode == "F" else img.convert("I") if mode == "I;16" else img.convert(mode)
    content, style = (photos["rocket"], img) if as_style else (img, photos["coffee"])
    try:
        out = stylizer.stylize(content, style, pad=4, recipe=dict(phases=1), alpha=alpha, method=method)
    except FlowstyleError as exc:
        assert "too small" in str(exc)
        return
    assert out.mode == "RGB" and out.size == content.size


# ------------------------------------------------------------------ the CLI, kind by kind
def _cli_case(capsys, out_dir: Path, argv: list[str], expect_size=None) -> str:
    """Run the CLI in-process; returns 'ok' or 'refused' after checking the contract."""
    out_dir.mkdir(parents=True, exist_ok=True)
    before = _listing(out_dir)
    capsys.readouterr()
    code = main([str(a) for a in argv])
    if code == 0:
        out = Path(argv[argv.index("-o") + 1])
        if argv[0] == "video":
            from flowstyle.pipeline.video import probe

            assert probe(out).width > 0
            return "ok"
        img = Image.open(out)
        img.load()
        if expect_size is not None:
            assert img.size == expect_size
        return "ok"
    assert code == 2
    _one_error_line(capsys)
    assert _listing(out_dir) == before, "a refused run left a file"
    return "refused"


def test_cli_every_kind_as_content_style_and_mask(hostile, photo_files, tiny_model_file, tmp_path, capsys, finite_outputs):
    content, style, other = photo_files["astronaut"], photo_files["coffee"], photo_files["chelsea"]
    results = {}
    for kind, path in hostile.items():
        out_dir = tmp_path / kind.replace(".", "_")
        as_content = _cli_case(capsys, out_dir, ["stylize", path, style, "-o", out_dir / "c.png", "--model", tiny_model_file, *TINY])
        as_style = _cli_case(capsys, out_dir, ["stylize", content, path, "-o", out_dir / "s.png", "--model", tiny_model_file, *TINY],
                             expect_size=Image.open(content).size)
        as_mask = None
        if kind in (*INVALID, *EITHER, "bilevel_1", "one_by_one", "grey16_png", "exif_orientation_6"):
            as_mask = _cli_case(capsys, out_dir, ["stylize", content, style, other, "--mask", path, "-o", out_dir / "m.png",
                                                  "--model", tiny_model_file, *TINY], expect_size=Image.open(content).size)
        results[kind] = (as_content, as_style, as_mask)
    for kind in INVALID:
        assert results[kind] == ("refused",) * 3, kind
    longest = max(Image.open(content).size)  # styles are scaled to the content's longest side
    for kind, size in VALID_SIZES.items():
        # a valid image works unless a side is below the squeeze (4 px): 1x1 or 3x5000 content,
        # a 3x5000 style scaled to 64 px long; those are refused with one line
        assert results[kind][0] == ("refused" if min(size) < 4 else "ok"), (kind, results[kind])
        assert results[kind][1] == ("refused" if min(size) * longest / max(size) < 4 else "ok"), (kind, results[kind])
    # a mask's levels pick the styles: two levels for two styles work; these test images have
    # hundreds of levels, which two styles cannot cover (refused with one line, checked above)
    for kind in ("bilevel_1", "one_by_one"):
        assert results[kind][2] == "ok", (kind, results[kind])


def test_cli_bad_paths_and_folders(photo_files, tiny_model_file, tmp_path, capsys):
    content, style = photo_files["astronaut"], photo_files["coffee"]
    latin1 = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"missing-\xfe.png"))  # not UTF-8
    model = ["--model", tiny_model_file, *TINY]
    work = tmp_path / "work"
    work.mkdir()
    copy = work / "photo.png"
    copy.write_bytes(Path(content).read_bytes())
    original = copy.read_bytes()
    cases = {
        "output equal to the input": (["stylize", copy, style, "-o", copy], "overwrite an input"),
        "output equal to the style": (["stylize", content, copy, "-o", copy], "overwrite an input"),
        "output folder inside the content folder": (["stylize", work, style, "-o", work / "styled"], "inside the content folder"),
        "output folder equal to the content folder": (["stylize", work, style, "-o", work], "overwrite an input"),
        "style is a folder": (["stylize", content, work, "-o", tmp_path / "o.png"], "got a folder"),
        "mask is a folder": (["stylize", content, style, style, "--mask", work, "-o", tmp_path / "o.png"], "got a folder"),
        "missing non-UTF-8 name": (["stylize", latin1, style, "-o", tmp_path / "o.png"], "no such file"),
        "name too long": (["stylize", tmp_path / ("x" * 300 + ".png"), style, "-o", tmp_path / "o.png"], "too long"),
        "path too long": (["stylize", "/".join(["y" * 200] * 30) + ".png", style, "-o", tmp_path / "o.png"], "too long"),
        "output name too long": (["stylize", content, style, "-o", tmp_path / ("z" * 300 + ".png")], "too long"),
        "output parent is a file": (["stylize", content, style, "-o", copy / "o.png"], "output folder does not exist"),
        "output folder missing": (["stylize", content, style, "-o", tmp_path / "nowhere" / "o.png"], "output folder does not exist"),
        "unwritable output folder": (["stylize", content, style, "-o", "/proc/flowstyle-out.png"], ""),
    }
    for name, (argv, message) in cases.items():
        capsys.readouterr()
        assert main([str(a) for a in [*argv, *model]]) == 2, name
        line = _one_error_line(capsys)
        assert message in line, (name, line)
    assert copy.read_bytes() == original and _listing(work) == {"photo.png"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_cli_read_only_output_folder(photo_files, tiny_model_file, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["stylize", photo_files["astronaut"], photo_files["coffee"], "-o", str(locked / "o.png"),
                     "--model", tiny_model_file, *TINY]) == 2
        assert "Permission denied" in _one_error_line(capsys)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_cli_folder_of_hostile_files(hostile, tiny_model_file, photo_files, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for kind, path in hostile.items():
        if path.is_file():
            (folder / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out"
    assert main(["stylize", str(folder), photo_files["coffee"], "-o", str(out), "--model", tiny_model_file, *TINY]) == 2
    captured = capsys.readouterr()
    written = {p.name for p in out.iterdir()}
    assert all(not name.startswith(".") for name in written)  # no temporaries left
    for name in written:
        Image.open(out / name).load()
    refused = [line for line in captured.err.splitlines() if line.startswith("skipped ")]
    assert len(written) + len(refused) == sum(1 for p in folder.iterdir())
    assert "Traceback" not in captured.err


def test_cli_non_utf8_paths_in_a_real_process(photo_files, tiny_model_file, tmp_path):
    """A file name that is not UTF-8 (Latin-1 bytes) is read and written, and printed without a crash."""
    folder = os.fsencode(tmp_path)
    name = os.path.join(folder, b"caf\xe9.png")
    with open(name, "wb") as handle:
        handle.write(Path(photo_files["astronaut"]).read_bytes())
    out = os.path.join(folder, b"out-\xff.png")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1]), "LC_ALL": "C.UTF-8"}
    cmd = [sys.executable, "-m", "flowstyle", "stylize", name, os.fsencode(photo_files["coffee"]), b"-o", out,
           b"--model", os.fsencode(tiny_model_file), b"--pad", b"4", b"--recipe", b"phases=1"]
    proc = subprocess.run(cmd, capture_output=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    assert os.path.exists(out) and b"Traceback" not in proc.stderr
    assert proc.stdout.strip().endswith(b"out-\\udcff.png")  # the undecodable byte, escaped
    Image.open(out).load()


# ------------------------------------------------------------------ video files
def test_cli_hostile_video_files(tiny_model_file, photo_files, tmp_path, capsys):
    rng = np.random.default_rng(3)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    files = {
        "zero_bytes.mp4": b"", "random.mp4": rng.bytes(5000), "text.mkv": b"not a video\n" * 50,
    }
    for name, data in files.items():
        (inputs / name).write_bytes(data)
    (inputs / "folder.mp4").mkdir()
    out_dir = tmp_path / "out"
    for name in [*files, "folder.mp4", "missing.mp4"]:
        assert _cli_case(capsys, out_dir, ["video", inputs / name, photo_files["coffee"], "-o", out_dir / "v.mp4",
                                           "--model", tiny_model_file, *TINY]) == "refused", name
    for bad_output in (out_dir / "v.txt", tmp_path / "nowhere" / "v.mp4", inputs / "random.mp4"):
        assert _cli_case(capsys, out_dir, ["video", inputs / "random.mp4", photo_files["coffee"], "-o", bad_output,
                                           "--model", tiny_model_file, *TINY]) == "refused"
    assert _listing(out_dir) == set()
    # ffmpeg reads a still image as a one-frame clip: a valid (if short) video
    still = inputs / "still.mp4"
    still.write_bytes(Path(photo_files["astronaut"]).read_bytes())
    assert _cli_case(capsys, out_dir, ["video", still, photo_files["coffee"], "-o", out_dir / "v.mp4",
                                       "--model", tiny_model_file, *TINY]) == "ok"
    assert "nan" not in capsys.readouterr().out
