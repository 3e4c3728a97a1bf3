"""Image files: reading (EXIF orientation, any mode -> 8-bit RGB), the one list of image suffixes,
the one folder scan, and atomic writing (images, and any file via `atomic_output`)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import FlowstyleError

ImageLike = Union[str, os.PathLike, Image.Image, torch.Tensor, np.ndarray]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
# The decoders a file may reach, whatever its name: never PIL's others (EPS runs Ghostscript,
# and rarely used parsers are where malformed files hurt). JPEG covers cameras' MPO files.
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")

# The largest image (in pixels, as declared in the file's header) that is decoded at all; it is
# checked before any pixel is decoded, so a decompression bomb costs nothing. 100 MP decodes to
# 0.3 GB of RGB and 1.2 GB as a float tensor: safe on an 8 GB machine, and above any camera's
# photo (a 108 MP phone shot needs FLOWSTYLE_MAX_MEGAPIXELS=110). Override with that variable.
MAX_PIXELS = 100_000_000
MAX_PIXELS_ENV = "FLOWSTYLE_MAX_MEGAPIXELS"


def max_pixels() -> int:
    """The decode limit in pixels: FLOWSTYLE_MAX_MEGAPIXELS (megapixels) if set, else MAX_PIXELS."""
    value = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not value:
        return MAX_PIXELS
    try:
        megapixels = float(value)
    except ValueError:
        raise FlowstyleError(f"{MAX_PIXELS_ENV} must be a number of megapixels, got {value!r}") from None
    if not 0 < megapixels < 1e6:
        raise FlowstyleError(f"{MAX_PIXELS_ENV} must be above 0, got {value!r}")
    return int(megapixels * 1_000_000)


def _too_large(w: int, h: int, limit: int, path: Path) -> FlowstyleError:
    return FlowstyleError(
        f"image too large ({w}x{h}, {w * h / 1e6:.1f} MP; the limit is {limit / 1e6:g} MP, "
        f"raise it with {MAX_PIXELS_ENV}): {path}"
    )


def _flatten_alpha(img: Image.Image) -> Image.Image:
    """Composite transparent images on white (what a viewer shows) instead of black."""
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def open_image(path: str | os.PathLike, min_side: int | None = None) -> Image.Image:
    """Open an image file as RGB with its EXIF orientation applied, or raise FlowstyleError.

    The size is read from the header and checked against `max_pixels()` before decoding.
    Animated files give their first frame. Anything a decoder chokes on (truncated, corrupt,
    not an image, an unsupported variant) is one FlowstyleError, never a traceback.
    min_side: JPEGs may then be decoded at 1/2, 1/4 or 1/8 scale (libjpeg's `draft`) while
    both sides stay >= min_side: a large scan costs a fraction of a full decode.
    """
    path = Path(path)
    try:
        if not path.exists():
            raise FlowstyleError(f"no such file: {path}")
        if path.is_dir():
            raise FlowstyleError(f"expected an image file, got a folder: {path}")
    except OSError as exc:  # a name too long, a loop of symlinks, no permission on a folder
        raise FlowstyleError(f"cannot open {path}: {exc.strerror or exc}") from None
    limit = max_pixels()
    Image.MAX_IMAGE_PIXELS = limit  # PIL's own bomb check (at open) agrees with ours
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's chatter about odd EXIF or metadata
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as img:
                if img.width * img.height > limit:
                    raise _too_large(img.width, img.height, limit, path)
                if min_side is not None and img.format == "JPEG":
                    img.draft("RGB", (min_side, min_side))
                img.load()
                img = to_rgb(ImageOps.exif_transpose(img))
    except FlowstyleError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(*_declared_size(path), limit, path) from None
    except UnidentifiedImageError:
        raise FlowstyleError(f"not a readable image: {path}") from None
    except MemoryError:
        raise
    except Exception as exc:  # PIL's decoders raise anything on malformed data (struct.error, ...)
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FlowstyleError(f"corrupt or truncated image: {path} ({detail})") from None
    return img


def header_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as the file's header declares it, in the formats we read; nothing is
    decoded and PIL's bomb check is off, so a decompression bomb reports its real declared size
    (callers compare it with their own limit). FlowstyleError if the file is not such an image."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path, formats=IMAGE_FORMATS) as img:
                return img.size
    except Exception:
        raise FlowstyleError(f"not a readable image: {path}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _declared_size(path: Path) -> tuple[int, int]:
    """The header's size for a too-large message; (0, 0) if even the header is unreadable."""
    try:
        return header_size(path)
    except FlowstyleError:
        return (0, 0)


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode (palette, grey, 16-bit, CMYK, alpha) -> 8-bit RGB."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        return _flatten_alpha(img)
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        # 16-bit files use their full range; 32-bit int / float ones are judged by their values
        hi = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / hi * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    return img.convert("RGB")


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    """(3, H, W) or (1, 3, H, W) tensor in [0, 1] -> RGB PIL image (clamped, rounded)."""
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError("expected a single image, got a batch")
        t = t[0]
    arr = (t.detach().float().clamp(0, 1) * 255.0).round().to(torch.uint8)
    return Image.fromarray(arr.permute(1, 2, 0).cpu().numpy(), "RGB")


def image_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL image -> (1, 3, H, W) float32 tensor in [0, 1]."""
    arr = np.asarray(to_rgb(img), dtype=np.float32) / 255.0
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).unsqueeze(0)


def load_image(src: ImageLike) -> Image.Image:
    """Accept a path, a PIL image, a (3,H,W)/(1,3,H,W) tensor in [0,1] or an HxWx3 uint8 array."""
    if isinstance(src, Image.Image):
        return to_rgb(ImageOps.exif_transpose(src))
    if isinstance(src, torch.Tensor):
        if src.dim() not in (3, 4) or src.shape[-3] != 3:
            raise FlowstyleError(f"expected an RGB tensor (3, H, W), got shape {tuple(src.shape)}")
        return tensor_to_image(src)
    if isinstance(src, np.ndarray):
        if src.dtype != np.uint8:
            src = np.clip(src * (255.0 if src.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        img = Image.fromarray(src)
        return to_rgb(img)
    if isinstance(src, (str, os.PathLike)):
        return open_image(src)
    raise FlowstyleError(f"cannot read an image from a {type(src).__name__}")


def load_tensor(src: ImageLike) -> torch.Tensor:
    """Like `load_image` but returns (1, 3, H, W) float in [0, 1]; tensors pass through."""
    if isinstance(src, torch.Tensor) and src.dim() in (3, 4) and src.shape[-3] == 3:
        t = src.detach().float()
        return (t if t.dim() == 4 else t.unsqueeze(0)).clamp(0, 1)
    return image_to_tensor(load_image(src))


def _default_file_mode() -> int:
    """What open() would give a new file (0666 minus the umask); mkstemp alone gives 0600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


TEMP_MARK = ".flowstyle-tmp-"  # in every temporary file's name: `.{name}{TEMP_MARK}{pid}-XXXXXXXX{suffix}`


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def remove_stale_temps(path: Path) -> int:
    """Delete the temporary files a killed writer of `path` left behind (its process is gone).

    A SIGKILL skips every `finally`, so `atomic_output` cannot clean up after itself then; the
    next write of the same file does. Temporaries of live processes are left alone.
    """
    removed = 0
    prefix = f".{path.name}{TEMP_MARK}"
    try:
        entries = [e for e in os.scandir(path.parent or ".") if e.name.startswith(prefix)]
    except OSError:
        return 0
    for entry in entries:
        pid = entry.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def make_temp(path: Path, suffix: str | None = None) -> str:
    """A new empty temporary file beside `path` (normal permissions), named so that
    `remove_stale_temps` can tell whether its writer still runs."""
    path = Path(path)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}{TEMP_MARK}{os.getpid()}-", suffix=path.suffix if suffix is None else suffix,
        dir=path.parent or ".",
    )
    os.close(fd)
    os.chmod(tmp, _default_file_mode())
    return tmp


