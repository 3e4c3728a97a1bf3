"""research.average_weights: the mean of checkpoints is each tensor's mean, and still an exactly
invertible flow."""

import pytest
import torch

from flowstyle.flow import FlowConfig
from flowstyle.models import init_model, load_model, save_model
from research.average_weights import average
from ..conftest import perturb


def _model(seed: int):
    torch.manual_seed(seed)
    model = init_model(FlowConfig(n_block=2, n_flow=1, width=8), method="adain", size=32)
    perturb(model, 0.05, seed=seed + 1)
    return model.eval()


def test_the_mean_of_two_checkpoints_is_each_tensors_mean_and_inverts_exactly(tmp_path):
    a, b = _model(0), _model(1)
    paths = [str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors")]
    save_model(a, paths[0])
    save_model(b, paths[1])
    out = tmp_path / "mean.safetensors"
    average(str(out), paths)
    mean = load_model(str(out))
    sa, sb, sm = a.state_dict(), b.state_dict(), mean.state_dict()
    changed = [k for k in sm if not torch.equal(sa[k], sb[k])]
    assert changed  # the two checkpoints differ
    for k in sm:
        torch.testing.assert_close(sm[k], (sa[k].double() + sb[k].double()).div(2).to(sa[k].dtype))
    x = torch.rand(1, 3, 32, 32, dtype=torch.float64)
    flow = mean.flow.double()
    torch.testing.assert_close(flow.decode(flow.encode(x)), x, atol=1e-9, rtol=0)


def test_checkpoints_of_different_architectures_are_refused(tmp_path):
    small = init_model(FlowConfig(n_block=1, n_flow=1, width=8), method="adain", size=32)
    paths = [str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors")]
    save_model(_model(0), paths[0])
    save_model(small, paths[1])
    with pytest.raises(SystemExit, match="architectures differ"):
        average(str(tmp_path / "mean.safetensors"), paths)
