"""The web studio's result store: PNG files under random names in one folder, bounded and cleaned.

Results are reachable only by the name the store gave them (32 hex digits + ".png"); any other
name, including anything with a path separator, is unknown. Old results go when the store holds
more than `keep` files or a file is older than `max_age` seconds.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from pathlib import Path

from PIL import Image

from ..image.io import save_image

NAME = re.compile(r"^[0-9a-f]{32}\.png$")


class ResultStore:
    def __init__(self, root: str | Path, keep: int = 50, max_age: float = 3600.0) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.max_age = max_age
        self._lock = threading.Lock()

    def save(self, image: Image.Image) -> Path:
        """Write `image` as PNG under a fresh random name; returns its path in the store."""
        path = self.root / f"{secrets.token_hex(16)}.png"
        save_image(image, path)
        self.clean()
        return path

    def path(self, name: str) -> Path | None:
        """The stored file called `name`, or None for any name the store did not give out."""
        if not isinstance(name, str) or not NAME.match(name):
            return None
        path = self.root / name
        return path if path.is_file() else None

    def names(self) -> list[str]:
        return sorted(p.name for p in self._files())

    def _files(self) -> list[Path]:
        return [p for p in self.root.iterdir() if NAME.match(p.name) and p.is_file()]

    def clean(self, now: float | None = None) -> int:
        """Remove results past the age or count bound; returns how many went."""
        now = time.time() if now is None else now
        removed = 0
        with self._lock:
            files = []
            for p in self._files():
                try:
                    files.append((p.stat().st_mtime, p))
                except FileNotFoundError:
                    continue
            files.sort(reverse=True)  # newest first
            for i, (mtime, p) in enumerate(files):
                if i >= self.keep or now - mtime > self.max_age:
                    p.unlink(missing_ok=True)
                    removed += 1
        return removed