@contextmanager
def temporary_file(path: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a new temporary file beside `path` (see `make_temp`); delete it when the block ends
    (an intermediate file, never the output itself)."""
    tmp = make_temp(Path(path), suffix)
    try:
        yield Path(tmp)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_output(path: Path) -> Iterator[str]:
    """Yield a temporary file beside `path` (normal permissions); rename it onto `path` when the
    block succeeds, delete it when it fails: readers never see a half-written file, and what a
    killed process leaves is removed by the next write of the same file."""
    tmp = make_temp(Path(path))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_image(img: Image.Image, path: str | os.PathLike, quality: int = 95) -> Path:
    """Write atomically: a temporary file in the same folder, renamed when complete."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise FlowstyleError(f"unknown output image format {path.suffix!r} for {path}")
    if path.parent and not path.parent.is_dir():
        raise FlowstyleError(f"output folder does not exist: {path.parent}")
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
        img.save(handle, format=fmt, **options)
    return path


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def find_images(root: str | Path) -> list[Path]:
    """All image files under ``root``, recursively, in a platform-independent sorted order.

    Extensions are matched case-insensitively (COCO's ``train2014/*.jpg``, WikiArt's
    ``Style_Name/*.jpg`` and camera ``.JPG`` files all work as they are). Hidden files and
    folders (names starting with ".", e.g. macOS ``._x.jpg`` resource forks) are ignored.
    Symlinked folders are followed once. Raises FlowstyleError if ``root`` is missing, not a
    folder, or holds no images.
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise FlowstyleError(f"image folder not found: {root}")
    if not root.is_dir():
        raise FlowstyleError(f"not a folder: {root}")
    found: list[Path] = []
    seen: set[str] = set()  # real paths of visited folders, against symlink loops
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                found.append(Path(folder, name))
    if not found:
        extensions = ", ".join(sorted(e.lstrip(".") for e in IMAGE_SUFFIXES))
        raise FlowstyleError(f"no images ({extensions}) found in {root}")
    # sort by the relative path's parts, so the order is the same on every OS and file system
    found.sort(key=lambda path: path.relative_to(root).parts)
    return found

