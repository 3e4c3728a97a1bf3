"""Operators: statistics matching, unbiasedness, exact memory-efficient attention, blending."""

import math

import pytest
import torch

from flowstyle.errors import FlowstyleError
from flowstyle.image.io import image_to_tensor
from flowstyle.operators import (
    AdaAttN, Anchor, TransferSpec, adaattn_naive, adain, attention_mean_var, latent_distance, mean_std, regional_transfer, tone_curve,
    transfer, wct,
)


def _latents(seed=0, c=12):
    g = torch.Generator().manual_seed(seed)
    z_c = torch.randn(2, c, 9, 11, generator=g)
    z_s = torch.randn(2, c, 7, 6, generator=g) * (torch.rand(1, c, 1, 1, generator=g) * 3 + 0.5) + 2
    return z_c, z_s


def _cov(z):
    flat = z.flatten(2).double()
    flat = flat - flat.mean(2, keepdim=True)
    return flat @ flat.transpose(1, 2) / flat.shape[2]


def test_adain_matches_style_mean_and_std_per_sample():
    z_c, z_s = _latents()
    out = adain(z_c, z_s)
    m_o, s_o = mean_std(out)
    m_s, s_s = mean_std(z_s)
    assert torch.allclose(m_o, m_s, atol=1e-4)
    assert torch.allclose(s_o, s_s, rtol=1e-3)
    # per sample: sample 0 of the output does not depend on sample 1 of the style
    z_s2 = z_s.clone()
    z_s2[1] += 5
    assert torch.equal(adain(z_c, z_s2)[0], out[0])


def test_wct_matches_style_covariance():
    z_c, z_s = _latents(c=8)
    z_c = torch.randn(2, 8, 20, 20)
    z_s = torch.randn(2, 8, 16, 16)
    z_s = torch.einsum("ij,bjhw->bihw", torch.randn(8, 8), z_s) + 1.5
    out = wct(z_c, z_s)
    assert torch.allclose(_cov(out), _cov(z_s), atol=1e-3 * _cov(z_s).abs().max().item())
    assert torch.allclose(out.flatten(2).mean(2), z_s.flatten(2).mean(2), atol=1e-4)


@pytest.mark.parametrize("op", [wct, adain])
def test_never_nan_on_constant_content_or_one_colour_style(op):
    const = torch.full((1, 48, 8, 8), 0.3)
    noise = torch.randn(1, 48, 8, 8)
    for z_c, z_s in [(const, noise), (noise, const), (const, const)]:
        assert torch.isfinite(op(z_c, z_s)).all()
    assert torch.allclose(op(const, noise).flatten(2).mean(2), noise.flatten(2).mean(2), atol=1e-4)


def _psnr(a, b):
    mse = (a - b).pow(2).mean().item()
    return 10 * math.log10(1.0 / max(mse, 1e-20))


@pytest.mark.parametrize("op", [adain, wct])
def test_unbiased_restyling_returns_the_content(op, tiny_model, photos):
    flow = tiny_model.flow
    content = image_to_tensor(photos["astronaut"].crop((0, 0, 64, 64)))
    style = image_to_tensor(photos["coffee"].crop((0, 0, 64, 40)))
    with torch.no_grad():
        z_c, z_s = flow.encode(content), flow.encode(style)
        stylized = op(z_c, z_s)
        restored = flow.decode(op(stylized, z_c))
    assert _psnr(restored, content) > 40
    assert _psnr(flow.decode(stylized).clamp(0, 1), content) < 30  # the style did change it


def _random_adaattn(c=12, seed=0):
    torch.manual_seed(seed)
    module = AdaAttN(c)
    with torch.no_grad():
        for conv in (module.f, module.g, module.h):
            conv.weight.add_(0.2 * torch.randn_like(conv.weight))
            conv.bias.add_(0.1 * torch.randn_like(conv.bias))
    return module


