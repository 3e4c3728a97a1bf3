"""What one request may ask of the web studio: upload size, megapixels, output size, queue.

Every limit has a clear message for the person on the other side of the page; the checks read
only the image header (size and format), so an oversized or hostile upload is refused before it
is decoded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import FlowstyleError
from ..image.io import MAX_PIXELS, header_size


class LimitError(ValueError):
    """A request outside the studio's limits; the message is shown to the user as is."""


@dataclass(frozen=True)
class Limits:
    """The studio's limits. Defaults suit a 2-core CPU machine serving a few people.

    max_upload_mb: size of one uploaded file (the upload itself is refused beyond it).
    max_megapixels: declared pixel count of one input image, checked on the header before
        decoding; never above the image reader's own decompression-bomb limit.
    max_side: the largest output side the page offers (CPU time grows with its square).
    max_styles: style images per request.
    concurrency: stylizations run at once (1 on a CPU: two would only share the cores).
    max_queue: requests waiting beyond those running; more get a "busy" answer at once.
    keep_results / keep_minutes: the result store keeps at most this many files, this long.
    """

    max_upload_mb: float = 20.0
    max_megapixels: float = 25.0
    max_side: int = 1024
    max_styles: int = 4
    concurrency: int = 1
    max_queue: int = 4
    keep_results: int = 50
    keep_minutes: float = 60.0

    def __post_init__(self) -> None:
        if self.max_megapixels * 1e6 > MAX_PIXELS:
            raise ValueError(f"max_megapixels must be at most {MAX_PIXELS / 1e6:g} (the image reader's limit)")
        for name in ("max_upload_mb", "max_megapixels", "keep_minutes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        for name in ("max_side", "max_styles", "concurrency", "max_queue", "keep_results"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)

    def check_image_file(self, path: str | os.PathLike, what: str) -> None:
        """Refuse a file that is too big, not an image, or has too many pixels (header only)."""
        path = Path(path)
        size = path.stat().st_size
        if size > self.max_upload_bytes:
            raise LimitError(
                f"The {what} is {size / 2**20:.1f} MB; this studio takes files up to {self.max_upload_mb:g} MB."
            )
        try:
            width, height = header_size(path)
        except FlowstyleError:
            raise LimitError(f"The {what} is not an image this studio can read (JPEG, PNG, WebP, ...).") from None
        megapixels = width * height / 1e6
        if megapixels > self.max_megapixels:
            raise LimitError(
                f"The {what} is {width}x{height} ({megapixels:.1f} megapixels); this studio takes images "
                f"up to {self.max_megapixels:g} megapixels. Please downscale it and try again."
            )
