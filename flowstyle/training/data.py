"""Training images: a random-crop dataset and a resumable batch stream (files: image/io.py).

Reproducibility is the point of this module. A training run must be resumable bit for bit,
on one process or several, so nothing here keeps hidden random state:

- sample ``i`` of epoch ``e`` is a pure function of ``(seed, e, i)``
  (:meth:`ImageFolderDataset.sample`): its crop and flip come from a generator seeded with
  exactly those three numbers;
- the order of samples is a pure function of ``(seed, epoch)``: one permutation per epoch;
- :func:`batch_iterator` treats training as one endless stream of positions (epoch after
  epoch) and gives step ``s`` the positions ``[s * B * W, (s + 1) * B * W)``, each rank its own
  ``B`` of them; resuming at step ``k`` is just starting the stream at ``k``. It works for any
  folder size, even one smaller than a batch, and never drops images.

Unreadable files are skipped (the next index is tried, deterministically) and counted, so a
corrupt JPEG in a 80k-image WikiArt folder costs a warning, not a crashed run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import FlowstyleError
from ..image.io import find_images, open_image

# What PIL raises for files it cannot decode (truncated, not an image, absurdly large).
_READ_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator for sample ``index`` of ``epoch``: depends on these three numbers only."""
    return np.random.default_rng([seed, epoch, index])


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits the ``n`` samples (pure in seed and epoch)."""
    # the trailing constant keeps this stream apart from sample_rng(seed, epoch, index)
    return np.random.default_rng([seed, epoch, 2**32 - 1, 0]).permutation(n)


def source_of(path: Path, root: Path) -> str:
    """The source an image came from: its first sub-folder under ``root`` (COCO, WikiArt
    style folders) or, for files straight in ``root``, the ``source__`` prefix of its name
    (the corpus builder's naming); one common source otherwise."""
    relative = path.relative_to(root)
    if len(relative.parts) > 1:
        return relative.parts[0]
    name = relative.name
    return name.split("__", 1)[0] if "__" in name else ""


def balance_sources(files: list[Path], root: Path) -> list[Path]:
    """Repeat the files of small sources so that a source of n files is drawn about in
    proportion to sqrt(n), not n: one big package (hundreds of star-chart drawings) no longer
    outweighs the others, and a small one is not repeated into memorisation."""
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(source_of(path, root), []).append(path)
    largest = max(len(group) for group in groups.values())
    out: list[Path] = []
    for path in files:
        out += [path] * max(1, round(math.sqrt(largest / len(groups[source_of(path, root)]))))
    return out


class ImageFolderDataset(Dataset):
    """Random square crops from every image under a folder, as float tensors in [0, 1].

    Each image is resized so that its shorter side is ``resize`` (or ``crop`` if that is
    larger: small images are enlarged rather than rejected), then a random ``crop`` x ``crop``
    window is cut out, optionally flipped left-right. ``resize=None`` keeps the original scale
    (still enlarging images smaller than ``crop``).

    ``dataset[i]`` uses :attr:`epoch` (see :meth:`set_epoch`); :meth:`sample` takes the epoch
    explicitly. Files that cannot be read are skipped in favour of the next index; their
    number is :attr:`bad_files` (their paths :attr:`bad_paths`) so the trainer can warn.
    """

    def __init__(
        self,
        root: str | Path,
        resize: int | None = 512,
        crop: int = 256,
        seed: int = 0,
        flip: bool = False,
        balance: bool = False,
    ) -> None:
        if crop < 1 or (resize is not None and resize < 1):
            raise FlowstyleError(f"crop ({crop}) and resize ({resize}) must be positive")
        self.root = Path(root)
        self.files = find_images(root)
        if balance:  # see balance_sources
            self.files = balance_sources(self.files, self.root.expanduser())
        self.resize = resize
        self.crop = crop
        self.seed = seed
        self.flip = flip
        self.epoch = 0
        self.bad_paths: set[Path] = set()
        self._first_error: str | None = None

    @property
    def bad_files(self) -> int:
        """How many distinct files have failed to load so far."""
        return len(self.bad_paths)

    def __len__(self) -> int:
        return len(self.files)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch that ``dataset[i]`` draws its crops for."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.sample(index, self.epoch)

    def sample(self, index: int, epoch: int = 0) -> torch.Tensor:
        """Sample ``index`` of ``epoch``: a (3, crop, crop) float tensor in [0, 1].

        A pure function of (seed, epoch, index) and the files. If the file at ``index`` is
        unreadable the following files are tried in turn (with the same random draw), so the
        result stays deterministic; FlowstyleError if no file at all can be read.
        """
        n = len(self.files)
        if not 0 <= index < n:
            raise IndexError(f"index {index} out of range for {n} images")
        for offset in range(n):
            path = self.files[(index + offset) % n]
            if path in self.bad_paths:
                continue
            try:
                image = open_image(path, min_side=self._target_short_side())
            except _READ_ERRORS as exc:
                self.bad_paths.add(path)
                self._first_error = self._first_error or f"{path}: {exc}"
                continue
            return self._random_crop(image, sample_rng(self.seed, epoch, index))
        raise FlowstyleError(
            f"none of the {n} images in {self.root} could be read "
            f"(first error: {self._first_error})"
        )

    def _target_short_side(self) -> int | None:
        return None if self.resize is None else max(self.resize, self.crop)

    def _random_crop(self, image: Image.Image, rng: np.random.Generator) -> torch.Tensor:
        short = min(image.size)
        target = self._target_short_side() or max(short, self.crop)
        if short != target:
            scale = target / short
            width = max(target, round(image.width * scale))
            height = max(target, round(image.height * scale))
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        left = int(rng.integers(0, image.width - self.crop + 1))
        top = int(rng.integers(0, image.height - self.crop + 1))
        flip = bool(rng.random() < 0.5)  # drawn even when unused: crops do not depend on `flip`
        image = image.crop((left, top, left + self.crop, top + self.crop))
        if self.flip and flip:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        array = np.asarray(image, dtype=np.uint8)
        return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


def batch_positions(step: int, batch_size: int, rank: int = 0, world_size: int = 1) -> range:
    """Positions in the endless sample stream that ``rank`` trains on at ``step``."""
    start = (step * world_size + rank) * batch_size
    return range(start, start + batch_size)


def position_to_sample(
    position: int, n: int, seed: int, cache: dict[int, np.ndarray]
) -> tuple[int, int]:
    """(epoch, index) of a stream position; ``cache`` keeps the permutations already drawn."""
    epoch, offset = divmod(position, n)
    if epoch not in cache:
        cache.clear()  # positions only move forward: one or two epochs are ever needed
        cache[epoch] = epoch_permutation(n, seed, epoch)
    return epoch, int(cache[epoch][offset])


def batch_iterator(
    dataset: ImageFolderDataset,
    batch_size: int,
    seed: int,
    start_step: int = 0,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
) -> Iterator[torch.Tensor]:
    """Yield the batches (batch_size, 3, crop, crop) of steps start_step, start_step+1, ...

    Endless: stop with ``itertools.islice`` or a step counter. Every step consumes
    ``batch_size * world_size`` positions of the stream (see the module docstring) and rank
    ``rank`` gets its own slice of them, so the ranks of one step see different images (an
    image repeats only where a step straddles two epochs) and the batches from
    ``start_step=k`` are exactly those an uninterrupted run yields from step k.
    ``seed`` shuffles; the dataset's own seed draws the crops. ``num_workers > 0`` decodes in
    that many threads and prepares the next batch while the caller trains on this one (PIL
    releases the GIL while decoding and resizing); the batches are the same either way.
    """
    if batch_size < 1 or world_size < 1 or not 0 <= rank < world_size or start_step < 0:
        raise FlowstyleError(
            f"bad batch settings: batch_size={batch_size}, rank={rank}, "
            f"world_size={world_size}, start_step={start_step}"
        )
    n = len(dataset)
    cache: dict[int, np.ndarray] = {}

    def samples_of(step: int) -> list[tuple[int, int]]:
        positions = batch_positions(step, batch_size, rank, world_size)
        return [position_to_sample(p, n, seed, cache) for p in positions]

    def load(step: int, pool: Executor | None) -> list[Future[torch.Tensor]] | torch.Tensor:
        pairs = samples_of(step)
        if pool is None:
            return torch.stack([dataset.sample(index, epoch) for epoch, index in pairs])
        return [pool.submit(dataset.sample, index, epoch) for epoch, index in pairs]

    step = start_step
    if num_workers <= 0:
        while True:
            yield load(step, None)  # type: ignore[misc]
            step += 1
    with ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="flowstyle-data") as pool:
        pending = load(step, pool)
        while True:
            upcoming = load(step + 1, pool)  # start decoding the next batch now
            yield torch.stack([future.result() for future in pending])  # type: ignore[union-attr]
            pending = upcoming
            step += 1