def test_adaattn_exact_attention_equals_naive_formula():
    module = _random_adaattn()
    z_c, z_s = _latents()
    with torch.no_grad():
        assert (module(z_c, z_s) - adaattn_naive(module, z_c, z_s)).abs().max() < 1e-4


def test_attention_chunks_do_not_change_the_result():
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(2, 50, 6, generator=g), torch.randn(2, 33, 6, generator=g), torch.randn(2, 33, 6, generator=g)
    m1, v1 = attention_mean_var(q, k, v, chunk=7)
    m2, v2 = attention_mean_var(q, k, v, chunk=4096)
    assert torch.allclose(m1, m2, atol=1e-6) and torch.allclose(v1, v2, atol=1e-6)


def test_adaattn_starts_as_identity_projections():
    module = AdaAttN(12)
    z = torch.randn(1, 12, 5, 5)
    assert torch.allclose(module.h(z), z, atol=1e-6)


def test_adaattn_key_sampling_is_seeded_and_deterministic():
    module = _random_adaattn()
    z_c, z_s = _latents()
    with torch.no_grad():
        a = module(z_c, z_s, max_keys=10, seed=3)
        b = module(z_c, z_s, max_keys=10, seed=3)
        c = module(z_c, z_s, max_keys=10, seed=4)
        full = module(z_c, z_s, max_keys=10_000)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert torch.allclose(full, module(z_c, z_s))


def test_adaattn_gradients_are_finite_on_constant_style():
    module = _random_adaattn()
    z_c = torch.randn(1, 12, 4, 4, requires_grad=True)
    out = module(z_c, torch.ones(1, 12, 4, 4))
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())


def test_anchor_pulls_adaattn_to_the_styles_global_moments():
    z_c, z_s = _latents()
    module = AdaAttN(12)
    plain = transfer(TransferSpec("adaattn", adaattn=module), z_c, [z_s])
    assert torch.equal(transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(0.0)), z_c, [z_s]), plain)
    full = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0)), z_c, [z_s])
    m_o, s_o = mean_std(full)
    m_s, s_s = mean_std(z_s)
    assert torch.allclose(m_o, m_s, atol=1e-4) and torch.allclose(s_o, s_s, rtol=1e-3)
    assert not torch.allclose(mean_std(plain)[1], s_s, rtol=1e-2)  # attention alone does not
    # the local structure stays: the anchored output is an affine map of the plain one per channel
    assert torch.allclose(full, adain(plain, z_s), atol=1e-5)
    half = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(0.5)), z_c, [z_s])
    assert torch.allclose(half, 0.5 * plain + 0.5 * full, atol=1e-5)
    assert torch.equal(transfer(TransferSpec("adain", anchor=Anchor(1.0)), z_c, [z_s]), adain(z_c, z_s))  # AdaAttN only


def _channel_cov(z: torch.Tensor) -> torch.Tensor:
    flat = z.flatten(2).double()
    centred = flat - flat.mean(2, keepdim=True)
    return centred @ centred.transpose(1, 2) / flat.shape[2]


def test_covariance_anchor_also_matches_how_the_styles_channels_move_together():
    z_c, z_s = _latents()
    mix = torch.randn(12, 12) * 0.4 + torch.eye(12)  # a style whose channels are correlated
    z_s = torch.einsum("ij,bjhw->bihw", mix, z_s)
    module = AdaAttN(12)
    plain = transfer(TransferSpec("adaattn", adaattn=module), z_c, [z_s])
    by_std = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0)), z_c, [z_s])
    by_cov = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0, "covariance")), z_c, [z_s])
    target = _channel_cov(z_s)
    assert torch.allclose(_channel_cov(by_cov), target, rtol=1e-3, atol=1e-3)
    assert not torch.allclose(_channel_cov(by_std), target, rtol=1e-2, atol=1e-2)  # mean/std alone does not
    assert torch.allclose(mean_std(by_cov)[0], mean_std(z_s)[0], atol=1e-4)
    # still a map of the attention's output (linear per image), halfway is halfway
    assert torch.allclose(by_cov, wct(plain, z_s), atol=1e-5)
    half = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(0.5, "covariance")), z_c, [z_s])
    assert torch.allclose(half, 0.5 * plain + 0.5 * by_cov, atol=1e-5)


