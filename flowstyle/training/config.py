"""TrainConfig: every knob of a training run, checked when built (saved in checkpoints and models).

The architecture is a nested FlowConfig (one definition of it, flow/model.py). Each field's help
text is in its metadata; `flowstyle train` generates its flags from these fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import FlowstyleError
from ..fields import option
from ..flow.model import FlowConfig
from .divergence import SAVE_WINDOW, WINDOW
from ..operators import ANCHOR_STATS, OPERATORS, Anchor, checked_anchor, checked_anchor_stats


@dataclass
class TrainConfig:
    """Every knob of a run (saved in the checkpoint and the exported model's metadata)."""

    content_dir: str = option(help="folder of content images (searched recursively)", type=str)
    style_dir: str = option(help="folder of style images (searched recursively)", type=str)
    out: str = option(help="run folder: checkpoint, log.csv, samples/, model.safetensors", type=str)
    method: str = option("adain", "transfer operator trained for", choices=OPERATORS, type=str)
    flow: FlowConfig = option(default_factory=FlowConfig, help="the architecture", flag=False)
    iters: int = option(1000, "training steps", type=int)
    minutes: float | None = option(None, "stop after this much training time (also across --resume)", type=float)
    batch: int = option(4, "images per batch (per process)", type=int)
    crop: int = option(256, "random crop side in px (a multiple of 2**n_block)", type=int)
    resize: int = option(512, "shorter side the images are resized to before cropping", type=int)
    lr: float = option(1e-4, "Adam learning rate", type=float)
    lr_decay: float = option(5e-5, "lr_i = lr / (1 + lr_decay * i)", type=float)
    clip: float = option(5.0, "gradient norm clipping", type=float)
    divergence: float = option(10.0, f"stop when the median loss of the last {WINDOW} steps exceeds this many times the run's lowest (0: never); no checkpoint is written while the loss is rising", type=float)
    content_weight: float = option(0.1, "content loss weight", type=float)
    style_weight: float = option(1.0, "style loss weight", type=float)
    local_weight: float = option(0.0, "AdaAttN local feature loss weight", type=float)
    grid_weight: float = option(0.0, "anti-grid spectral loss weight", type=float)
    range_weight: float = option(0.0, "weight of the penalty on decoded values outside [0, 1]", type=float)
    shift_weight: float = option(0.0, "shift-consistency loss weight (the flow learns to ignore the squeeze phase)", type=float)
    hinge_weight: float = option(0.0, "weight of the style hinge: the penalty on outputs further from their style than their content was (style match below 0)", type=float)
    texture_weight: float = option(0.0, "weight of the texture term: relative distance of the output's VGG feature covariances (centred Gram, relu2_1..relu5_1) from the style's; asks for the style's strokes and patterns, which the mean/std loss lets a recolouring satisfy", type=float)
    laplacian_weight: float = option(0.0, "weight of the Laplacian term: the output's Laplacian at a quarter resolution against the photo's (keeps the photo's edges and shapes, leaves fine marks free)", type=float)
    distill_weight: float = option(0.0, "weight of the pull of the output towards the initial model's (--init, frozen) all-phase average on the same pair: its grid-free default path, learnt by the one-pass path", type=float)
    phases: int = option(1, "train through the path that averages the deepest block over this many of its squeeze phases (1, 2 or 4; flow/phases.py deepest_block_plan): the grid losses then see what that path leaves", type=int)
    freeze_flow: bool = option(False, "train only the operator's own module (AdaAttN's attention) on the --init model's flow, which stays as it is: a module for a flow trained through another operator")
    attention_every: int = option(0, "every N-th step goes through AdaAttN (the --init model's module, trained too) instead of --method (0: never): a flow trained on through another operator keeps decoding the attention's latents", type=int)
    anchor: float = option(0.0, "AdaAttN: train with the output moved this far (0..1) towards AdaIN's global moments, as stylize --anchor", type=float)
    anchor_stats: str = option("mean-std", "what that anchor matches: channel mean/std, or mean and covariance (its maps held constant for the gradient)", choices=ANCHOR_STATS, type=str)
    near_pairs: float = option(0.0, "share (0..1) of each batch whose style is one of the training styles nearest to its content (by the style loss): pairs already close to their style, where the output should barely move", type=float)
    art_pairs: float = option(0.0, "share (0..1) of each batch made of art x art: a training style image as the content and one of the training styles nearest to it (another file) as the style, e.g. clip art on clip art, where the output should barely move", type=float)
    balance_sources: bool = option(False, "draw each source (sub-folder or name prefix 'source__') about in proportion to the square root of its size")
    threads: int | None = option(None, "CPU threads (default: torch's choice)", type=int)
    device: str = option("auto", "auto, cpu or cuda", type=str)
    bf16: bool = option(False, "bfloat16 autocast (CPUs with bf16 support, GPUs)")
    seed: int = option(0, "seed of the weights' initialisation, the crops and the order", type=int)
    init: str | None = option(None, "start from a trained model (name or file), e.g. AdaAttN from AdaIN", type=str)
    save_every: int = option(100, "checkpoint every N steps", type=int)
    save_minutes: float = option(10.0, "... and every M minutes", type=float)
    sample_every: int = option(200, "sample grid PNG every K steps (0: never)", type=int)
    log_every: int = option(10, "log.csv row every N steps", type=int)
    workers: int = option(2, "image decoding threads", type=int)
    extra_info: dict = option(default_factory=dict, help="added to the exported model's info", flag=False)

    def __post_init__(self) -> None:
        if isinstance(self.flow, dict):  # from a checkpoint or JSON
            self.flow = FlowConfig(**self.flow)
        if self.method not in OPERATORS:
            raise FlowstyleError(f"unknown method {self.method!r}; choose from {', '.join(OPERATORS)}")
        for name in ("iters", "batch", "crop", "resize", "save_every", "log_every"):
            if getattr(self, name) < 1:
                raise FlowstyleError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("sample_every", "workers"):
            if getattr(self, name) < 0:
                raise FlowstyleError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("lr", "clip"):
            if not getattr(self, name) > 0:
                raise FlowstyleError(f"{name} must be above 0, got {getattr(self, name)}")
        for name in ("lr_decay", "content_weight", "style_weight", "local_weight", "grid_weight", "range_weight", "shift_weight", "hinge_weight", "texture_weight", "laplacian_weight", "distill_weight"):
            if getattr(self, name) < 0:
                raise FlowstyleError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("near_pairs", "art_pairs"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise FlowstyleError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.phases not in (1, 2, 4):
            raise FlowstyleError(f"phases must be 1, 2 or 4, got {self.phases}")
        if self.freeze_flow and (self.method != "adaattn" or not self.init):
            raise FlowstyleError("freeze_flow trains only AdaAttN's module: it needs --method adaattn and --init (the flow to keep)")
        if self.attention_every < 0:
            raise FlowstyleError(f"attention_every must be >= 0, got {self.attention_every}")
        if self.attention_every and (self.method == "adaattn" or not self.init):
            raise FlowstyleError("attention_every mixes AdaAttN steps into another --method's run: it needs --init (a model with an AdaAttN module)")
        if self.distill_weight > 0 and not self.init:
            raise FlowstyleError("distill_weight needs --init: the teacher is the initial model")
        checked_anchor(self.anchor)
        checked_anchor_stats(self.anchor_stats)
        if self.divergence != 0 and not self.divergence > 1:  # (NaN included)
            raise FlowstyleError(f"divergence must be 0 (off) or above 1, got {self.divergence}")
        if self.minutes is not None and self.minutes <= 0:
            raise FlowstyleError(f"minutes must be above 0, got {self.minutes}")
        if self.threads is not None and self.threads < 1:
            raise FlowstyleError(f"threads must be positive, got {self.threads}")
        self.check_crop()

    @property
    def anchoring(self) -> Anchor:
        """anchor and anchor_stats as the one value the operators take."""
        return Anchor(self.anchor, self.anchor_stats)

    def check_crop(self) -> None:
        """The crop must be a multiple of the flow's 2**n_block (checked again after --init)."""
        m = self.flow.multiple
        if self.crop % m:
            raise FlowstyleError(f"crop must be a multiple of {m} for {self.flow.n_block} blocks, got {self.crop}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """From `asdict` (a checkpoint's); older checkpoints kept the architecture flat."""
        values = dict(values)
        arch = {k: values.pop(k) for k in list(values) if k in FlowConfig.__dataclass_fields__}
        values.setdefault("flow", arch)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
