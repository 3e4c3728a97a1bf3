"""Row-tiled encode/decode equals the untiled flow; the tiling rule and the cost model."""

import pytest
import torch
from torch import nn

from flowstyle.errors import FlowstyleError
from flowstyle.flow import ArtFlow, FlowConfig
from flowstyle.flow.layers import ActNorm
from flowstyle.pipeline import Stylizer
from flowstyle.pipeline.stylizer import encodes_exactly
from flowstyle.flow.tiling import _banded, auto_tile_rows, coupling_halo, coupling_macs, tiled_decode, tiled_encode
from flowstyle.models import init_model

from ..conftest import perturb, rng_image

TOL = 1e-4


@pytest.fixture(scope="module", params=[1, 2], ids=["1block", "2blocks"])
def flow(request) -> ArtFlow:
    model = init_model(FlowConfig(n_block=request.param, n_flow=2, width=12), size=64)
    perturb(model, 0.05)
    return model.flow.eval()


@pytest.mark.parametrize("tile", [1, 4, 8, 12, 20, 44])
def test_tiled_encode_and_decode_equal_untiled(flow, tile):
    x = rng_image(3, 48, 24)  # 48 rows: most tile sizes do not divide it
    with torch.inference_mode():
        z = flow.encode(x)
        assert (tiled_encode(flow, x, tile) - z).abs().max() < TOL
        assert (tiled_decode(flow, z, tile) - flow.decode(z)).abs().max() < TOL


def test_one_row_tiles_and_nonsense_tiles(flow):
    x = rng_image(4, 16, 8)
    with torch.inference_mode():
        z = flow.encode(x)
        assert (tiled_encode(flow, x, 1) - z).abs().max() < TOL
        assert (tiled_decode(flow, z, 1) - flow.decode(z)).abs().max() < TOL
        for bad in (0, -4, 2.5, True):
            with pytest.raises(ValueError, match="tile rows"):
                tiled_encode(flow, x, bad)
            with pytest.raises(ValueError, match="tile rows"):
                tiled_decode(flow, z, bad)


