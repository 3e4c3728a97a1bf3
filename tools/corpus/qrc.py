"""Read Qt binary resource files (``.rcc``): GCompris ships its images inside them.

Format (qtbase ``src/corelib/io/qresource.cpp``): a ``qres`` header with offsets to a node
tree, a names table and a data table. Each tree node is 14 bytes (version 1) or 22 bytes
(version 2+, with a modification time): name offset, flags, then for a directory the child
count and first child index, else locale and data offset. Data entries are a 32-bit length
then the bytes; flag 1 means zlib (``qCompress``: 4-byte length, then a zlib stream).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Iterator

COMPRESSED, DIRECTORY, COMPRESSED_ZSTD = 1, 2, 4


class RccError(ValueError):
    pass


def iter_rcc(path: Path) -> Iterator[tuple[str, bytes]]:
    """Yield ``(path inside the resource, bytes)`` for every file in an ``.rcc``."""
    blob = Path(path).read_bytes()
    if blob[:4] != b"qres":
        raise RccError(f"{path}: not a Qt resource file")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    node_size = 14 if version == 1 else 22

    def name(index: int) -> str:
        at = names + index
        (length,) = struct.unpack(">H", blob[at : at + 2])
        return blob[at + 6 : at + 6 + 2 * length].decode("utf-16-be")

    def walk(node: int, prefix: str) -> Iterator[tuple[str, bytes]]:
        at = tree + node * node_size
        name_offset, flags = struct.unpack(">IH", blob[at : at + 6])
        label = name(name_offset) if node else ""
        full = f"{prefix}/{label}" if label else prefix
        if flags & DIRECTORY:
            count, first = struct.unpack(">II", blob[at + 6 : at + 14])
            for child in range(first, first + count):
                yield from walk(child, full)
            return
        (offset,) = struct.unpack(">I", blob[at + 10 : at + 14])
        start = data + offset
        (size,) = struct.unpack(">I", blob[start : start + 4])
        payload = blob[start + 4 : start + 4 + size]
        if flags & COMPRESSED_ZSTD:
            return  # not used by the packages read here
        if flags & COMPRESSED:
            payload = zlib.decompress(payload[4:])
        yield full.lstrip("/"), payload

    yield from walk(0, "")