def test_covariance_anchor_trains_on_flat_latents():
    """Flat crops (clip art on white) make covariances degenerate: eigh's backward would give
    inf/NaN there, the anchor holds its maps constant and its gradient stays finite."""
    module = _random_adaattn()
    z_c = torch.ones(1, 12, 4, 4, requires_grad=True)
    out = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0, "covariance")), z_c, [torch.ones(1, 12, 4, 4)])
    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(z_c.grad).all() and all(torch.isfinite(p.grad).all() for p in module.parameters())


def _paper_and_ink(paper_rows=12, seed=3):
    """Clip-art-like latents: rows of paper (one value, a little noise) and rows of ink. The style
    has 60 % paper and dark purple ink with black outlines; the content as much paper or less,
    with orange ink."""
    g = torch.Generator().manual_seed(seed)
    paper = torch.tensor([1.0, 1.0, 1.0]).view(1, 3, 1, 1)
    z_c = paper.expand(1, 3, 20, 20).clone()
    z_c[..., paper_rows:, :] = torch.tensor([1.0, 0.6, 0.1]).view(1, 3, 1, 1) + 0.05 * torch.randn(1, 3, 20 - paper_rows, 20, generator=g)
    z_c = z_c + 0.001 * torch.randn(z_c.shape, generator=g)
    z_s = paper.expand(1, 3, 20, 20).clone()
    z_s[..., 12:, :] = torch.tensor([0.4, 0.0, 0.4]).view(1, 3, 1, 1) + 0.05 * torch.randn(1, 3, 8, 20, generator=g)
    z_s[..., 19:, :] = 0.0
    return z_c, z_s, paper


@pytest.mark.parametrize("paper_rows", [8, 10, 12])
def test_the_tone_curve_keeps_white_paper_where_wct_greys_it(paper_rows):
    z_c, z_s, paper = _paper_and_ink(paper_rows)
    linear = wct(z_c, z_s)
    toned = tone_curve(linear, z_s)
    grey = (linear[..., :paper_rows, :] - paper).abs().amax(1).mean()
    kept = (toned[..., :paper_rows, :] - paper).abs().amax(1).mean()
    assert kept < 0.7 * grey  # measured: 0.027-0.053 against 0.055-0.118
    # along the style's main axis the values now have the style's distribution (to the smoothing)
    axis = torch.linalg.eigh(_cov(z_s)).eigenvectors[..., -1:].float()
    along = lambda z: (axis.transpose(1, 2) @ z.flatten(2)).sort(2).values  # noqa: E731
    assert (along(toned) - along(z_s)).abs().mean() < 0.5 * (along(linear) - along(z_s)).abs().mean()


def test_the_tone_curve_leaves_a_content_with_the_styles_tones_and_other_axes_alone():
    g = torch.Generator().manual_seed(4)
    z = torch.randn(1, 12, 40, 40, generator=g) * torch.linspace(0.5, 3, 12).view(1, 12, 1, 1)
    assert (tone_curve(z, z) - z).abs().max() < 0.02 * 3  # within the +-0.02 std window (the main axis has std 3)
    z_c, z_s = _latents()
    out = tone_curve(z_c, z_s)
    axes = torch.linalg.eigh(_cov(z_s)).eigenvectors.float()
    change = axes.transpose(1, 2) @ (out - z_c).flatten(2)
    assert change[:, :-1].abs().max() < 1e-4 and change[:, -1].abs().max() > 0.1  # the main axis only
    whole = torch.ones(1, 1, 9, 11)
    assert torch.equal(tone_curve(z_c, z_s, whole), out)  # weights 1 are no weights
    left = torch.zeros(1, 1, 9, 11)
    left[..., :5] = 1.0
    assert torch.allclose(tone_curve(z_c, z_s, left)[..., :5], tone_curve(z_c[..., :5], z_s), atol=1e-5)


