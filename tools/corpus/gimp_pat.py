"""Reader for GIMP pattern files (``.pat``).

GIMP and Krita ship their texture patterns in this small format, which Pillow cannot open.
The corpus builder (:mod:`tools.corpus.build`) turns them into PNG style images.

Layout (all integers big-endian uint32)::

    header_size  version  width  height  bytes_per_pixel  magic b"GPAT"
    name: UTF-8, NUL-terminated, filling the header up to header_size
    pixels: height * width * bytes_per_pixel bytes, row-major

bytes_per_pixel: 1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGBA.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from flowstyle.errors import FlowstyleError

MAGIC = b"GPAT"
_HEADER = struct.Struct(">5I4s")  # 24 bytes before the name
_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
# A sanity bound so that a corrupt header cannot make us allocate gigabytes.
_MAX_SIDE = 16384


@dataclass(frozen=True)
class GimpPattern:
    """A decoded pattern: its name (from the header) and its pixels as a PIL image."""

    name: str
    image: Image.Image


def parse_pat(data: bytes, source: str = "<bytes>") -> GimpPattern:
    """Decode the bytes of a ``.pat`` file; raise FlowstyleError naming ``source`` if invalid."""
    if len(data) < _HEADER.size:
        raise FlowstyleError(f"{source}: not a GIMP pattern (file too short for the header)")
    header_size, version, width, height, bpp, magic = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FlowstyleError(f"{source}: not a GIMP pattern (magic {magic!r}, expected b'GPAT')")
    if bpp not in _MODES:
        raise FlowstyleError(f"{source}: unsupported bytes per pixel {bpp} (expected 1-4)")
    if not (0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
        raise FlowstyleError(f"{source}: implausible pattern size {width}x{height}")
    if header_size < _HEADER.size or header_size > len(data):
        raise FlowstyleError(f"{source}: bad header size {header_size}")
    raw_name = data[_HEADER.size : header_size].split(b"\0", 1)[0]
    name = raw_name.decode("utf-8", errors="replace")
    n_bytes = width * height * bpp
    pixels = data[header_size : header_size + n_bytes]
    if len(pixels) != n_bytes:
        raise FlowstyleError(
            f"{source}: truncated pixel data ({len(pixels)} of {n_bytes} bytes, version {version})"
        )
    shape = (height, width) if bpp == 1 else (height, width, bpp)
    array = np.frombuffer(pixels, dtype=np.uint8).reshape(shape)
    return GimpPattern(name=name, image=Image.fromarray(array, _MODES[bpp]))


def read_pat(path: str | Path) -> GimpPattern:
    """Read a ``.pat`` file from disk (see :func:`parse_pat`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FlowstyleError(f"cannot read GIMP pattern {path}: {exc.strerror or exc}") from exc
    return parse_pat(data, source=str(path))


def encode_pat(image: Image.Image, name: str = "pattern") -> bytes:
    """Encode a PIL image as ``.pat`` bytes (used by the tests to make fixtures)."""
    modes = {mode: bpp for bpp, mode in _MODES.items()}
    if image.mode not in modes:
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    bpp = modes[image.mode]
    name_bytes = name.encode("utf-8") + b"\0"
    header_size = _HEADER.size + len(name_bytes)
    header = _HEADER.pack(header_size, 1, image.width, image.height, bpp, MAGIC)
    return header + name_bytes + np.asarray(image, dtype=np.uint8).tobytes()
