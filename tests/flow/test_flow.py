"""The flow is an exact bijection, for every configuration the report trained."""

import pytest
import torch
from torch import nn

from flowstyle.flow import ArtFlow, FlowConfig
from flowstyle.flow.layers import CouplingNet, Squeeze, squeeze2x2, unsqueeze2x2
from flowstyle.image.io import image_to_tensor

from ..conftest import perturb

REPORT_CONFIGS = [(2, 8), (1, 16), (1, 24), (3, 4)]


def _max_err(flow: ArtFlow, x: torch.Tensor) -> float:
    with torch.no_grad():
        return (flow.decode(flow.encode(x)) - x).abs().max().item()


@pytest.mark.parametrize("n_block,n_flow", REPORT_CONFIGS)
@pytest.mark.parametrize("n_trans", [0, 1, 2])
def test_every_report_config_builds_and_inverts(n_block, n_flow, n_trans):
    flow = ArtFlow(FlowConfig(n_block, n_flow, n_trans, width=8))
    x = torch.rand(2, 3, 16, 16)
    flow.initialize(x)
    perturb(flow, 0.01)
    z = flow.encode(x)
    assert z.shape == (2, 3 * 4**n_block, 16 // 2**n_block, 16 // 2**n_block)
    assert _max_err(flow, x) < 1e-4


@pytest.mark.parametrize("n_block,n_flow", [(2, 8), (1, 16)])
@pytest.mark.parametrize("coupling", ["additive", "affine"])
def test_invertible_before_init_after_init_and_after_training(n_block, n_flow, coupling, photos):
    flow = ArtFlow(FlowConfig(n_block, n_flow, width=32, coupling=coupling))
    real = torch.cat([image_to_tensor(photos[n].crop((0, 0, 48, 48))) for n in ("astronaut", "coffee")])
    noise = torch.rand(2, 3, 48, 48)
    assert not flow.initialized
    # before ActNorm init: use reverse only on an initialised copy would hide bugs, so check layers directly
    assert _max_err(flow, real) < 1e-4  # the first encode initialises; decode must match it
    assert flow.initialized
    assert _max_err(flow, noise) < 1e-4
    opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
    for _ in range(3):
        loss = flow.encode(real).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    coupling_weights = [m.net[-1].weight for m in flow.modules() if hasattr(m, "net")]
    assert any(w.abs().sum() > 0 for w in coupling_weights), "training left the couplings at identity"
    assert _max_err(flow, real) < 1e-4
    assert _max_err(flow, noise) < 1e-4


def test_actnorm_init_normalises_first_batch():
    flow = ArtFlow(FlowConfig(1, 1, width=4))
    x = torch.rand(8, 3, 16, 16) * 3 + 5
    flow.initialize(x)
    actnorm = flow.blocks[0].steps[0].actnorm
    y = actnorm(squeeze2x2(x))
    assert torch.allclose(y.mean((0, 2, 3)), torch.zeros(12), atol=1e-4)
    assert torch.allclose(y.std((0, 2, 3)), torch.ones(12), atol=1e-3)
    before = actnorm.loc.clone()
    flow.encode(torch.rand(2, 3, 16, 16))  # later batches do not re-initialise
    assert torch.equal(before, actnorm.loc)


@pytest.mark.parametrize("kind", ["checkerboard", "haar"])
def test_squeezes_are_exact_inverses(kind):
    x = torch.randn(2, 3, 8, 12)
    sq = Squeeze(kind)
    y = sq(x)
    assert y.shape == (2, 12, 4, 6)
    assert torch.allclose(sq.reverse(y), x, atol=1e-6)
    assert torch.equal(unsqueeze2x2(squeeze2x2(x)), x)
    if kind == "haar":  # orthonormal: energy preserved
        assert torch.allclose(y.pow(2).sum(), x.pow(2).sum(), rtol=1e-5)


def test_checkerboard_squeeze_layout():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    y = squeeze2x2(x)
    assert y[0, :, 0, 0].tolist() == [0.0, 1.0, 4.0, 5.0]  # channel = 2*dy + dx


def _coupling_params(c_half: int, width: int, out: int) -> int:
    return c_half * width * 9 + width + width * width + width + width * out * 9 + out


@pytest.mark.parametrize("n_block,n_flow,n_trans,coupling", [(2, 8, 0, "additive"), (1, 16, 2, "affine"), (3, 4, 1, "additive")])
def test_parameter_count_matches_arithmetic(n_block, n_flow, n_trans, coupling):
    width = 24
    flow = ArtFlow(FlowConfig(n_block, n_flow, n_trans, width=width, coupling=coupling))
    expected = 0
    for level in range(1, n_block + 1):
        c = 3 * 4**level
        step = 2 * c + 2 * c * c + c  # ActNorm loc+scale; LU: lower, upper (masked), log|s|
        out = c // 2 if coupling == "additive" else c
        expected += (n_flow + n_trans) * step + n_flow * _coupling_params(c // 2, width, out)
    assert sum(p.numel() for p in flow.parameters()) == expected


def test_report_size_model_has_about_6_4m_parameters():
    flow = ArtFlow(FlowConfig(2, 8, 0, width=512))
    n = sum(p.numel() for p in flow.parameters())
    assert 6.0e6 < n < 6.8e6


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("coupling", ["additive", "affine"])
def test_cpu_inference_path_matches_the_training_path(coupling, fused, monkeypatch):
    """CouplingNet's channels-last inference path (oneDNN-fused or plain) computes what its layers compute."""
    from flowstyle.flow import layers

    if not fused:
        monkeypatch.setattr(layers, "_ONEDNN_FUSED", False)
    torch.manual_seed(0)
    net = CouplingNet(6, 16, 12 if coupling == "affine" else 6)
    for conv in net:
        if isinstance(conv, nn.Conv2d):
            nn.init.normal_(conv.weight, 0.0, 0.2)
    a = torch.randn(2, 6, 10, 14)
    expected = nn.Sequential.forward(net, a.clone())
    with torch.inference_mode():
        fast = net(a)
    assert fast.is_contiguous() and fast.shape == expected.shape
    assert torch.allclose(fast, expected, atol=1e-5)
    # under bf16 autocast it computes in bf16, like the plain layers do, and hands the result
    # back in its input's dtype (the flow's state stays float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = nn.Sequential.forward(net, a.clone())
        with torch.inference_mode():
            fast = net(a)
    assert expected.dtype == torch.bfloat16 and fast.dtype == torch.float32
    assert not torch.allclose(fast, net(a), atol=1e-6)  # it did round
    assert torch.allclose(fast.float(), expected.float(), atol=0.05 * expected.abs().max().item())


def test_wrong_sizes_are_rejected():
    flow = ArtFlow(FlowConfig(2, 1, width=4))
    with pytest.raises(ValueError, match="multiples of 4"):
        flow.encode(torch.rand(1, 3, 10, 12))
    with pytest.raises(ValueError):
        ArtFlow(FlowConfig(2, 1, width=4, coupling="nope"))


def test_under_bf16_autocast_only_the_coupling_nets_round():
    """bf16 is for the coupling nets' convolutions: the invertible 1x1 convolution (its weight
    too) and the state between steps stay float32. Rounding them cost ~1/255 per pixel."""
    flow = ArtFlow(FlowConfig(2, 4, width=16))
    x = torch.rand(1, 3, 32, 32)
    flow.initialize(x)
    perturb(flow, 0.05)
    step = flow.blocks[0].steps[0]
    h = torch.randn(1, 12, 16, 16)
    with torch.no_grad():
        full_conv, full_z = step.invconv(h), flow.encode(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half_conv, half_z = step.invconv(h), flow.encode(x)
            assert step.invconv.reverse(half_conv).dtype == torch.float32
            assert step(h).dtype == torch.float32
    assert torch.equal(half_conv, full_conv)
    assert half_z.dtype == torch.float32
    relative = ((half_z - full_z).abs().mean() / full_z.abs().mean()).item()
    assert 0 < relative < 2e-3  # the nets did run in bf16, and only they rounded