def test_the_tone_anchor_is_wct_then_the_tone_curve_and_passes_gradients():
    z_c, z_s = _latents()
    module = _random_adaattn()
    plain = transfer(TransferSpec("adaattn", adaattn=module), z_c, [z_s])
    toned = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0, "covariance-tone")), z_c, [z_s])
    assert torch.allclose(toned, tone_curve(wct(plain, z_s), z_s), atol=1e-5)
    assert torch.equal(latent_distance(z_c, z_s, "covariance-tone"), latent_distance(z_c, z_s, "covariance"))
    z = z_c.clone().requires_grad_(True)
    out = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0, "covariance-tone")), z, [z_s])
    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(z.grad).all() and all(torch.isfinite(p.grad).all() for p in module.parameters())


def test_anchor_in_a_region_takes_that_regions_moments():
    z_c, z_s = _latents()
    z_s2 = torch.randn(2, 12, 5, 8) * 0.3 - 1
    module = AdaAttN(12)
    left = torch.zeros(1, 1, 9, 11)
    left[..., :5] = 1.0
    regions = torch.cat([left, 1 - left], 1)
    out = regional_transfer(TransferSpec("adaattn", regions=regions, adaattn=module, anchor=Anchor(1.0)), z_c, [z_s, z_s2])
    for k, z in enumerate((z_s, z_s2)):
        mask = regions[:, k : k + 1].expand_as(out).bool()
        part = out[mask].view(2, 12, -1)
        assert torch.allclose(part.mean(-1), z.flatten(2).mean(-1), atol=1e-4)


def test_alpha_blends_toward_content():
    z_c, z_s = _latents()
    full = transfer(TransferSpec("adain"), z_c, [z_s])
    assert torch.allclose(transfer(TransferSpec("adain", alpha=0.0), z_c, [z_s]), z_c)
    assert torch.allclose(transfer(TransferSpec("adain", alpha=0.25), z_c, [z_s]), 0.25 * full + 0.75 * z_c, atol=1e-6)
    # above 1 it extrapolates along the same line (the pipeline's gain)
    assert torch.allclose(transfer(TransferSpec("adain", alpha=1.5), z_c, [z_s]), 1.5 * full - 0.5 * z_c, atol=1e-5)
    with pytest.raises(ValueError, match="alpha"):
        transfer(TransferSpec("adain", alpha=-0.1), z_c, [z_s])


def test_output_blending_any_sizes_and_latent_blending_same_size():
    z_c, z_s = _latents()
    z_s2 = torch.randn(2, 12, 5, 13) + 4
    a, b = adain(z_c, z_s), adain(z_c, z_s2)
    out = transfer(TransferSpec("adain", style_weights=[3, 1]), z_c, [z_s, z_s2])
    assert torch.allclose(out, 0.75 * a + 0.25 * b, atol=1e-5)
    assert torch.allclose(transfer(TransferSpec("adain", style_weights=[1, 0]), z_c, [z_s, z_s2]), a, atol=1e-6)
    z_s3 = torch.randn_like(z_s)
    lat = transfer(TransferSpec("wct", style_weights=[1, 1], blend="latents"), z_c, [z_s, z_s3])
    assert torch.allclose(lat, wct(z_c, 0.5 * z_s + 0.5 * z_s3), atol=1e-5)
    with pytest.raises(ValueError, match="one size"):
        transfer(TransferSpec("adain", blend="latents"), z_c, [z_s, z_s2])


def test_bad_operator_arguments():
    z_c, z_s = _latents()
    with pytest.raises(ValueError, match="unknown method"):
        transfer(TransferSpec("nope"), z_c, [z_s])
    with pytest.raises(ValueError, match="weights"):
        transfer(TransferSpec("adain", style_weights=[1, 2]), z_c, [z_s])
    with pytest.raises(ValueError, match="AdaAttN"):
        transfer(TransferSpec("adaattn"), z_c, [z_s])