def test_coupling_halo_is_exactly_the_receptive_radius(flow):
    """Two 3x3 convs: a halo of 2 latent rows is exact, 1 row is not (the test has teeth)."""
    step = flow.blocks[0].steps[-1]
    assert coupling_halo(step) == 2
    assert coupling_halo(ArtFlow(FlowConfig(n_block=1, n_flow=0, n_trans=1, width=4)).blocks[0].steps[0]) == 0
    x = torch.randn(1, 12, 24, 8, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        for fn in (step, step.reverse):
            whole = fn(x)
            assert (_banded(fn, x, 1, 2) - whole).abs().max() < TOL
            assert (_banded(fn, x, 1, 1) - whole).abs().max() > 10 * TOL


def test_uninitialised_flow_is_refused():
    with pytest.raises(ValueError, match="initialised"):
        tiled_encode(ArtFlow(FlowConfig(n_block=1, n_flow=1, width=4)), rng_image(0, 8, 8), 2)


@pytest.mark.parametrize("method", ["adain", "wct"])
@pytest.mark.parametrize("phases", [1, 4])
def test_stylize_tiled_equals_untiled(tiny_model, photos, method, phases):
    stylizer = Stylizer(tiny_model)
    content = photos["astronaut"].crop((0, 0, 30, 42))  # padded to 52 x 40: 8 and 20 do not divide 52
    options = dict(method=method, recipe=dict(phases=phases), pad=4)
    whole = stylizer.stylize_tensor(content, photos["coffee"], tile=0, **options)
    for tile in (8, 20) if phases == 1 else (20,):
        tiled = stylizer.stylize_tensor(content, photos["coffee"], tile=tile, **options)
        assert (tiled - whole).abs().max() < TOL


def test_stylize_tile_option_errors(tiny_model, photos):
    stylizer = Stylizer(tiny_model)
    for bad in (-1, 1.5, "8"):
        with pytest.raises(FlowstyleError, match="tile"):
            stylizer.stylize(photos["astronaut"], photos["coffee"], tile=bad)
    with pytest.raises(FlowstyleError, match="precision"):
        Stylizer(tiny_model, precision="fp8")


def test_bf16_precision_stays_close_to_float32(tiny_model, photos):
    full = Stylizer(tiny_model).stylize_tensor(photos["astronaut"], photos["coffee"], pad=8)
    half = Stylizer(tiny_model, precision="bf16").stylize_tensor(photos["astronaut"], photos["coffee"], pad=8)
    assert half.dtype == torch.float32 and (half - full).abs().mean() < 1 / 255


def test_auto_tiling_rule():
    cfg = FlowConfig(n_block=2, n_flow=8, width=128)
    assert auto_tile_rows(cfg, 384, 384) is None  # small: one pass (19 MiB hidden activations)
    assert auto_tile_rows(cfg, 640, 640, element_bytes=2) is None  # 26 MiB in bf16: still whole
    assert auto_tile_rows(cfg, 640, 640) == 204  # 52 MiB in float32: bands
    # speed limit: a first-block hidden activation (128 ch x 576 x rows/2, float32) under 16 MiB
    rows = auto_tile_rows(cfg, 1152, 1152)
    assert rows == 112 and 128 * 576 * (rows // 2) * 4 <= 16 * 2**20
    assert auto_tile_rows(cfg, 1152, 1152, element_bytes=2) == 224  # bf16: twice the rows
    assert auto_tile_rows(cfg, 8192, 8192) == 64  # never below the minimum band
    # memory limit: a tight budget wins over the speed limit
    assert auto_tile_rows(cfg, 1152, 1152, budget_bytes=2**24) == 64
    assert auto_tile_rows(FlowConfig(n_block=2, n_flow=8, width=4), 1152, 1152) is None


def test_coupling_macs_by_hand_and_by_counting_the_convolutions():
    # 1 block, 1 flow, width 4, 4x4 image: 12 channels (6 per half) at 2x2 = 4 positions;
    # per position conv3x3 6->4: 9*6*4 = 216, conv1x1 4->4: 16, conv3x3 4->6: 216.
    assert coupling_macs(FlowConfig(n_block=1, n_flow=1, width=4), 4, 4) == 4 * (216 + 16 + 216)
    # affine: the last conv outputs all 12 channels: 9*4*12 = 432 instead of 216
    assert coupling_macs(FlowConfig(n_block=1, n_flow=1, width=4, coupling="affine"), 4, 4) == 4 * (216 + 16 + 432)
    for coupling in ("additive", "affine"):
        flow = ArtFlow(FlowConfig(n_block=2, n_flow=2, n_trans=1, width=8, coupling=coupling))
        counted = _count_coupling_macs(flow, torch.zeros(1, 3, 16, 24))
        assert coupling_macs(flow.config, 16, 24) == counted


def _count_coupling_macs(flow: ArtFlow, x: torch.Tensor) -> int:
    """Multiply-adds of every Conv2d inside a coupling net, from the shapes it actually sees."""
    total = 0

    def hook(module: nn.Conv2d, inputs, output) -> None:
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1]
        total += output.numel() * module.in_channels * k

    handles = [
        m.register_forward_hook(hook)
        for name, m in flow.named_modules()
        if isinstance(m, nn.Conv2d) and ".net." in name
    ]
    with torch.no_grad():
        for module in flow.modules():  # skip the data-dependent ActNorm init: shapes suffice
            if isinstance(module, ActNorm):
                module.initialized.fill_(1)
    flow.encode(x)  # with autograd on, so the coupling nets run module by module (the hooks fire)
    for handle in handles:
        handle.remove()
    return total


def test_bf16_encodes_the_patch_operator_latents_in_float32(tiny_model, photos):
    """The patch operator's choices are discrete: under bf16 its latents are still encoded in
    float32 (only the decoding is rounded), other methods encode in bf16."""
    full, half = Stylizer(tiny_model), Stylizer(tiny_model, precision="bf16")
    exact = full.encode_style(photos["coffee"], 64, exact=True)
    assert torch.equal(half.encode_style(photos["coffee"], 64, exact=encodes_exactly("patch")), exact)
    assert not torch.equal(half.encode_style(photos["coffee"], 64, exact=encodes_exactly("adain")), exact)
    encoded = []
    original = half._encode
    half._encode = lambda x, tile, *blocks, **kw: encoded.append(kw.get("exact")) or original(x, tile, *blocks, **kw)
    half.stylize_tensor(photos["astronaut"], photos["chelsea"], method="patch", pad=8, size=64)
    half.stylize_tensor(photos["astronaut"], photos["chelsea"], method="adain", pad=8, size=64)
    assert encoded == [True, True, False, False]  # style, photo; style, photo
