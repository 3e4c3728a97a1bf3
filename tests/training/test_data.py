"""Folder scanning, the random-crop dataset and the resumable, sharded batch stream."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from flowstyle.image.io import find_images
from flowstyle.training.data import ImageFolderDataset, batch_iterator, sample_rng
from flowstyle.errors import FlowstyleError


def _write_image(path: Path, size: tuple[int, int], seed: int, mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4}.get(mode)
    shape = (size[1], size[0]) if channels is None else (size[1], size[0], channels)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
    return path


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """Nine small images of different sizes and modes in two sub-folders."""
    root = tmp_path / "images"
    for i in range(5):
        _write_image(root / "a" / f"img{i}.png", (40 + 7 * i, 30 + 5 * i), seed=i)
    for i in range(3):
        _write_image(root / "b" / f"pic{i}.jpg", (50, 64), seed=10 + i)
    _write_image(root / "b" / "grey.png", (33, 35), seed=20, mode="L")
    return root


def test_find_images_recursive_case_insensitive_sorted(tmp_path: Path) -> None:
    root = tmp_path / "coco"
    names = ["train2014/b.jpg", "train2014/A.JPG", "Style_Name/x.JpEg", "Style_Name/y.webp",
             "deep/er/z.TIFF", "t.bmp", "u.tif", "v.png",
             "notes.txt", ".hidden/h.jpg", "train2014/._A.JPG"]  # the last three are ignored
    for name in names:  # find_images looks at names only
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    found = [p.relative_to(root).as_posix() for p in find_images(root)]
    assert found == ["Style_Name/x.JpEg", "Style_Name/y.webp", "deep/er/z.TIFF", "t.bmp",
                     "train2014/A.JPG", "train2014/b.jpg", "u.tif", "v.png"]


@pytest.mark.parametrize("case", ["missing", "empty", "file"])
def test_find_images_errors(tmp_path: Path, case: str) -> None:
    target = tmp_path / "x"
    if case == "empty":
        target.mkdir()
        (target / "readme.txt").write_text("no images here")
    elif case == "file":
        target.write_text("a file")
    with pytest.raises(FlowstyleError):
        find_images(target)
    with pytest.raises(FlowstyleError):
        ImageFolderDataset(target)


@pytest.mark.parametrize("resize, crop", [(48, 32), (None, 32), (16, 32)])
def test_dataset_shapes_and_range(folder: Path, resize: int | None, crop: int) -> None:
    dataset = ImageFolderDataset(folder, resize=resize, crop=crop, seed=1, flip=True)
    assert len(dataset) == 9
    for i in range(len(dataset)):
        x = dataset[i]
        assert x.shape == (3, crop, crop) and x.dtype == torch.float32
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert dataset.bad_files == 0


def test_exif_orientation_and_alpha_are_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20), "red")
    image.paste((0, 0, 255), (0, 0, 20, 20))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    image.save(tmp_path / "rot.jpg", exif=exif, quality=95)
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    rgba.save(tmp_path / "transparent.png")
    dataset = ImageFolderDataset(tmp_path, resize=None, crop=20)
    rotated = dataset.sample(0)  # only an upright (20 wide x 40 tall) image gives a 20x20 crop
    assert rotated.shape == (3, 20, 20)
    transparent = dataset.sample(1)
    assert torch.allclose(transparent, torch.ones_like(transparent))  # composited on white


def test_16_bit_grey_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 0 .. 65520
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    x = ImageFolderDataset(tmp_path, resize=None, crop=64).sample(0)
    assert abs(float(x.mean()) - ramp.mean() / 65535) < 0.01


def test_sample_is_pure_function_of_seed_epoch_index(folder: Path) -> None:
    a = ImageFolderDataset(folder, resize=48, crop=24, seed=3, flip=True)
    b = ImageFolderDataset(folder, resize=48, crop=24, seed=3, flip=True)
    # different call orders, different instances: same tensors
    first = [a.sample(i, epoch=2) for i in range(len(a))]
    second = [b.sample(i, epoch=2) for i in reversed(range(len(b)))][::-1]
    assert all(torch.equal(x, y) for x, y in zip(first, second))
    b.set_epoch(2)
    assert torch.equal(b[4], first[4])
    # another epoch or seed draws other crops
    assert any(not torch.equal(a.sample(i, 3), first[i]) for i in range(len(a)))
    c = ImageFolderDataset(folder, resize=48, crop=24, seed=4, flip=True)
    assert any(not torch.equal(c.sample(i, 2), first[i]) for i in range(len(a)))


def test_corrupt_files_are_skipped_and_counted(folder: Path) -> None:
    (folder / "a" / "img1.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (folder / "a" / "img2.png").write_bytes(b"")
    (folder / "b" / "trunc.jpg").write_bytes((folder / "b" / "pic0.jpg").read_bytes()[:200])
    dataset = ImageFolderDataset(folder, resize=40, crop=24)
    files = [p.name for p in dataset.files]
    batches = [dataset.sample(i) for i in range(len(dataset))]
    assert all(x.shape == (3, 24, 24) for x in batches)
    assert dataset.bad_files == 3
    assert {p.name for p in dataset.bad_paths} == {"img1.png", "img2.png", "trunc.jpg"}
    # a bad index falls through to the next readable file, deterministically
    img1, img3 = files.index("img1.png"), files.index("img3.png")
    assert img1 + 2 == img3
    assert torch.equal(batches[img1], dataset._random_crop(
        Image.open(dataset.files[img3]).convert("RGB"), sample_rng(0, 0, img1)))
    again = ImageFolderDataset(folder, resize=40, crop=24)
    assert torch.equal(again.sample(files.index("img1.png")), batches[files.index("img1.png")])


def test_all_corrupt_raises_flowstyle_error(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"bad{i}.jpg").write_bytes(b"not a jpeg")
    dataset = ImageFolderDataset(tmp_path, crop=8)
    with pytest.raises(FlowstyleError, match="none of the 3 images"):
        dataset.sample(0)
    assert dataset.bad_files == 3


def _take(iterator, n: int) -> list[torch.Tensor]:
    return list(itertools.islice(iterator, n))


def test_resume_gives_the_tail_of_an_uninterrupted_run(folder: Path) -> None:
    dataset = ImageFolderDataset(folder, resize=40, crop=16, seed=5, flip=True)
    full = _take(batch_iterator(dataset, batch_size=4, seed=7), 8)  # 32 samples: ~3.5 epochs
    for k in (1, 2, 5):
        resumed = _take(batch_iterator(dataset, batch_size=4, seed=7, start_step=k), 8 - k)
        assert all(torch.equal(x, y) for x, y in zip(resumed, full[k:]))
    threaded = _take(batch_iterator(dataset, batch_size=4, seed=7, start_step=3, num_workers=2), 5)
    assert all(torch.equal(x, y) for x, y in zip(threaded, full[3:]))
    other_seed = _take(batch_iterator(dataset, batch_size=4, seed=8), 8)
    assert any(not torch.equal(x, y) for x, y in zip(other_seed, full))


def test_each_epoch_visits_every_image_once(tmp_path: Path) -> None:
    for i in range(6):  # one flat colour per image: the batch tells which images it holds
        Image.new("RGB", (20, 20), (i * 40, 0, 0)).save(tmp_path / f"{i}.png")
    dataset = ImageFolderDataset(tmp_path, resize=None, crop=8)
    batches = _take(batch_iterator(dataset, batch_size=4, seed=0), 6)  # 24 positions: 4 epochs
    ids = torch.cat(batches)[:, 0, 0, 0].mul(255).div(40).round().long().tolist()
    for epoch in range(4):
        assert sorted(ids[epoch * 6:(epoch + 1) * 6]) == list(range(6))
    assert ids[:6] != ids[6:12]  # reshuffled per epoch


def test_rank_sharding_is_disjoint_and_covers_the_global_batch(tmp_path: Path) -> None:
    for i in range(12):
        Image.new("RGB", (20, 20), (i * 20, 0, 0)).save(tmp_path / f"{i:02d}.png")
    dataset = ImageFolderDataset(tmp_path, resize=None, crop=8)

    def ids(batch: torch.Tensor) -> list[int]:
        return batch[:, 0, 0, 0].mul(255).div(20).round().long().tolist()

    world = 3
    per_rank = [_take(batch_iterator(dataset, 2, seed=1, rank=r, world_size=world), 4)
                for r in range(world)]
    for step in range(4):
        seen = [i for r in range(world) for i in ids(per_rank[r][step])]
        assert len(set(seen)) == len(seen) == 6  # no image twice within a step
    # two steps of 3 ranks x 2 = 12 positions = one epoch: every image exactly once
    epoch0 = [i for step in range(2) for r in range(world) for i in ids(per_rank[r][step])]
    assert sorted(epoch0) == list(range(12))
    # a rank resumed at step 2 continues its own shard
    resumed = _take(batch_iterator(dataset, 2, seed=1, rank=1, world_size=world, start_step=2), 2)
    assert all(torch.equal(x, y) for x, y in zip(resumed, per_rank[1][2:]))


def test_folder_smaller_than_a_batch(tmp_path: Path) -> None:
    _write_image(tmp_path / "only.png", (30, 30), seed=0)
    dataset = ImageFolderDataset(tmp_path, resize=None, crop=16)
    batch = next(batch_iterator(dataset, batch_size=4, seed=0))
    assert batch.shape == (4, 3, 16, 16)


@pytest.mark.parametrize("kwargs", [dict(batch_size=0), dict(rank=2, world_size=2),
                                    dict(start_step=-1)])
def test_bad_batch_settings(folder: Path, kwargs: dict) -> None:
    settings = dict(batch_size=2, seed=0) | kwargs
    with pytest.raises(FlowstyleError):
        next(batch_iterator(ImageFolderDataset(folder), **settings))


def test_balance_sources_draws_sources_by_the_square_root_of_their_size(tmp_path):
    from flowstyle.training.data import balance_sources, source_of

    root = tmp_path / "style"
    root.mkdir()
    files = [root / f"big__{i}.png" for i in range(16)] + [root / "small__0.png"]
    files += [root / "sub" / "x.png"]
    assert source_of(files[0], root) == "big" and source_of(files[-1], root) == "sub"
    assert source_of(root / "plain.png", root) == ""
    out = balance_sources(files, root)
    assert out.count(files[0]) == 1 and out.count(root / "small__0.png") == 4  # sqrt(16 / 1)
    assert out.count(root / "sub" / "x.png") == 4
