"""research.edge_energy: outputs' fine detail against the photo's."""

import numpy as np
from PIL import Image, ImageFilter

from research.edge_energy import edge_energy, ratios


def _photo(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8))


def test_blur_lowers_and_flat_has_none():
    photo = _photo()
    assert edge_energy(photo.filter(ImageFilter.GaussianBlur(2))) < 0.5 * edge_energy(photo)
    assert edge_energy(Image.new("RGB", (32, 32), (90, 120, 200))) < 1e-12


def test_ratios_pair_outputs_with_their_photo_and_style(tmp_path):
    (tmp_path / "c").mkdir(), (tmp_path / "s").mkdir(), (tmp_path / "o").mkdir()
    photo = _photo(1)
    photo.save(tmp_path / "c" / "cat__big.png")
    Image.new("RGB", (64, 48), (10, 10, 10)).save(tmp_path / "s" / "flat.png")
    photo.save(tmp_path / "o" / "cat__big__flat__same.jpg", quality=100)
    photo.filter(ImageFilter.GaussianBlur(3)).save(tmp_path / "o" / "cat__big__flat__soft.jpg", quality=100)
    Image.new("RGB", (64, 48)).save(tmp_path / "o" / "unknown__flat__same.jpg")
    found = ratios(tmp_path / "o", tmp_path / "c", tmp_path / "s")
    assert set(found) == {"same", "soft"}
    assert len(found["same"]["output"]) == 1
    assert abs(found["same"]["output"][0] - 1.0) < 0.05
    assert found["soft"]["output"][0] < 0.5
    assert found["same"]["style"][0] < 1e-12