def test_anchor_is_one_checked_value_that_names_itself():
    assert str(Anchor(0.75)) == "anchor 0.75" and str(Anchor(1, "covariance")) == "anchor 1 (covariance)"
    assert str(Anchor(1, "covariance", 0.4)) == "anchor 1 (covariance, near 0.4)"
    assert str(Anchor(0.5, near=0.2)) == "anchor 0.5 (near 0.2)"
    assert Anchor(1).amount == 1.0 and isinstance(Anchor(1).amount, float)
    assert Anchor(near=0.3).active and not Anchor().active
    for amount, stats in ((1.5, "mean-std"), (-0.1, "mean-std"), (True, "mean-std"), (0.5, "median")):
        with pytest.raises(FlowstyleError):
            Anchor(amount, stats)
    for near in (-0.1, 11.0, True, float("nan")):
        with pytest.raises(FlowstyleError, match="anchor near"):
            Anchor(1.0, near=near)


def test_latent_distance_is_the_wasserstein_distance_over_the_styles_variance():
    z_c, z_s = _latents()
    for stats in ("mean-std", "covariance"):
        assert torch.allclose(latent_distance(z_c, z_c, stats), torch.zeros(2, 1, 1, 1), atol=1e-6)
        # restyled content has the style's statistics: distance 0, whatever its positions hold
        assert latent_distance(wct(z_c, z_s), z_s, stats).abs().max() < 1e-4
    # per-channel Gaussians: sum((dm)^2 + (ds)^2) / sum(s_s^2)
    m_c, s_c = mean_std(z_c, eps=0)
    m_s, s_s = mean_std(z_s, eps=0)
    expected = (((m_c - m_s) ** 2 + (s_c - s_s) ** 2).sum(1) / (s_s**2).sum(1)).view(-1, 1, 1, 1)
    assert torch.allclose(latent_distance(z_c, z_s, "mean-std"), expected, rtol=1e-3)
    # uncorrelated channels: the full-covariance distance is about the per-channel one
    assert torch.allclose(latent_distance(z_c, z_s, "covariance"), expected, rtol=0.2)
    # correlations the per-channel statistics cannot see make the full distance larger
    mix = torch.eye(12) + 0.9 * torch.roll(torch.eye(12), 1, 0)
    z_mixed = torch.einsum("ij,bjhw->bihw", mix, z_c)
    z_same_stds = adain(torch.randn_like(z_mixed), z_mixed)
    assert (latent_distance(z_same_stds, z_mixed, "mean-std") < 1e-3).all()
    assert (latent_distance(z_same_stds, z_mixed, "covariance") > 0.1).all()


@pytest.mark.parametrize("stats", ["mean-std", "covariance"])
def test_near_fade_leaves_a_content_with_the_styles_statistics_alone(stats):
    """AdaIN and WCT give a content back when it already has the style's statistics; the
    attention re-draws it. With the fade, the attention's own change goes as the distance does."""
    z_c, z_s = _latents()
    module = _random_adaattn()
    z_near = wct(z_c, z_s)  # the content's positions, the style's statistics
    attention = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0, stats)), z_near, [z_s])
    assert (attention - z_near).abs().max() > 0.1
    faded = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0, stats, near=0.5)), z_near, [z_s])
    assert torch.allclose(faded, z_near, atol=1e-3)
    # far pairs keep the attention's output exactly
    far = Anchor(1.0, stats, near=float(latent_distance(z_c, z_s, stats).min()) * 0.99)
    assert torch.equal(transfer(TransferSpec("adaattn", adaattn=module, anchor=far), z_c, [z_s]),
                       transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0, stats)), z_c, [z_s]))
    # in between: the global transfer plus distance / near of the attention's own change
    near = float(latent_distance(z_c, z_s, stats).max()) * 2
    halfway = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0, stats, near=near)), z_c, [z_s])
    full = transfer(TransferSpec("adaattn", adaattn=module, anchor=Anchor(1.0, stats)), z_c, [z_s])
    target = wct(z_c, z_s) if stats == "covariance" else adain(z_c, z_s)
    share = latent_distance(z_c, z_s, stats) / near
    assert torch.allclose(halfway, target + share * (full - target), atol=1e-4)
    assert torch.equal(transfer(TransferSpec("adain", anchor=Anchor(0.0, near=near)), z_c, [z_s]), adain(z_c, z_s))  # AdaAttN only


