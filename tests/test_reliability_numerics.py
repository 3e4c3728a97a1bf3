"""Numerical safety of the operators: rank-deficient, constant, tiny and huge latents,
flat styles, alpha / gain / style weights / region weights at their extremes: never NaN or Inf."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flowstyle.operators import AdaAttN, TransferSpec, adain, apply_operator, transfer, wct

SETTINGS = settings(max_examples=50, deadline=None)


@st.composite
def latents(draw, channels=None):
    """(1, C, H, W) latents of any rank (0 = constant), scale and offset, on tiny grids too."""
    c = channels or draw(st.sampled_from([3, 12, 48]))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    rank = draw(st.integers(0, c))
    scale = 10.0 ** draw(st.integers(-6, 3))
    offset = draw(st.sampled_from([0.0, 1.0, -50.0, 1e3]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    basis = torch.randn(c, max(rank, 1), generator=g) * (rank > 0)
    coeff = torch.randn(max(rank, 1), h * w, generator=g)
    z = (basis @ coeff).view(1, c, h, w) * scale + offset
    if draw(st.booleans()):  # a few positions far out (a saturated patch)
        z[..., 0, 0] += 100.0 * scale
    return z


def _finite(x: torch.Tensor) -> bool:
    return bool(torch.isfinite(x).all())


def _adaattn(c: int, perturb: float) -> AdaAttN:
    module = AdaAttN(c)
    g = torch.Generator().manual_seed(c)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(perturb * torch.randn(p.shape, generator=g))
    return module.eval()


@SETTINGS
@given(data=st.data())
def test_adain_and_wct_stay_finite_on_degenerate_latents(data):
    z_c = data.draw(latents())
    z_s = data.draw(latents(channels=z_c.shape[1]))
    for op in (adain, wct):
        out = op(z_c, z_s)
        assert out.shape == z_c.shape and _finite(out), op.__name__


@SETTINGS
@given(data=st.data(), perturb=st.sampled_from([0.0, 0.05, 1.0]), max_keys=st.sampled_from([None, 1, 3]))
def test_adaattn_stays_finite_with_flat_or_tiny_styles(data, perturb, max_keys):
    z_c = data.draw(latents())
    z_s = data.draw(latents(channels=z_c.shape[1]))  # rank 0 = a flat style, 1x1 = a one-position style
    with torch.no_grad():
        out = _adaattn(z_c.shape[1], perturb)(z_c, z_s, max_keys=max_keys)
    assert out.shape == z_c.shape and _finite(out)


@SETTINGS
@given(
    data=st.data(), method=st.sampled_from(["adain", "wct", "adaattn"]), alpha=st.sampled_from([0.0, 1e-9, 0.5, 1.0, 3.0]),
    weights=st.sampled_from([None, [1.0, 0.0], [1e-12, 1.0], [1e6, 1e-6], [1.0, 1.0]]),
    blend=st.sampled_from(["outputs", "latents"]),
)
def test_transfer_with_extreme_alpha_gain_and_weights(data, method, alpha, weights, blend):
    z_c = data.draw(latents(channels=12))
    z_1 = data.draw(latents(channels=12))
    z_2 = z_1 * 0 + 3.0 if blend == "latents" else data.draw(latents(channels=12))  # a flat second style
    with torch.no_grad():
        out = transfer(TransferSpec(method, alpha=alpha, style_weights=weights, blend=blend, adaattn=_adaattn(12, 0.05)), z_c, [z_1, z_2])
    assert _finite(out)
    if alpha == 0.0:
        assert torch.equal(out, z_c)


@SETTINGS
@given(data=st.data(), method=st.sampled_from(["adain", "wct", "adaattn"]), kind=st.sampled_from(["one", "tiny", "soft", "edge"]))
def test_regions_with_tiny_and_extreme_weights(data, method, kind):
    z_c = data.draw(latents(channels=12))
    z_s = [data.draw(latents(channels=12)), torch.full((1, 12, 2, 2), -7.0)]
    h, w = z_c.shape[-2:]
    first = torch.zeros(1, 1, h, w)
    if kind == "one":
        first[..., 0, 0] = 1.0  # region of a single position
    elif kind == "tiny":
        first[..., 0, 0] = 1e-30  # a weight that underflows a float32 sum of squares
    elif kind == "soft":
        first += torch.rand(1, 1, h, w, generator=torch.Generator().manual_seed(h * w))
    else:
        first[..., :, : max(w // 2, 1)] = 1.0
    regions = torch.cat([first, 1.0 - first], 1)
    with torch.no_grad():
        out = transfer(TransferSpec(method, regions=regions, adaattn=_adaattn(12, 0.05)), z_c, z_s)
    assert _finite(out)


def test_wct_of_a_constant_content_and_style_is_the_style_mean():
    z_c = torch.full((1, 12, 4, 4), 2.0)
    z_s = torch.full((1, 12, 3, 5), -1.5)
    assert torch.allclose(wct(z_c, z_s), torch.full_like(z_c, -1.5))
    assert torch.allclose(adain(z_c, z_s), torch.full_like(z_c, -1.5))
    assert _finite(apply_operator("adaattn", z_c, z_s, AdaAttN(12)))
