"""Metrics on synthetic inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from flowstyle.errors import FlowstyleError
from flowstyle.eval import metrics
from flowstyle.training.losses import squeeze_bins
from flowstyle.operators import adain



def _checkerboard(size: int, period: int) -> torch.Tensor:
    """A (1, 3, size, size) black/white checkerboard with squares of period/2 px."""
    i = torch.arange(size)
    cells = (i // (period // 2)).view(-1, 1) + (i // (period // 2)).view(1, -1)
    return (cells % 2).float().expand(1, 3, size, size).clone()


def _photo(size: int = 256) -> torch.Tensor:
    img = Image.fromarray(data.astronaut())
    img.thumbnail((size, size), Image.LANCZOS)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]


def test_grid_index_of_checkerboards_is_far_above_one():
    for period in (2, 4):
        board = _checkerboard(128, period)
        assert metrics.grid_index(board) > 100
        assert metrics.grid_index(board, border=32) > 100


def test_grid_index_of_photo_is_about_one_and_a_faint_grid_shows():
    photo = _photo(256)
    assert 0.7 < metrics.grid_index(photo) < 1.4
    assert 0.6 < metrics.grid_index(photo, border=32) < 1.6
    faint = (photo + 0.05 * (_checkerboard(256, 2) - 0.5)).clamp(0, 1)
    assert metrics.grid_ratio(faint, photo) > 3
    assert metrics.grid_ratio(faint, photo, border=32) > 3
    assert metrics.grid_ratio(photo, photo) == pytest.approx(1.0)


def test_grid_index_border_band_sees_a_grid_only_at_the_edges():
    photo = _photo(256)
    edged = photo.clone()
    grid = 0.05 * (_checkerboard(256, 4) - 0.5)
    edged[..., :32, :] += grid[..., :32, :]
    edged = edged.clamp(0, 1)
    assert metrics.grid_ratio(edged, photo, border=32) > 3 * metrics.grid_ratio(edged, photo)


def test_grid_index_flat_and_tiny_images():
    assert metrics.grid_index(torch.full((1, 3, 32, 32), 0.5)) == 1.0
    with pytest.raises(FlowstyleError):
        metrics.grid_index(torch.rand(1, 3, 8, 8))
    with pytest.raises(FlowstyleError):
        metrics.grid_index(torch.rand(1, 3, 48, 48), border=32)


def test_squeeze_bins():
    assert squeeze_bins(256) == [64, 128, 192]
    assert squeeze_bins(100) == [25, 50, 75]
    assert squeeze_bins(256, period=2) == [128]
    assert squeeze_bins(100, period=2) == [50]


def test_period_2_index_sees_a_period_2_grid_but_not_a_period_4_one():
    photo = _photo(256)
    for period, seen_by_2 in ((2, True), (4, False)):
        faint = (photo + 0.05 * (_checkerboard(256, period) - 0.5)).clamp(0, 1)
        assert metrics.grid_ratio(faint, photo) > 3  # the default index sees both
        for border in (None, 32):
            ratio = metrics.grid_ratio(faint, photo, border=border, period=2)
            assert (ratio > 3) if seen_by_2 else (ratio < 1.5), (period, border, ratio)


def test_ssim_and_psnr_known_answers():
    photo = _photo(64)
    assert metrics.ssim_luminance(photo, photo) == pytest.approx(1.0)
    assert metrics.psnr(photo, photo) == math.inf
    # uniform error of 0.1 -> MSE 0.01 -> 20 dB
    a = torch.full((1, 3, 16, 16), 0.5)
    assert metrics.psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-4)
    noisy = (photo + 0.2 * torch.randn(photo.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert metrics.ssim_luminance(photo, noisy) < 0.7
    with pytest.raises(FlowstyleError):
        metrics.ssim_luminance(photo, _photo(32))


def test_vgg_losses_zero_for_identical_and_positive_otherwise():
    photo, other = _photo(64), _checkerboard(64, 8) * 0.5 + 0.25
    assert metrics.style_loss(photo, photo) == pytest.approx(0.0, abs=1e-6)
    assert metrics.gram_loss(photo, photo) == pytest.approx(0.0, abs=1e-6)
    assert metrics.content_loss(photo, photo) == pytest.approx(0.0, abs=1e-6)
    assert metrics.style_loss(photo, other) > 0
    assert metrics.gram_loss(photo, other) > 0
    assert metrics.content_loss(photo, other) > 0
    # the style may have another size
    assert metrics.style_loss(photo, _photo(48)) > 0


def test_style_match_ends():
    content, style = _photo(64), _checkerboard(64, 8) * 0.6 + 0.2
    assert metrics.style_match(content, content, style) == pytest.approx(0.0, abs=1e-9)
    assert metrics.style_match(style, content, style) == pytest.approx(1.0, abs=1e-6)
    half = 0.5 * content + 0.5 * style
    assert 0.0 < metrics.style_match(half, content, style) < 1.0


def test_adain_is_idempotent_under_repeated_restyling():
    """Restyling with the same statistics changes nothing (why an unbiased flow has no leak)."""
    g = torch.Generator().manual_seed(0)
    z_c, z_s = torch.randn(1, 12, 8, 8, generator=g), 3 * torch.randn(1, 12, 8, 8, generator=g) + 1
    once = adain(z_c, z_s)
    assert torch.allclose(adain(once, z_s), once, atol=1e-4)


def test_measure_reports_time_and_memory():
    def allocate() -> int:
        block = np.ones(40_000_000 // 8)  # 40 MB
        return int(block.size)

    result, cost = metrics.measure(allocate)
    assert result == 5_000_000
    assert cost.seconds >= 0
    if cost.peak_mib is not None:  # Linux
        assert 30 < cost.peak_mib < 200


def test_mean_spread_ignores_non_finite():
    assert metrics.mean_spread([1.0, 3.0, math.inf, math.nan]) == (2.0, 1.0)
    assert all(math.isnan(v) for v in metrics.mean_spread([]))


def test_clipped_fraction_counts_pixels_with_any_channel_at_the_ends():
    img = torch.full((3, 4, 5), 0.5)
    assert metrics.clipped_fraction(img) == 0.0
    img[0, 0, 0] = 1.0  # one channel at 255
    img[2, 1, 1] = -0.3  # below 0 counts as 0
    img[1, 2, 2] = 0.999  # rounds to 255
    img[1, 3, 3] = 0.001  # rounds to 0
    assert metrics.clipped_fraction(img) == pytest.approx(4 / 20)


def test_median_and_worst_decile_take_the_side_that_is_worse():
    values = list(range(11))  # 0..10
    assert metrics.median_worst(values) == (5.0, 1.0)
    assert metrics.median_worst(values, higher_is_better=False) == (5.0, 9.0)
    assert metrics.median_worst([float("nan"), 2.0]) == (2.0, 2.0)


def test_texture_match_sees_textures_not_colours():
    photo = _photo(128)
    stripes = ((torch.arange(128) // 8) % 2).float().view(1, 1, 1, 128).expand(1, 1, 128, 128)
    style = torch.cat([stripes, torch.full_like(stripes, 0.2), 1 - stripes], dim=1)  # red/blue stripes
    assert metrics.texture_match(style, photo, style) == pytest.approx(1.0)
    assert metrics.texture_match(photo, photo, style) == pytest.approx(0.0)
    # the photo recoloured to the style's channel statistics has none of its stripes ...
    recoloured = adain(photo, style).clamp(0, 1)
    assert metrics.texture_match(recoloured, photo, style) < 0.1
    # ... while an image that carries them moves towards the style
    painted = 0.5 * photo + 0.5 * style
    assert metrics.texture_match(painted, photo, style) > 0.3
    # a style's features computed once give the same number as the image
    features = metrics.texture_features(style)
    assert metrics.texture_match(painted, photo, features) == pytest.approx(metrics.texture_match(painted, photo, style))
