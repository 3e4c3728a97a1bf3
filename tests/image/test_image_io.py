"""Image reading: EXIF orientation, odd modes, corrupt files; atomic writing."""

import numpy as np
import pytest
from PIL import Image

from flowstyle.errors import FlowstyleError
from flowstyle.image.io import load_image, load_tensor, open_image, save_image


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif)
    assert open_image(path).size == (20, 40)


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "I;16", "1"])
def test_any_mode_becomes_rgb(tmp_path, mode):
    img = Image.new(mode, (8, 6))
    path = tmp_path / ("x.tif" if mode in ("CMYK", "I;16") else "x.png")
    img.save(path)
    out = open_image(path)
    assert out.mode == "RGB" and out.size == (8, 6)


def test_transparent_pixels_become_white(tmp_path):
    img = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    img.save(tmp_path / "t.png")
    assert np.asarray(open_image(tmp_path / "t.png")).min() == 255


def test_corrupt_truncated_and_missing_files(tmp_path):
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(FlowstyleError, match="not a readable image"):
        open_image(tmp_path / "text.png")
    Image.new("RGB", (64, 64), (10, 200, 30)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(FlowstyleError, match="corrupt or truncated"):
        open_image(tmp_path / "cut.jpg")
    with pytest.raises(FlowstyleError, match="no such file"):
        open_image(tmp_path / "missing.png")
    with pytest.raises(FlowstyleError, match="folder"):
        open_image(tmp_path)


def test_tensor_and_array_inputs(tmp_path):
    arr = (np.random.default_rng(0).random((5, 7, 3)) * 255).astype(np.uint8)
    assert np.array_equal(np.asarray(load_image(arr)), arr)
    t = load_tensor(arr)
    assert t.shape == (1, 3, 5, 7) and float(t.max()) <= 1.0
    assert np.array_equal(np.asarray(load_image(t)), arr)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    img = Image.new("RGB", (8, 8), (1, 2, 3))
    save_image(img, tmp_path / "a.png")
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]

    class Broken:
        def save(self, *args, **kwargs):
            raise OSError("disk full")

    with pytest.raises(OSError):
        save_image(Broken(), tmp_path / "b.png")
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    with pytest.raises(FlowstyleError, match="format"):
        save_image(img, tmp_path / "c.xyz")


def test_saved_files_get_normal_permissions(tmp_path):
    import os
    import stat

    save_image(Image.new("RGB", (4, 4)), tmp_path / "p.png")
    mode = stat.S_IMODE(os.stat(tmp_path / "p.png").st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