# ----------------------------------------------------------------- patch decorator

from flowstyle.operators import patch_swap, style_decorator  # noqa: E402
from flowstyle.operators.stats import quantile_match  # noqa: E402
from flowstyle.operators.patch import (  # noqa: E402
    DECORATOR_BALANCE, DECORATOR_MARKS, DECORATOR_MATCH_DIMS, DECORATOR_SCALE, DECORATOR_TONE, balanced_choice,
)


def test_patch_swap_of_a_latent_with_itself_gives_it_back():
    z, _ = _latents(3)
    assert torch.equal(patch_swap(z, z, patch=1), z)
    out = patch_swap(z, z, patch=3)
    # every whole content patch finds itself; the border's reflected patches have no twin and
    # overlap the next ring of positions too
    assert torch.allclose(out[..., 2:-2, 2:-2], z[..., 2:-2, 2:-2], atol=1e-6)


def test_patch_swap_at_a_coarser_scale_copies_whole_blocks():
    """scale=2 matches on 2x2-pooled latents and copies the style's full-resolution blocks."""
    z = torch.randn(1, 6, 20, 16, generator=torch.Generator().manual_seed(7))
    out = patch_swap(z, z, patch=3, scale=2)
    assert out.shape == z.shape
    assert torch.allclose(out[..., 6:-6, 6:-6], z[..., 6:-6, 6:-6], atol=1e-6)  # finds itself inside
    z_c = torch.randn(1, 6, 13, 11, generator=torch.Generator().manual_seed(8))  # odd sides
    centre = patch_swap(z_c, z, patch=3, scale=2, fold="centre")
    assert centre.shape == z_c.shape
    style_vectors = z[0].flatten(1).T
    for v in centre[0].flatten(1).T:
        assert torch.isclose(style_vectors, v).all(dim=1).any()
    with pytest.raises(ValueError):
        patch_swap(z_c, z, scale=0)


def test_patch_swap_builds_the_output_from_the_style_own_vectors():
    z_c, z_s = _latents(4)
    out = patch_swap(z_c, z_s, patch=3, fold="centre")
    for b in range(z_c.shape[0]):
        style_vectors = z_s[b].flatten(1).T  # (positions, C)
        for v in out[b].flatten(1).T:
            assert torch.isclose(style_vectors, v).all(dim=1).any()
    mean_fold = patch_swap(z_c, z_s, patch=3)
    assert mean_fold.shape == z_c.shape
    assert (mean_fold.amin() >= z_s.amin() - 1e-5) and (mean_fold.amax() <= z_s.amax() + 1e-5)


def test_patch_swap_is_the_same_in_any_chunks_and_checks_its_arguments(monkeypatch):
    z_c, z_s = _latents(5)
    whole = patch_swap(z_c, z_s, chunk=10_000)
    assert torch.equal(patch_swap(z_c, z_s, chunk=7), whole)
    monkeypatch.setattr("flowstyle.operators.patch.SCORE_BLOCK", 100)  # automatic blocks of a few rows
    assert torch.equal(patch_swap(z_c, z_s), whole)
    sub = patch_swap(z_c, z_s, max_patches=5, seed=1)
    assert torch.equal(sub, patch_swap(z_c, z_s, max_patches=5, seed=1))
    for bad in ({"patch": 2}, {"patch": 0}, {"fold": "max"}):
        with pytest.raises(ValueError):
            patch_swap(z_c, z_s, **bad)
    with pytest.raises(ValueError):
        patch_swap(z_c, z_s[..., :2, :2])


