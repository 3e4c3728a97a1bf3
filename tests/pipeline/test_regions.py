"""Regions with different styles: per-region operator statistics, masks, the pipeline option."""

import numpy as np
import pytest
import torch
from PIL import Image

from flowstyle.cli import main
from flowstyle.errors import FlowstyleError
from flowstyle.operators import AdaAttN, TransferSpec, apply_operator, mean_std, regional_transfer, transfer
from flowstyle.pipeline import Stylizer
from flowstyle.pipeline.regions import latent_regions, pad_regions, region_weights


def _latents(seed=0, c=12, h=8, w=10):
    g = torch.Generator().manual_seed(seed)
    z_c = torch.randn(1, c, h, w, generator=g) * 2 + 1
    z_a = torch.randn(1, c, 6, 6, generator=g) * 0.5 - 3  # two styles with distinct statistics
    z_b = torch.randn(1, c, 7, 5, generator=g) * 3 + 4
    return z_c, z_a, z_b


def _halves(h, w, split):
    left = torch.zeros(1, 1, h, w)
    left[..., :split] = 1
    return torch.cat([left, 1 - left], 1)


def _region_stats(z, region):
    sel = z[0][:, region]  # (C, N)
    return sel.mean(1), sel.var(1, unbiased=False)


def test_adain_regions_each_take_their_own_styles_statistics():
    z_c, z_a, z_b = _latents()
    regions = _halves(8, 10, 4)
    out = regional_transfer(TransferSpec("adain", regions=regions), z_c, [z_a, z_b])
    for k, z_s in enumerate((z_a, z_b)):
        mean, var = _region_stats(out, regions[0, k].bool())
        mean_s, std_s = mean_std(z_s)
        assert torch.allclose(mean, mean_s.flatten(), atol=1e-4)
        assert torch.allclose(var, std_s.flatten() ** 2, rtol=1e-3, atol=1e-4)


def test_wct_regions_each_take_their_own_styles_covariance():
    z_c, z_a, z_b = _latents(c=4, h=12, w=12)
    z_a, z_b = z_a[:, :4], z_b[:, :4]
    regions = _halves(12, 12, 5)
    out = regional_transfer(TransferSpec("wct", regions=regions), z_c, [z_a, z_b])
    for k, z_s in enumerate((z_a, z_b)):
        sel = out[0][:, regions[0, k].bool()].double()
        flat = z_s[0].flatten(1).double()
        assert torch.allclose(sel.mean(1), flat.mean(1), atol=1e-4)
        assert torch.allclose(torch.cov(sel, correction=0), torch.cov(flat, correction=0), atol=1e-3)


def test_region_statistics_ignore_the_rest_of_the_latent():
    """Content statistics over the region only: changing the content outside it changes nothing inside."""
    z_c, z_a, z_b = _latents()
    regions = _halves(8, 10, 4)
    other = z_c.clone()
    other[..., 4:] = other[..., 4:] * 10 - 7
    for method in ("adain", "wct"):
        a = regional_transfer(TransferSpec(method, regions=regions), z_c, [z_a, z_b])
        b = regional_transfer(TransferSpec(method, regions=regions), other, [z_a, z_b])
        assert torch.allclose(a[..., :4], b[..., :4], atol=1e-5)


def test_one_region_equals_the_unmasked_transfer_bit_for_bit():
    z_c, z_a, z_b = _latents()
    module = AdaAttN(12).eval()
    for method in ("adain", "wct", "adaattn"):
        plain = apply_operator(method, z_c, z_a, module)
        ones = torch.ones(1, 1, 8, 10)
        assert torch.equal(regional_transfer(TransferSpec(method, regions=ones, adaattn=module), z_c, [z_a]), plain)
        # a second style without a region costs nothing and changes nothing
        unused = torch.cat([ones, torch.zeros_like(ones)], 1)
        assert torch.equal(regional_transfer(TransferSpec(method, regions=unused, adaattn=module), z_c, [z_a, z_b]), plain)


def test_soft_weights_blend_the_transfers_and_adaattn_attends_per_region():
    z_c, z_a, z_b = _latents()
    module = AdaAttN(12).eval()
    ramp = torch.linspace(0, 1, 10).view(1, 1, 1, 10).expand(1, 1, 8, 10)
    regions = torch.cat([1 - ramp, ramp], 1)
    with torch.no_grad():
        out = regional_transfer(TransferSpec("adaattn", regions=regions, adaattn=module), z_c, [z_a, z_b])
        expected = (1 - ramp) * module(z_c, z_a) + ramp * module(z_c, z_b)
    assert torch.allclose(out, expected, atol=1e-5)
    # transfer(regions=...) is the same, and alpha still trades style for content
    half = transfer(TransferSpec("adain", alpha=0.5, regions=regions), z_c, [z_a, z_b])
    assert torch.allclose(half, 0.5 * z_c + 0.5 * regional_transfer(TransferSpec("adain", regions=regions), z_c, [z_a, z_b]), atol=1e-5)


