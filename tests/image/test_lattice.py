"""The lattice filter: takes a periodic squeeze pattern out of the style change, keeps the rest."""

import pytest
import torch

from flowstyle.errors import FlowstyleError
from flowstyle.image.lattice import checked_grid_filter, remove_lattice


def _pattern(period: int, size: int = 96) -> torch.Tensor:
    """A period-`period` pattern with zero mean whose amplitude drifts slowly over the image."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    cell = torch.randn(3, period, period, generator=torch.Generator().manual_seed(period))
    cell -= cell.mean((1, 2), keepdim=True)
    tiled = cell[:, y % period, x % period]
    return (tiled * (1 + 0.3 * torch.sin(x / 30.0)))[None] * 0.05


def _smooth_change(size: int = 96) -> torch.Tensor:
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing="ij")
    return (0.1 * torch.sin(x / 9.0) + 0.08 * torch.cos(y / 6.0) + 0.05)[None, None].expand(1, 3, size, size)


@pytest.mark.parametrize("period", [2, 4])
@pytest.mark.parametrize("shift", [0, 1, 3])
def test_the_lattice_of_the_change_goes_and_the_rest_stays(period, shift):
    content = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    smooth = _smooth_change()
    grid = torch.roll(_pattern(period), (shift, shift), (-2, -1))  # any lattice origin
    out = remove_lattice(content + smooth + grid, content, period, 2.0)
    inner = (..., slice(12, -12), slice(12, -12))  # the edges use fewer pixels per local mean
    residual = (out - content - smooth)[inner]
    assert residual.abs().max() < 0.1 * grid.abs().max()
    assert (out - content - smooth).abs().max() < 0.5 * grid.abs().max()  # edges too, less exactly


def test_the_contents_own_periodic_detail_is_kept():
    content = torch.rand(1, 3, 64, 64) * 0.5 + _pattern(2, 64) * 4  # a checkered photo
    change = _smooth_change(64)
    out = remove_lattice(content + change, content, 2, 2.0)
    assert torch.allclose(out[..., 8:-8, 8:-8], (content + change)[..., 8:-8, 8:-8], atol=2e-3)


def test_a_period_two_filter_leaves_a_period_four_pattern_in_part():
    content = torch.zeros(1, 3, 96, 96)
    grid4 = _pattern(4)
    out = remove_lattice(content + grid4, content, 2, 2.0)
    inner = (..., slice(12, -12), slice(12, -12))
    assert out[inner].abs().max() > 0.3 * grid4[inner].abs().max()  # the period-4 part survives
    assert remove_lattice(content + grid4, content, 4, 2.0)[inner].abs().max() < 0.1 * grid4.abs().max()


def test_width_zero_is_the_identity_and_bad_widths_are_one_line_errors():
    a, b = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    assert torch.equal(remove_lattice(a, b, 2, 0.0), a)
    for bad in (-1, 17, float("nan"), True, "2"):
        with pytest.raises(FlowstyleError, match="grid filter must be between 0 and 16 px"):
            checked_grid_filter(bad)
    with pytest.raises(ValueError, match="differ in shape"):
        remove_lattice(a, b[..., :8], 2, 2.0)


def test_row_bands_give_the_whole_images_result():
    out, content = torch.rand(1, 3, 70, 50), torch.rand(1, 3, 70, 50)
    whole = remove_lattice(out, content, 4, 2.5, band_rows=1000)
    for rows in (1, 7, 16, 69):
        assert torch.allclose(remove_lattice(out, content, 4, 2.5, band_rows=rows), whole, atol=1e-6)


def _drifting(kind: str, size: int = 96) -> torch.Tensor:
    """A period-2 stripe ((-1)^x) or checkerboard ((-1)^(x+y)) pattern of slowly drifting amplitude."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    sign = (-1.0) ** (x if kind == "stripes" else x + y)
    return (0.05 * sign * (1 + 0.3 * torch.sin(y / 25.0)))[None, None].expand(1, 3, size, size)


def test_the_checkerboard_can_have_its_own_width():
    content = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    smooth = _smooth_change()
    inner = (..., slice(12, -12), slice(12, -12))
    for kind in ("stripes", "checker"):
        out_of = lambda s, d: (remove_lattice(content + smooth + _drifting(kind), content, 2, s, diagonal_sigma=d) - content - smooth)[inner]  # noqa: E731
        for s, d in ((2.0, 1.0), (1.5, 1.0), (2.0, 3.0)):  # both widths on: both kinds go
            assert out_of(s, d).abs().max() < 0.1 * 0.05
        kept = (0.0, 1.0) if kind == "stripes" else (2.0, 0.0)  # the other kind's width only: it stays
        assert out_of(*kept).abs().mean() > 0.9 * _drifting(kind)[inner].abs().mean()
    # one width for both is the one-width filter, and the band size does not matter
    out = content + smooth + _pattern(2) + _pattern(4)
    for period in (2, 4):
        joint = remove_lattice(out, content, period, 2.0)
        split = remove_lattice(out, content, period, 2.0, diagonal_sigma=2.0 + 1e-6)
        assert torch.allclose(split[inner], joint[inner], atol=1e-3)
    assert torch.allclose(remove_lattice(out, content, 2, 1.5, band_rows=16, diagonal_sigma=1.0),
                          remove_lattice(out, content, 2, 1.5, diagonal_sigma=1.0), atol=1e-6)
    with pytest.raises(FlowstyleError, match="diagonal grid filter must be between 0 and 16 px"):
        remove_lattice(out, content, 2, 2.0, diagonal_sigma=-1)
