"""DivergenceGuard: fires on a sustained blow-up, not on noisy batches nor before a full window;
refuses saves during the blow-up; its state survives a checkpoint."""

import math
import random

import pytest

from flowstyle.cli.main import build_parser
from flowstyle.errors import FlowstyleError
from flowstyle.training.config import TrainConfig
from flowstyle.training.divergence import SAVE_WINDOW, WINDOW, DivergenceGuard


def _noisy(rng: random.Random, base: float) -> float:
    """One batch's loss: 2-3x between batches (log-uniform over x/1.7..x*1.7), and now and then
    a single batch 5x off."""
    loss = base * math.exp(rng.uniform(-math.log(1.7), math.log(1.7)))
    return loss * 5 if rng.random() < 0.02 else loss


def test_fires_on_a_sustained_20x_jump_and_stops_saves_before_it_fires():
    rng = random.Random(0)
    guard = DivergenceGuard(10.0)
    for _ in range(200):
        guard.observe(_noisy(rng, 5.0))
        assert not guard.diverged and guard.save_allowed
    reference = guard.best
    fired = refused = None
    for i in range(1, WINDOW + 1):
        guard.observe(_noisy(rng, 100.0))
        if refused is None and not guard.save_allowed:
            refused = i
        if guard.diverged:
            fired = i
            break
    assert fired is not None and fired <= WINDOW // 2 + 2  # the median needs half a window of bad steps
    assert refused is not None and refused <= SAVE_WINDOW // 2 + 2 and refused < fired
    assert guard.best == reference and guard.median > 10 * reference


def test_noisy_but_stationary_or_falling_losses_never_fire():
    for seed in range(5):
        rng = random.Random(seed)
        guard = DivergenceGuard(10.0)
        for i in range(2000):
            guard.observe(_noisy(rng, 5.0 + 15.0 * math.exp(-i / 200)))  # falls from 20 to 5, then flat
            assert not guard.diverged and guard.save_allowed, (seed, i)
    spiky = DivergenceGuard(10.0)
    for i in range(500):
        spiky.observe(1000.0 if i % 10 == 0 else 5.0)  # one wild batch in ten
        assert not spiky.diverged and spiky.save_allowed


def test_a_loss_that_settles_higher_keeps_saving():
    """A healthy run whose loss settles 2x above its lowest (a loss term added on resume) is
    neither stopped nor refused saves. With these noisy batches its 8-step medians reach about
    3.7-4.2x the reference: above sqrt(10), below the save threshold of 5."""
    for seed in range(3):
        rng = random.Random(seed)
        guard = DivergenceGuard(10.0)
        highest = 0.0
        for i in range(1500):
            guard.observe(_noisy(rng, 5.0 if i < 500 else 10.0))
            assert not guard.diverged and guard.save_allowed, (seed, i)
            if guard.best:
                highest = max(highest, guard.recent_median / guard.best)
        assert highest > math.sqrt(10)  # the square root alone would have refused saves here
    assert guard.save_factor == 5.0 and DivergenceGuard(1.5).save_factor == math.sqrt(1.5)


def test_nothing_is_judged_before_a_full_window():
    guard = DivergenceGuard(10.0)
    for i in range(WINDOW - 1):
        guard.observe(1.0 if i < 5 else 1e6)  # a first few low steps, then anything
        assert not guard.diverged and guard.save_allowed and guard.best is None
    guard.observe(1e6)
    assert guard.full and guard.best == 1e6 and not guard.diverged  # the reference is the first full window's


def test_factor_zero_turns_it_off():
    guard = DivergenceGuard(0.0)
    for i in range(3 * WINDOW):
        guard.observe(1.0 if i < WINDOW else 1e9)
    assert not guard.diverged and guard.save_allowed and guard.best == 1.0  # still recorded


def test_state_round_trips_and_old_checkpoints_start_afresh():
    rng = random.Random(1)
    a = DivergenceGuard(10.0)
    for _ in range(WINDOW + 7):
        a.observe(_noisy(rng, 5.0))
    b = DivergenceGuard(10.0)
    b.load_state_dict(a.state_dict())
    assert list(b.losses) == list(a.losses) and b.best == a.best
    for i in range(WINDOW):  # the resumed guard is judged against the same reference
        loss = 5.0 * (1.3**i)
        a.observe(loss)
        b.observe(loss)
        assert (a.diverged, a.save_allowed, a.best) == (b.diverged, b.save_allowed, b.best)
    assert a.diverged
    old = DivergenceGuard(10.0)
    old.load_state_dict({})
    assert not old.losses and old.best is None


@pytest.mark.parametrize("value", [-1.0, 0.5, 1.0, float("nan")])
def test_config_checks_the_factor(value):
    with pytest.raises(FlowstyleError, match=r"divergence must be 0 \(off\) or above 1"):
        TrainConfig(content_dir="c", style_dir="s", out="o", divergence=value)
    assert TrainConfig(content_dir="c", style_dir="s", out="o", divergence=0).divergence == 0
    assert TrainConfig(content_dir="c", style_dir="s", out="o").divergence == 10.0


def test_train_has_the_flag():
    args = build_parser().parse_args(["train", "--content-dir", "c", "--style-dir", "s", "--out", "o", "--divergence", "4"])
    assert args.divergence == 4.0
