"""Colour preservation: CIELAB conversions, keep_luminance, match_color, the pipeline option."""

import numpy as np
import pytest
import torch
from skimage import color

from flowstyle.image.color import grey, keep_luminance, lab_to_rgb, match_color, rgb_to_lab
from flowstyle.image.io import image_to_tensor
from flowstyle.pipeline import Stylizer


def _delta_e(a: torch.Tensor, b: torch.Tensor) -> float:
    la = color.rgb2lab(a[0].permute(1, 2, 0).double().numpy())
    lb = color.rgb2lab(b[0].permute(1, 2, 0).double().numpy())
    return float(np.mean(color.deltaE_ciede2000(la, lb)))


def test_lab_matches_scikit_image_and_round_trips(photos):
    x = image_to_tensor(photos["coffee"]).double()
    lab = rgb_to_lab(x)
    ref = color.rgb2lab(x[0].permute(1, 2, 0).numpy())
    assert np.abs(lab[0].permute(1, 2, 0).numpy() - ref).max() < 1e-3
    assert torch.allclose(lab_to_rgb(lab), x, atol=1e-9)


def test_keep_luminance_takes_lightness_from_one_and_chroma_from_the_other(photos):
    content = image_to_tensor(photos["chelsea"]).double()
    stylized = image_to_tensor(photos["astronaut"].resize(photos["chelsea"].size)).double()
    out = keep_luminance(stylized, content)
    lab_out, lab_c, lab_s = rgb_to_lab(out), rgb_to_lab(content), rgb_to_lab(stylized)
    inside = (out > 0).all(1) & (out < 1).all(1)  # pixels not clipped to the sRGB gamut
    assert inside.float().mean() > 0.5
    assert (lab_out[:, 0] - lab_s[:, 0])[inside].abs().max() < 1e-6
    assert (lab_out[:, 1:] - lab_c[:, 1:]).permute(1, 0, 2, 3)[:, inside].abs().max() < 1e-6
    with pytest.raises(ValueError):
        keep_luminance(stylized[..., :10], content)


def test_grey_has_no_chroma(photos):
    g = grey(image_to_tensor(photos["coffee"]))
    assert (g[:, 0] - g[:, 1]).abs().max() < 1e-4 and (g[:, 1] - g[:, 2]).abs().max() < 1e-4


def test_match_color_gives_the_style_the_contents_colour_statistics(photos):
    style = image_to_tensor(photos["coffee"]).double()
    content = image_to_tensor(photos["rocket"]).double()
    out = match_color(style, content)
    assert out.shape == style.shape
    mean = lambda x: x.flatten(2).mean(2)
    assert (mean(out) - mean(content)).abs().max() < 0.02  # clamping to [0, 1] moves it a little
    cov = lambda x: torch.cov(x.flatten(2)[0])
    assert (cov(out) - cov(content)).abs().max() < 0.01


def test_preserve_color_keeps_the_contents_colours(tiny_model, photos):
    stylizer = Stylizer(tiny_model)
    content = image_to_tensor(photos["astronaut"])
    plain = stylizer.stylize_tensor(content, photos["coffee"], pad=8)
    kept = stylizer.stylize_tensor(content, photos["coffee"], pad=8, preserve_color=True)
    assert kept.shape == plain.shape
    assert _delta_e(kept, content) < _delta_e(plain, content)
    # a luminance-only transfer: the lightness is that of the grey content stylized by the grey style
    luma = stylizer.stylize_tensor(grey(content), grey(image_to_tensor(photos["coffee"])), pad=8)
    assert torch.allclose(kept, keep_luminance(luma, content), atol=1e-6)