def test_style_decorator_is_the_swap_with_a_share_of_the_content_and_a_registered_operator():
    z_c, z_s = _latents(6)
    query = torch.lerp(z_c, quantile_match(z_c, z_s), DECORATOR_TONE)  # the search's: halfway to the style's values
    swapped = patch_swap(query, z_s, match_dims=DECORATOR_MATCH_DIMS, scale=DECORATOR_SCALE, balance=DECORATOR_BALANCE,
                         marks=DECORATOR_MARKS)
    assert torch.equal(style_decorator(z_c, z_s, mix=1.0), swapped)
    assert torch.allclose(style_decorator(z_c, z_s, mix=0.8), 0.8 * swapped + 0.2 * z_c)
    assert torch.equal(style_decorator(z_c, z_s, mix=0.0), z_c)
    assert torch.allclose(transfer(TransferSpec("patch"), z_c, [z_s]), style_decorator(z_c, z_s))
    # a style latent smaller than one enlarged patch is matched patch for patch; tone 0 searches with the photo's own
    small = z_s[..., : 3 * DECORATOR_SCALE - 1, : 3 * DECORATOR_SCALE - 1]
    assert torch.equal(style_decorator(z_c, small, mix=1.0, tone=0.0),
                       patch_swap(z_c, small, match_dims=DECORATOR_MATCH_DIMS, balance=DECORATOR_BALANCE,
                                  marks=DECORATOR_MARKS))


def test_the_search_in_the_styles_values_keeps_a_rare_motif_rare():
    """A dark, flat backdrop with one small bright motif: matched on the photo's own values, the
    photo's many strong spots all take the motif's patches; searched with the photo moved to the
    style's distribution of values, the motif's share of the result falls towards its share of
    the style."""
    g = torch.Generator().manual_seed(0)
    z_s = 0.05 * torch.randn(1, 4, 40, 40, generator=g)
    ramp = torch.linspace(-3, 3, 8)
    z_s[0, 0, 16:24, 16:24] += ramp[None, :]
    z_s[0, 1, 16:24, 16:24] += ramp[:, None]
    z_c = 2 * torch.nn.functional.interpolate(torch.randn(1, 4, 5, 5, generator=g), size=(40, 40), mode="bicubic",
                                              align_corners=True)

    def motif_share(z):
        return (z.abs().amax(1) > 1.0).float().mean().item()

    shares = [motif_share(style_decorator(z_c, z_s, mix=1.0, tone=tone)) for tone in (0.0, DECORATOR_TONE, 1.0)]
    assert shares[0] > 3 * motif_share(z_s)  # the motif spread over the photo
    assert shares[0] >= shares[1] > shares[2] and shares[2] < 0.6 * shares[0]


