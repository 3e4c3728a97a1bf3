"""Hostile image files for the reliability tests and the load test: every kind we guard against.

`hostile_files(folder)` writes them and returns {kind: path}; `expected_ok` says which of them
are valid images (the loader must return a correct RGB image) and which must be refused with
one clear line. Everything is tiny, so building the set costs milliseconds.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# kinds that are valid images: the loader returns an RGB image of the given (w, h) after EXIF
VALID_SIZES = {
    "rgb_png": (24, 16), "rgb_jpeg": (24, 16), "rgb_webp": (24, 16), "one_by_one": (1, 1),
    "tall_3x5000": (3, 5000), "wide_5000x3": (5000, 3), "grey_l": (24, 16), "grey_alpha_la": (24, 16),
    "bilevel_1": (24, 16), "grey16_png": (24, 16), "int32_tiff": (24, 16), "float_tiff": (24, 16),
    "float_nan_tiff": (24, 16), "cmyk_jpeg": (24, 16), "cmyk_tiff": (24, 16), "palette_png": (24, 16),
    "palette_transparent_png": (24, 16), "transparent_gif": (24, 16), "rgba_png": (24, 16),
    "animated_gif": (24, 16), "animated_webp": (24, 16), "lab_tiff": (24, 16),
    "bmp": (24, 16), "uppercase_suffix.JPG": (24, 16), "wrong_suffix_png_as.jpg": (24, 16),
    **{f"exif_orientation_{o}": (24, 16) for o in range(1, 9)},  # upright after EXIF
}
INVALID = (
    "zero_bytes_png", "zero_bytes_jpeg", "zero_bytes_webp", "random_bytes_png", "random_bytes_jpeg",
    "text_as_png", "truncated_png", "truncated_jpeg", "truncated_webp", "truncated_gif",
    "bomb_png", "bomb_jpeg", "bomb_gif", "bomb_webp", "folder_as_file.png", "missing.png",
    "eps_as_png",
)
# corrupted bytes inside a valid file: either outcome is allowed (some decoders do not notice);
# PIL cannot read back its own YCbCr TIFFs (refused with a clear line is fine)
EITHER = ("ycbcr_tiff", "corrupt_middle_png", "corrupt_middle_jpeg", "corrupt_middle_webp", "bad_exif_jpeg")


def pattern(w: int = 24, h: int = 16) -> np.ndarray:
    """An asymmetric colour image (a bright corner marks the top left), uint8 h x w x 3."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) * 255 // max(w + h - 2, 1)], -1)
    img[: max(h // 4, 1), : max(w // 4, 1)] = 255
    return img.astype(np.uint8)


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(w: int = 100_000, h: int = 100_000) -> bytes:
    """A valid PNG header declaring w x h pixels with a few bytes of data (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + _chunk(b"IEND", b"")


def jpeg_with_size(data: bytes, w: int, h: int) -> bytes:
    """Patch a baseline JPEG's SOF0 frame size (JPEG has no checksum)."""
    i = data.index(b"\xff\xc0")
    return data[: i + 5] + struct.pack(">HH", h, w) + data[i + 9 :]


def gif_bomb() -> bytes:
    data = bytearray(encode(Image.fromarray(pattern()).convert("P"), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)  # logical screen
    i = data.index(b",")  # image descriptor: left, top, width, height
    data[i + 5 : i + 9] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def webp_bomb() -> bytes:
    """A lossless WebP whose VP8L header declares 16384 x 16384."""
    data = bytearray(encode(Image.fromarray(pattern()), "WEBP", lossless=True))
    i = data.index(b"VP8L") + 8 + 1  # chunk header, then the signature byte 0x2f
    bits = int.from_bytes(data[i : i + 4], "little")
    bits = (bits & ~0x0FFFFFFF) | (16383) | (16383 << 14)
    data[i : i + 4] = bits.to_bytes(4, "little")
    return bytes(data)


def _exif_jpeg(orientation: int) -> bytes:
    """A JPEG of the *stored* pixels whose EXIF orientation maps them back to `pattern()`."""
    from PIL import ImageOps

    upright = Image.fromarray(pattern())
    # the stored image is the inverse transform of what the viewer should see
    inverse = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
               6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}[orientation]
    stored = upright if inverse is None else upright.transpose(inverse)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    check = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert check.size == upright.size, (orientation, check.size)
    return data


def expected_upright(kind: str) -> np.ndarray | None:
    """What an EXIF kind must look like after loading (the upright pattern), else None."""
    if kind.startswith("exif_orientation_"):
        return pattern()
    return None


def hostile_bytes() -> dict[str, bytes]:
    rgb = Image.fromarray(pattern())
    png, jpeg, webp = encode(rgb, "PNG"), encode(rgb, "JPEG", quality=90), encode(rgb, "WEBP", quality=80)
    gif = encode(rgb.convert("P"), "GIF")
    rng = np.random.default_rng(16)
    grey16 = Image.fromarray((np.asarray(rgb.convert("L"), np.uint16) * 257).astype(np.uint16))
    floats = np.asarray(rgb.convert("L"), np.float32) / 255
    nan = floats.copy()
    nan[2:5, 3:9] = np.nan
    nan[0, 0] = np.inf
    palette = rgb.convert("P")
    palette.info["transparency"] = 0
    frames = [Image.fromarray(np.roll(pattern(), k, axis=1)) for k in range(3)]

    def corrupt(data: bytes) -> bytes:
        b = bytearray(data)
        for i in range(len(b) // 3, len(b) // 3 + 12):
            b[i] ^= 0x5A
        return bytes(b)

    out = {
        "rgb_png": png, "rgb_jpeg": jpeg, "rgb_webp": webp,
        "one_by_one": encode(Image.new("RGB", (1, 1), (200, 30, 90)), "PNG"),
        "tall_3x5000": encode(Image.fromarray(pattern(3, 5000)), "PNG"),
        "wide_5000x3": encode(Image.fromarray(pattern(5000, 3)), "PNG"),
        "grey_l": encode(rgb.convert("L"), "PNG"), "grey_alpha_la": encode(rgb.convert("LA"), "PNG"),
        "bilevel_1": encode(rgb.convert("1"), "PNG"), "grey16_png": encode(grey16, "PNG"),
        "int32_tiff": encode(Image.fromarray(np.asarray(grey16, np.int32)), "TIFF"),
        "float_tiff": encode(Image.fromarray(floats), "TIFF"),
        "float_nan_tiff": encode(Image.fromarray(nan), "TIFF"),
        "cmyk_jpeg": encode(rgb.convert("CMYK"), "JPEG"), "cmyk_tiff": encode(rgb.convert("CMYK"), "TIFF"),
        "palette_png": encode(rgb.convert("P"), "PNG"), "palette_transparent_png": encode(palette, "PNG"),
        "transparent_gif": encode(palette, "GIF", transparency=0),
        "rgba_png": encode(rgb.convert("RGBA"), "PNG"),
        "animated_gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0),
        "animated_webp": encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50),
        "lab_tiff": encode(rgb.convert("LAB"), "TIFF"), "ycbcr_tiff": encode(rgb.convert("YCbCr"), "TIFF"),
        "bmp": encode(rgb, "BMP"), "uppercase_suffix.JPG": jpeg, "wrong_suffix_png_as.jpg": png,
        **{f"exif_orientation_{o}": _exif_jpeg(o) for o in range(1, 9)},
        "zero_bytes_png": b"", "zero_bytes_jpeg": b"", "zero_bytes_webp": b"",
        "random_bytes_png": rng.bytes(3000), "random_bytes_jpeg": b"\xff\xd8\xff\xe0" + rng.bytes(3000),
        "text_as_png": b"this is not an image\n" * 20,
        "truncated_png": png[: len(png) // 2], "truncated_jpeg": jpeg[: len(jpeg) // 2],
        "truncated_webp": webp[: len(webp) // 2], "truncated_gif": gif[: len(gif) // 2],
        "bomb_png": png_bomb(), "bomb_jpeg": jpeg_with_size(jpeg, 60000, 60000), "bomb_gif": gif_bomb(),
        "bomb_webp": webp_bomb(),
        "eps_as_png": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        "corrupt_middle_png": corrupt(png), "corrupt_middle_jpeg": corrupt(jpeg), "corrupt_middle_webp": corrupt(webp),
        "bad_exif_jpeg": jpeg[:2] + b"\xff\xe1\x00\x20Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\x01" * 14 + jpeg[2:],
    }
    return out


def _suffix(kind: str) -> str:
    if "." in kind:
        return ""
    for key, suffix in (("png", ".png"), ("jpeg", ".jpg"), ("webp", ".webp"), ("gif", ".gif"), ("tiff", ".tif"), ("bmp", ".bmp")):
        if kind.endswith(key):
            return suffix
    return ".png" if not kind.startswith("exif") else ".jpg"


def hostile_files(folder: Path) -> dict[str, Path]:
    """Write every kind into `folder`; returns {kind: path} (also the folder and missing cases)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, data in hostile_bytes().items():
        path = folder / f"{kind}{_suffix(kind)}"
        path.write_bytes(data)
        paths[kind] = path
    (folder / "folder_as_file.png").mkdir(exist_ok=True)
    paths["folder_as_file.png"] = folder / "folder_as_file.png"
    paths["missing.png"] = folder / "missing.png"
    return paths
