"""DivergenceGuard: stop a run whose loss blows up while staying finite, and keep the checkpoint
from before the blow-up.

Why: a run with too high a learning rate grew its losses 1000x over about 100 steps without
reaching inf, so the NaN check in `Trainer.run` never fired, and its scheduled checkpoints
replaced the good one with diverged weights. The rules, in terms of the median total loss
over the last `window` steps ("the median") and the lowest such median of the run so far
("the reference"):

- diverged: the median is above `factor` x the reference. A median over a window ignores the
  single noisy batches (per-batch losses vary 2-3x in a healthy run); measuring against the
  lowest median, not the first, follows the reference down as training improves; nothing is
  judged before the window is full, so the first steps of a run (high, falling) never count.
- a checkpoint is refused while the median of the last `window // 4` steps is above
  `save_factor` x the reference: max(sqrt(factor), factor / 2), 5 for the default 10. The
  shorter median reacts to a blow-up a few steps after it starts (the full window lags by half
  its length, ~16 steps, by which time a 9%-per-step blow-up has already quadrupled the loss)
  and still ignores up to `window // 8` bad batches. Healthy runs reach more than sqrt(10) on
  that short median: replayed through this guard, the logged losses of a Haar flow trained from
  scratch (noisy batches, a loss term added on resume) peaked at 3.3x, while the run that
  diverged reached 250x; factor / 2 leaves them a margin, and the square root keeps the threshold
  above 1 for factors below 2. So in a blow-up the saves stop before the guard fires, and the
  checkpoint on disk predates it.

The state (recent losses and the reference) goes into the checkpoint, so a resumed run is
judged against the same reference. Pure Python (no torch): the config imports the window size.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median

WINDOW = 32  # steps in the median that decides divergence
SAVE_WINDOW = WINDOW // 4  # steps in the median that decides whether a checkpoint may be written


class DivergenceGuard:
    """Observes the total loss of each step; says when the run diverged and when not to save.

    factor 0 turns it off (it still records, so the state is there if a resumed run turns
    it on)."""

    def __init__(self, factor: float, window: int = WINDOW, save_window: int = SAVE_WINDOW) -> None:
        self.factor = factor
        self.window = window
        self.save_window = max(1, min(save_window, window))
        self.losses: deque[float] = deque(maxlen=window)
        self.best: float | None = None  # lowest full-window median seen in the run

    def observe(self, loss: float) -> None:
        """Record one step's total loss (finite: non-finite losses stop the run elsewhere)."""
        self.losses.append(float(loss))
        if self.full:
            m = self.median
            self.best = m if self.best is None else min(self.best, m)

    @property
    def full(self) -> bool:
        return len(self.losses) == self.window

    @property
    def median(self) -> float:
        """Median loss over the window (over what there is before it is full)."""
        return median(self.losses) if self.losses else math.nan

    @property
    def recent_median(self) -> float:
        """Median loss over the last `save_window` steps."""
        return median(list(self.losses)[-self.save_window:]) if self.losses else math.nan

    @property
    def enabled(self) -> bool:
        return self.factor > 0

    def _has_reference(self) -> bool:
        # a zero reference would make any positive loss look infinitely worse: no judgement
        return self.enabled and self.full and self.best is not None and self.best > 0

    @property
    def diverged(self) -> bool:
        """The window's median is above `factor` x the run's lowest."""
        return self._has_reference() and self.median > self.factor * self.best

    @property
    def save_factor(self) -> float:
        """How far above the reference the short median may be for a checkpoint to be written."""
        return max(math.sqrt(self.factor), self.factor / 2)

    @property
    def save_allowed(self) -> bool:
        """False while the last `save_window` steps' median is above `save_factor` x the run's
        lowest window median: a checkpoint then would likely hold weights already diverging."""
        return not (self._has_reference() and self.recent_median > self.save_factor * self.best)

    def state_dict(self) -> dict:
        return {"losses": list(self.losses), "best": self.best}

    def load_state_dict(self, state: dict) -> None:
        """From `state_dict` (a checkpoint's); a different window keeps the latest losses."""
        self.losses = deque((float(v) for v in state.get("losses", ())), maxlen=self.window)
        best = state.get("best")
        self.best = None if best is None else float(best)