def _detail(z):
    """Each channel's deviation from its 3 x 3 local mean: the marks a fold keeps or blurs."""
    local = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(z, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return (z - local)[..., 1:-1, 1:-1].std()


def test_patch_swap_with_marks_keeps_the_style_fine_detail_whole():
    """The fine band comes from each position's own match: a grainy style keeps its grain (the
    mean of 9 misaligned blocks keeps a third of it), a smooth style gets the plain mean fold."""
    g = torch.Generator().manual_seed(21)
    z = torch.randn(1, 6, 20, 16, generator=g)
    out = patch_swap(z, z, patch=3, scale=2, marks=1.0)  # the two bands add back up
    assert torch.allclose(out[..., 6:-6, 6:-6], z[..., 6:-6, 6:-6], atol=1e-5)
    z_c, grainy = torch.randn(1, 6, 24, 24, generator=g), torch.randn(1, 6, 30, 30, generator=g)
    averaged, marked = patch_swap(z_c, grainy, scale=2), patch_swap(z_c, grainy, scale=2, marks=1.0)
    assert _detail(marked) > 2 * _detail(averaged)
    assert 0.5 < _detail(marked) / _detail(grainy) < 1.2
    smooth = torch.nn.functional.interpolate(torch.randn(1, 6, 4, 4, generator=g), size=(30, 30), mode="bicubic",
                                             align_corners=True)
    averaged, marked = patch_swap(z_c, smooth, scale=2), patch_swap(z_c, smooth, scale=2, marks=1.0)
    assert (marked - averaged).abs().mean() < 0.05 * smooth.std()
    assert torch.equal(patch_swap(z_c, grainy, fold="centre", marks=1.0), patch_swap(z_c, grainy, fold="centre"))
    with pytest.raises(ValueError):
        patch_swap(z_c, grainy, marks=-1.0)


def test_the_recipe_marks_reach_the_patch_operator():
    z_c, z_s = _latents(8)
    averaged = transfer(TransferSpec("patch", marks=0.0), z_c, [z_s])
    assert torch.equal(averaged, style_decorator(z_c, z_s, marks=0.0))
    assert torch.equal(transfer(TransferSpec("patch"), z_c, [z_s]), style_decorator(z_c, z_s, marks=DECORATOR_MARKS))
    assert not torch.equal(averaged, style_decorator(z_c, z_s))


def _plain_choice(query, unit):
    return (query.T @ unit).argmax(dim=1)


def test_balanced_choice_without_strength_is_the_plain_best_match():
    g = torch.Generator().manual_seed(11)
    query, unit = torch.randn(24, 300, generator=g), torch.randn(24, 90, generator=g)
    unit = unit / unit.norm(dim=0, keepdim=True)
    assert torch.equal(balanced_choice(query, unit, 0.0, step=300), _plain_choice(query, unit))


def test_balanced_choice_shares_out_a_patch_everyone_prefers():
    """300 positions all closest to one style patch: plain matching takes it 300 times; shared
    out, each patch is taken about its fair share, the same in any blocks of positions."""
    g = torch.Generator().manual_seed(12)
    unit = torch.randn(24, 100, generator=g)
    unit = unit / unit.norm(dim=0, keepdim=True)
    query = unit[:, :1] + 0.3 * torch.randn(24, 300, generator=g) / 24**0.5
    plain = torch.bincount(_plain_choice(query, unit), minlength=100)
    assert plain.max() > 250
    shared = balanced_choice(query, unit, 1.0, step=300)
    usage = torch.bincount(shared, minlength=100)
    assert usage.max() <= 12 and (usage > 0).sum() >= 60  # fair share: 3 each
    assert torch.equal(balanced_choice(query, unit, 1.0, step=7), shared)
    halfway = torch.bincount(balanced_choice(query, unit, 0.5, step=300), minlength=100)
    assert usage.max() < halfway.max() <= plain.max()  # a strong preference outweighs half the strength


def test_balanced_patch_swap_of_a_latent_with_itself_still_gives_it_back():
    """Each patch used once is the fair share: every whole patch still finds itself."""
    z, _ = _latents(3)
    out = patch_swap(z, z, patch=3, balance=1.0)
    assert torch.allclose(out[..., 2:-2, 2:-2], z[..., 2:-2, 2:-2], atol=1e-6)


def test_the_recipe_balance_reaches_the_patch_operator():
    z_c, z_s = _latents(7)
    plain = transfer(TransferSpec("patch", balance=0.0), z_c, [z_s])
    assert torch.equal(plain, style_decorator(z_c, z_s, balance=0.0))
    assert torch.equal(transfer(TransferSpec("patch"), z_c, [z_s]), style_decorator(z_c, z_s, balance=DECORATOR_BALANCE))


def test_quantile_match_keeps_the_order_and_takes_the_references_values():
    z = torch.randn(1, 3, 6, 5)
    ref = torch.rand(1, 3, 4, 4) * 4 + 2
    out = quantile_match(z, ref)
    for ch in range(3):
        assert torch.equal(out[0, ch].flatten().argsort(), z[0, ch].flatten().argsort())
        assert out[0, ch].min() == ref[0, ch].min() and out[0, ch].max() == ref[0, ch].max()
    assert torch.allclose(quantile_match(ref, ref), ref)
