"""research.distill_drift replays a run's batches through the trained path and the teacher's."""

import numpy as np
import pytest
from PIL import Image

from flowstyle.flow import FlowConfig
from flowstyle.training.config import TrainConfig
from flowstyle.training.trainer import train
from research.distill_drift import drift


@pytest.fixture(scope="module")
def one_block_runs(tmp_path_factory):
    """Two 1-block AdaAttN models trained a few steps on tiny folders: the start and a later one."""
    root = tmp_path_factory.mktemp("drift")
    rng = np.random.default_rng(0)
    for kind in ("content", "style"):
        (root / kind).mkdir()
        for i in range(3):
            Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(root / kind / f"{i}.png")
    common = dict(content_dir=str(root / "content"), style_dir=str(root / "style"), batch=2, crop=32, resize=40,
                  flow=FlowConfig(n_block=1, n_flow=2, width=16), method="adaattn", lr=1e-3, sample_every=0,
                  workers=0, device="cpu")
    start = train(TrainConfig(**common, out=str(root / "start"), iters=2), progress=False)
    later = train(TrainConfig(**common, out=str(root / "later"), iters=6, init=str(start)), progress=False)
    data = dict(content_dir=common["content_dir"], style_dir=common["style_dir"], batch=2, crop=32, resize=40)
    return str(start), str(later), data


def test_the_all_phase_path_is_exactly_its_own_teacher(one_block_runs):
    start, later, data = one_block_runs
    own = drift(start, start, [1, 2, 5], phases=4, **data)  # 4 phases = all of one block
    assert max(own.values()) < 1e-10
    one_pass = drift(start, start, [1, 2, 5], phases=1, **data)
    assert min(one_pass.values()) > 1e-8  # one pass is not the phase average
    moved = drift(later, start, [1, 2, 5], phases=4, **data)
    assert min(moved.values()) > 1e-8  # trained on: away from the frozen start
    assert drift(start, start, [1, 2, 5], phases=1, **data) == one_pass  # the same batches each time
    shown = drift(start, start, [1, 2, 5], phases=1, clamped=True, **data)
    assert all(shown[s] <= one_pass[s] for s in shown)  # clipping to 0..1 only brings values together