def test_region_weights_labels_grey_blend_resize_and_errors():
    labels = np.zeros((20, 30), np.uint8)
    labels[:, 10:20] = 1
    labels[:, 20:] = 2
    w = region_weights(labels, 3, 20, 30)
    assert w.shape == (1, 3, 20, 30) and torch.allclose(w.sum(1), torch.ones(1, 20, 30))
    assert w[0, 0, 5, 2] == 1 and w[0, 1, 5, 15] == 1 and w[0, 2, 5, 28] == 1
    # grey levels of a painting, darkest first, and a mask of another size is resized
    painted = Image.fromarray((labels * 127).astype(np.uint8)).resize((60, 40), Image.NEAREST)
    resized = region_weights(painted, 3, 20, 30)
    assert resized.shape == w.shape and torch.allclose(resized.sum(1), torch.ones(1, 20, 30))
    interior = [c for c in range(30) if min(abs(c - 9.5), abs(c - 19.5)) > 1]
    assert torch.allclose(resized[..., interior], w[..., interior], atol=1e-6)
    # two styles, many grey levels: a soft blend v / 255
    ramp = np.tile(np.linspace(0, 255, 30).astype(np.uint8), (4, 1))
    soft = region_weights(ramp, 2, 4, 30)
    assert torch.allclose(soft[0, 1, 0], torch.from_numpy(ramp[0] / 255.0).float(), atol=2e-3)
    # a region without a style is an error that says what to do
    with pytest.raises(FlowstyleError, match="3 regions .* 2 style"):
        region_weights(labels, 2, 20, 30)


def test_feather_softens_the_edge():
    labels = np.zeros((16, 40), np.uint8)
    labels[:, 20:] = 1
    hard = region_weights(labels, 2, 16, 40)[0, 1, 8]
    soft = region_weights(labels, 2, 16, 40, feather=3.0)[0, 1, 8]
    assert ((hard > 0) & (hard < 1)).sum() == 0
    between = ((soft > 0.01) & (soft < 0.99)).sum()
    assert between >= 8 and bool((soft[1:] >= soft[:-1] - 1e-6).all())  # a monotone ramp


def test_latent_regions_follow_padding_and_phase_and_sum_to_one():
    labels = np.zeros((12, 16), np.uint8)
    labels[:, 8:] = 1
    padded = pad_regions(region_weights(labels, 2, 12, 16), pad=4, multiple=4)
    assert padded.shape[-2:] == (20, 24)
    lat = latent_regions(padded, 1, 1, 4)
    assert lat.shape[-2:] == (6, 7) and torch.allclose(lat.sum(1), torch.ones(1, 6, 7))


@pytest.fixture(scope="module")
def stylizer(tiny_model):
    return Stylizer(tiny_model)


@pytest.mark.parametrize("phases", [4, 16])  # 16: the nested plan hands each latent its pixel shift
def test_pipeline_mask_of_one_region_equals_no_mask(stylizer, photos, phases):
    base = dict(pad=8, recipe=dict(phases=phases))
    plain = stylizer.stylize_tensor(photos["astronaut"], photos["coffee"], **base)
    one = np.full((10, 10), 7, np.uint8)
    masked = stylizer.stylize_tensor(photos["astronaut"], photos["coffee"], mask=one, **base)
    assert torch.equal(masked, plain)


@pytest.mark.parametrize("phases", [1, 16])
def test_pipeline_regions_take_their_styles(stylizer, photos, phases):
    content = photos["astronaut"]
    w, h = content.size
    labels = np.zeros((h, w), np.uint8)
    labels[:, w // 2 :] = 255
    styles = [photos["coffee"], photos["rocket"]]
    out = stylizer.stylize_tensor(content, styles, mask=labels, mask_feather=2, pad=8, recipe=dict(phases=phases))
    only_a = stylizer.stylize_tensor(content, styles[0], pad=8, recipe=dict(phases=phases))
    only_b = stylizer.stylize_tensor(content, styles[1], pad=8, recipe=dict(phases=phases))
    q = w // 4
    left, right = out[..., : q], out[..., -q:]
    # far from the edge each side is much closer to its own style's result than to the other's
    assert (left - only_a[..., :q]).abs().mean() < 0.5 * (left - only_b[..., :q]).abs().mean()
    assert (right - only_b[..., -q:]).abs().mean() < 0.5 * (right - only_a[..., -q:]).abs().mean()
    for bad in (dict(style_weights=[1, 2]), dict(blend="latents")):
        with pytest.raises(FlowstyleError):
            stylizer.stylize_tensor(content, styles, mask=labels, pad=8, **bad)


def test_cli_mask_and_its_errors(tiny_model_file, photo_files, tmp_path, capsys):
    mask = tmp_path / "mask.png"
    labels = np.zeros((30, 40), np.uint8)
    labels[:, 20:] = 255
    Image.fromarray(labels).save(mask)
    out = tmp_path / "out.png"
    args = [photo_files["astronaut"], photo_files["coffee"], photo_files["rocket"], "-o", out,
            "--model", tiny_model_file, "--pad", 8, "--mask", mask]
    assert main(["stylize"] + [str(a) for a in args]) == 0 and out.exists()
    labels[:, 20:] = 1
    labels[:, 30:] = 2  # a label image with three regions, for two styles
    Image.fromarray(labels).save(mask)
    bad = tmp_path / "bad.png"
    args[4] = bad
    capsys.readouterr()
    assert main(["stylize"] + [str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "3 regions" in err and not bad.exists()
