"""The training loop: resumable, checkpointed, CPU or CUDA, single process or torchrun.

One step: encode a content and a style batch, transfer in z, decode, and minimise the VGG
content + style losses. The flow is never trained to reconstruct (it is exact by design).
Checkpoints hold model, optimiser, step, RNG and divergence-guard state (divergence.py), so
`--resume` continues bit-for-bit.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from .config import TrainConfig
from .data import ImageFolderDataset, batch_iterator
from .divergence import DivergenceGuard
from .near import StyleIndex, style_vector
from ..errors import FlowstyleError
from ..image.io import atomic_output
from ..flow import ArtFlow
from .losses import LossWeights, compute_losses, distillation_loss, shift_consistency_loss
from ..operators import apply_operator
from ..flow.phases import LATENT_PAD_MODE, average_over_phases, deepest_block_plan, phase_plan
from .vgg import load_vgg
from ..models import StyleModel, load_model, save_model


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _setup_distributed(device: torch.device) -> DistInfo:
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) < 2:
        return DistInfo()
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend)
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return DistInfo(dist.get_rank(), dist.get_world_size())


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise FlowstyleError("--device cuda asked for, but no CUDA GPU is available")
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        name = f"cuda:{os.environ['LOCAL_RANK']}"
    return torch.device(name)


def _build_model(cfg: TrainConfig) -> StyleModel:
    if cfg.init:
        base = load_model(cfg.init)
        cfg.flow = base.config  # the architecture is the initial model's
        cfg.check_crop()
        if cfg.attention_every and base.adaattn is None:
            raise FlowstyleError(f"--attention-every: {cfg.init} has no AdaAttN module")
        keep = cfg.method == "adaattn" or cfg.attention_every > 0
        return StyleModel(base.flow, cfg.method, base.adaattn if keep else None)
    return StyleModel(ArtFlow(cfg.flow, seed=cfg.seed), cfg.method)


def _atomic_torch_save(obj, path: Path) -> None:
    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


class Trainer:
    """Holds the run's state; `run()` trains to `cfg.iters` steps (resuming if asked)."""

    def __init__(self, cfg: TrainConfig, resume: bool = False, progress: bool = True) -> None:
        self.cfg = cfg
        self.device = _resolve_device(cfg.device)
        self.dist = _setup_distributed(self.device)
        self.progress = progress and self.dist.is_main
        self.out = Path(cfg.out)
        self.ckpt_path = self.out / "checkpoint.pt"
        torch.manual_seed(cfg.seed)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.content = ImageFolderDataset(cfg.content_dir, cfg.resize, cfg.crop, seed=cfg.seed, balance=cfg.balance_sources)
        self.style = ImageFolderDataset(cfg.style_dir, cfg.resize, cfg.crop, seed=cfg.seed + 1, balance=cfg.balance_sources)
        if len(self.content) == 0 or len(self.style) == 0:
            raise FlowstyleError("training needs at least one content and one style image")
        self.model = _build_model(cfg).to(self.device)
        self.model.train()
        if cfg.freeze_flow:
            self.model.flow.requires_grad_(False)
        if self.device.type == "cpu":
            self.model.to(memory_format=torch.channels_last)
        # the texture term also looks at relu5_1 (larger motifs); the other losses stop at relu4_1
        self.vgg = load_vgg("relu5_1" if cfg.texture_weight > 0 else "relu4_1", normalized=True, device=self.device)
        self.teacher: StyleModel | None = None  # the initial model, frozen (distillation)
        if cfg.distill_weight > 0:
            self.teacher = copy.deepcopy(self.model).eval().requires_grad_(False)
        self._style_index: StyleIndex | None = None  # near pairs' lookup, built on first use
        self.optimizer = torch.optim.Adam(self.trainable_parameters(), lr=cfg.lr)
        self.weights = LossWeights(
            cfg.content_weight, cfg.style_weight, cfg.local_weight, cfg.grid_weight, cfg.range_weight, cfg.shift_weight,
            cfg.hinge_weight, cfg.texture_weight, cfg.laplacian_weight,
        )
        self.step = 0
        self.elapsed = 0.0
        self._saved_step = 0
        self.guard = DivergenceGuard(cfg.divergence)
        if resume and self.ckpt_path.exists():
            self._load_checkpoint()
        elif resume and self.dist.is_main:
            print(f"no checkpoint in {self.out}; starting from step 0", file=sys.stderr)

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    # ---------------------------------------------------------------- state
    def _state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "elapsed": self.elapsed,
            "torch_rng": torch.get_rng_state(),
            "config": asdict(self.cfg),
            "divergence": self.guard.state_dict(),
        }

    def _load_checkpoint(self) -> None:
        try:
            state = torch.load(self.ckpt_path, map_location=self.device, weights_only=False)
        except Exception as exc:  # checkpoints are written atomically; this one came from elsewhere
            raise FlowstyleError(f"--resume: cannot read {self.ckpt_path} ({type(exc).__name__}: {exc})") from None
        saved = TrainConfig.from_dict(state["config"])
        for key in ("flow", "method"):
            if getattr(saved, key) != getattr(self.cfg, key):
                raise FlowstyleError(f"--resume: checkpoint has {key}={getattr(saved, key)!r}, command says {getattr(self.cfg, key)!r}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = self._saved_step = state["step"]
        self.elapsed = state.get("elapsed", 0.0)
        torch.set_rng_state(state["torch_rng"])
        if "divergence" in state:  # older checkpoints: the guard starts afresh (a full window first)
            self.guard.load_state_dict(state["divergence"])

    def save(self) -> None:
        """Checkpoint (atomic) and refresh the exported model file; rank 0 only."""
        if not self.dist.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        _atomic_torch_save(self._state(), self.ckpt_path)
        self._saved_step = self.step
        info = {
            "summary": f"trained {self.step} steps ({self.cfg.method})",
            "training": {k: v for k, v in asdict(self.cfg).items() if k not in ("extra_info",)},
            "steps": self.step,
            "train_seconds": round(self.elapsed, 1),
            "world_size": self.dist.world,
            "torch": torch.__version__,
            **self.cfg.extra_info,
        }
        save_model(self.model, self.out / "model.safetensors", info=info)

    # ---------------------------------------------------------------- steps
    def _autocast(self):
        if not self.cfg.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def _prepare(self, batch: torch.Tensor) -> torch.Tensor:
        batch = batch.to(self.device, non_blocking=True)
        return batch.contiguous(memory_format=torch.channels_last) if self.device.type == "cpu" else batch

    def stylize_batch(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """The trained path: one pass, or the deepest block averaged over `phases`."""
        plan = None if self.cfg.phases == 1 else deepest_block_plan(self.cfg.phases, self.model.flow.config.n_block)
        return self._stylize(self.model, content, style, plan)

    @torch.no_grad()
    def teacher_batch(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """The frozen initial model's output averaged over all its squeeze phases (nested, as
        the pipeline's all-phase path): what distillation pulls the trained path towards."""
        n_block = self.teacher.flow.config.n_block
        return self._stylize(self.teacher, content, style, phase_plan(4**n_block, n_block))

    def _stylize(self, model: StyleModel, content: torch.Tensor, style: torch.Tensor, plan) -> torch.Tensor:
        flow = model.flow
        z_s = flow.encode(style)

        method = self.method_at_step()

        def at_latent(z_c: torch.Tensor, shift: tuple[int, int]) -> torch.Tensor:
            return apply_operator(method, z_c, z_s, model.adaattn, anchor=self.cfg.anchoring)

        if plan is None:
            return flow.decode(at_latent(flow.encode(content), (0, 0)))
        return average_over_phases(content, plan, flow.encode_blocks, flow.decode_blocks, at_latent, LATENT_PAD_MODE)

    def method_at_step(self) -> str:
        """The operator this step trains through: --method, or AdaAttN every attention_every-th step."""
        every = self.cfg.attention_every
        return "adaattn" if every and self.step % every == every - 1 else self.cfg.method

    def _sync_gradients(self) -> None:
        if self.dist.world < 2:
            return
        for p in self.trainable_parameters():
            if p.grad is not None:
                self._average_over_ranks(p.grad)

    def _average_over_ranks(self, t: torch.Tensor) -> torch.Tensor:
        """t replaced in place by its mean over all ranks (a collective: every rank calls it)."""
        dist.all_reduce(t)
        t /= self.dist.world
        return t

    def _broadcast_parameters(self) -> None:
        if self.dist.world < 2:
            return
        for t in self.model.state_dict().values():
            dist.broadcast(t, 0)

    def _check_ranks_in_sync(self) -> None:
        """Gather a checksum of every rank's weights; rank 0 records them in distributed.json."""
        import json

        flat = torch.cat([t.detach().double().flatten().cpu() for t in self.model.state_dict().values() if t.is_floating_point()])
        checksum = torch.tensor([flat.sum().item(), flat.abs().sum().item(), (flat * torch.arange(flat.numel(), dtype=torch.float64)).sum().item()], dtype=torch.float64)
        gathered = [torch.zeros_like(checksum) for _ in range(self.dist.world)]
        dist.all_gather(gathered, checksum.to(self.device))
        sums = [repr(tuple(g.cpu().tolist())) for g in gathered]
        if self.dist.is_main:
            report = {"world_size": self.dist.world, "step": self.step, "checksums": sums}
            (self.out / "distributed.json").write_text(json.dumps(report, indent=1))
            if len(set(sums)) != 1:
                raise RuntimeError(f"ranks diverged: {sums}")

    def with_close_pairs(self, content: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(content, style) with a share (`near_pairs`) of the style crops replaced by a crop of
        one of the `near.NEAR_K` training styles nearest to that content crop (`near.StyleIndex`,
        built on first use and cached in the run's folder), and a share (`art_pairs`) of the
        pairs replaced by art x art: a training style image as the content and one of the styles
        nearest to it (never the same file) as the style. Drawn per image, seeded by the step
        (resumable)."""
        if self.cfg.near_pairs == 0.0 and self.cfg.art_pairs == 0.0:
            return content, style
        g = torch.Generator().manual_seed(self.cfg.seed * 7_000_003 + self.step)
        n = content.shape[0]
        pick = torch.rand(n, generator=g) < self.cfg.near_pairs
        own: list[str | None] = [None] * n
        if self.cfg.art_pairs > 0.0:
            art = torch.rand(n, generator=g) < self.cfg.art_pairs
            content = content.clone()
            for i in art.nonzero().flatten().tolist():
                index = int(torch.randint(0, len(self.style), (1,), generator=g))
                content[i] = self.style.sample(index, self.step).to(content.device)
                own[i] = str(self.style.files[index])
            pick = pick | art
        if not bool(pick.any()):
            return content, style
        if self._style_index is None:
            cache = self.out / "style_index.pt" if self.dist.is_main else None
            self._style_index = StyleIndex.build(self.style, lambda x: self.vgg(x.to(self.device)), cache)
        rows = pick.nonzero().flatten().tolist()
        with torch.no_grad():
            nearest = self._style_index.nearest(style_vector(self.vgg(content[pick])), exclude=[own[i] for i in rows])
        choice = torch.randint(0, nearest.shape[1], (nearest.shape[0],), generator=g)
        style = style.clone()
        for row, (i, c) in enumerate(zip(rows, choice.tolist())):
            crop = self.style.sample(int(nearest[row, c]), self.step)
            style[i] = crop.to(style.device)
        return content, style

    def _shift_pairs(self, content: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        """For the shift-consistency loss: the first half of the batch again, shifted by a
        random (dy, dx) in 0..3 px (not both 0), every image cropped by the smallest multiple of
        the squeeze that is at least 4 px (4 for one or two blocks) so that its sides stay
        multiples; the pair shares one style crop. Seeded by the step (resumable)."""
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + self.step)
        dy, dx = 0, 0
        while dy == 0 and dx == 0:
            dy, dx = (int(v) for v in torch.randint(0, 4, (2,), generator=g))
        m = self.model.flow.config.multiple
        cut = m * -(-4 // m)
        h, w = content.shape[-2:]
        half = max(1, content.shape[0] // 2)
        base = content[:, :, : h - cut, : w - cut]
        shifted = content[:half, :, dy : dy + h - cut, dx : dx + w - cut]
        styles = style[:, :, : h - cut, : w - cut]
        return torch.cat([base, shifted]), torch.cat([styles, styles[:half]]), dy, dx

    def train_step(self, content: torch.Tensor, style: torch.Tensor) -> dict[str, float]:
        lr = self.cfg.lr / (1.0 + self.cfg.lr_decay * self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        n = content.shape[0]
        if self.weights.shift > 0:
            content, style, dy, dx = self._shift_pairs(content, style)
        with self._autocast():
            out = self.stylize_batch(content, style)
            terms = compute_losses(self.vgg, out, content, style, self.weights)
            total = terms.total
            shift = total.new_zeros(())
            if self.weights.shift > 0:
                half = content.shape[0] - n
                shift = shift_consistency_loss(out[:half].float(), out[n:].float(), dy, dx)
                total = total + self.weights.shift * shift
            distill = total.new_zeros(())
            if self.teacher is not None:
                distill = distillation_loss(out.float(), self.teacher_batch(content, style).float())
                total = total + self.cfg.distill_weight * distill
        self.optimizer.zero_grad(set_to_none=True)
        total.float().backward()
        self._sync_gradients()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.trainable_parameters(), self.cfg.clip)
        if torch.isfinite(grad_norm):  # else the weights stay as they were and run() stops
            self.optimizer.step()
        return {
            "loss": total.item(), "content": terms.content.item(), "style": terms.style.item(),
            "local": terms.local.item(), "grid": terms.grid.item(), "range": terms.range.item(),
            "shift": shift.item(), "hinge": terms.hinge.item(), "texture": terms.texture.item(), "laplacian": terms.laplacian.item(), "distill": distill.item(), "grad_norm": float(grad_norm), "lr": lr,
        }

    # ---------------------------------------------------------------- loop
    def run(self) -> Path:
        cfg = self.cfg
        rank, world = self.dist.rank, self.dist.world
        # data step 0 is the ActNorm-initialisation batch; training step s uses data step s + 1
        def batches(dataset, seed, start):
            return batch_iterator(dataset, cfg.batch, seed, start, rank, world, cfg.workers)

        if self.step == 0:
            self._initialize(next(batches(self.content, cfg.seed, 0)), next(batches(self.style, cfg.seed + 1, 0)))
        contents = batches(self.content, cfg.seed, self.step + 1)
        styles = batches(self.style, cfg.seed + 1, self.step + 1)
        log = _CsvLog(self.out / "log.csv", after=self.step) if self.dist.is_main else None
        bar = _progress(self.step, cfg.iters, self.progress)
        last_save = time.monotonic()
        try:
            while self.step < cfg.iters and not self._out_of_time():
                started = time.monotonic()
                content, style = self._prepare(next(contents)), self._prepare(next(styles))
                content, style = self.with_close_pairs(content, style)
                stats = self.train_step(content, style)
                if not (math.isfinite(stats["loss"]) and math.isfinite(stats["grad_norm"])):
                    what = "loss" if not math.isfinite(stats["loss"]) else "gradient norm"
                    raise self._stopped(f"{what} became {stats['loss' if what == 'loss' else 'grad_norm']} at step {self.step + 1}; ")
                self.guard.observe(self._mean_over_ranks(stats["loss"]))
                self.step += 1
                seconds = time.monotonic() - started
                self.elapsed += seconds
                stats["images_per_s"] = cfg.batch * world / max(seconds, 1e-9)
                if log is not None and (self.step % cfg.log_every == 0 or self.step == cfg.iters):
                    log.write(self.step, self.elapsed, stats)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{stats['loss']:.3f}", style=f"{stats['style']:.3f}", content=f"{stats['content']:.3f}", ips=f"{stats['images_per_s']:.2f}")
                if self.guard.diverged:
                    g = self.guard
                    raise self._stopped(
                        f"loss diverged at step {self.step}: its median over the last {g.window} steps, {g.median:.4g}, "
                        f"is {g.median / g.best:.1f}x the run's lowest ({g.best:.4g}; --divergence {g.factor:g}); "
                    )
                if self.dist.is_main and cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.write_samples(content, style)
                due = self.step % cfg.save_every == 0 or time.monotonic() - last_save > cfg.save_minutes * 60
                if due or self.step == cfg.iters or self._out_of_time():
                    self._save_unless_diverging()
                    last_save = time.monotonic()
        finally:
            if bar is not None:
                bar.close()
        for dataset, kind in ((self.content, "content"), (self.style, "style")):
            if dataset.bad_files and self.dist.is_main:
                print(f"warning: skipped {dataset.bad_files} unreadable {kind} files", file=sys.stderr)
        if world > 1:
            self._check_ranks_in_sync()
        return self.out / "model.safetensors"

    def _save_unless_diverging(self) -> None:
        """save(), unless the guard says the loss is already blowing up (DivergenceGuard.save_allowed):
        a checkpoint then would replace the good one with weights on their way to divergence."""
        if self.guard.save_allowed:
            self.save()
        elif self.dist.is_main:
            g = self.guard
            print(
                f"warning: step {self.step} not saved: the loss median over the last {g.save_window} steps, "
                f"{g.recent_median:.4g}, is {g.recent_median / g.best:.1f}x the run's lowest ({g.best:.4g}); "
                f"the checkpoint of step {self._saved_step} is kept",
                file=sys.stderr,
            )

    def _stopped(self, reason: str) -> FlowstyleError:
        """The one-line error of a run stopped for bad numbers (non-finite or diverging)."""
        return FlowstyleError(f"{reason}stopped, the last good checkpoint (step {self._saved_step}) is kept: lower --lr and --resume")

    def _mean_over_ranks(self, value: float) -> float:
        """The mean of a per-rank number over all ranks, so that every rank's guard sees the same
        losses and all stop at the same step (or none does)."""
        if self.dist.world < 2:
            return value
        return self._average_over_ranks(torch.tensor([value], dtype=torch.float64, device=self.device)).item()

    def _out_of_time(self) -> bool:
        """--minutes caps the run's training time (summed over resumed sessions)."""
        return self.cfg.minutes is not None and self.elapsed >= self.cfg.minutes * 60

    def _initialize(self, content: torch.Tensor, style: torch.Tensor) -> None:
        """First batch: data-dependent ActNorm init only (no optimiser step), then a usable save."""
        if not self.model.flow.initialized:
            self.model.flow.initialize(torch.cat([self._prepare(content), self._prepare(style)]))
        self._broadcast_parameters()
        self.save()

    @torch.no_grad()
    def write_samples(self, content: torch.Tensor, style: torch.Tensor) -> Path:
        """content | style | stylized | reverse (stylized restyled with the content) for 2 pairs."""
        from ..image.io import save_image, tensor_to_image

        self.model.eval()
        n = min(2, content.shape[0])
        c, s = content[:n].float(), style[:n].float()
        flow = self.model.flow
        z_c, z_s = flow.encode(c), flow.encode(s)
        z_cs = apply_operator(self.cfg.method, z_c, z_s, self.model.adaattn, anchor=self.cfg.anchoring)
        reverse = flow.decode(apply_operator(self.cfg.method, z_cs, z_c, self.model.adaattn, anchor=self.cfg.anchoring))
        rows = [torch.cat([c[i], s[i], flow.decode(z_cs)[i].clamp(0, 1), reverse[i].clamp(0, 1)], 2) for i in range(n)]
        self.model.train()
        path = self.out / "samples" / f"step{self.step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        return save_image(tensor_to_image(torch.cat(rows, 1)), path)


class _CsvLog:
    """Appends one row per logged step; keeps an existing file's columns when resuming."""

    FIELDS = ("step", "seconds", "loss", "content", "style", "local", "grid", "range", "shift", "hinge", "texture", "laplacian", "distill", "grad_norm", "lr", "images_per_s")

    def __init__(self, path: Path, after: int = 0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        if path.exists() and path.stat().st_size:
            with path.open(newline="") as handle:
                rows = list(csv.reader(handle))
            self.fields = tuple(rows[0])
            # a run killed after its last checkpoint logged steps it will now redo: drop them
            # (and a row cut short by the kill), so the log has each step once
            keep = [r for r in rows[1:] if len(r) == len(self.fields) and r[0].isdigit() and int(r[0]) <= after]
            if len(keep) != len(rows) - 1:
                with atomic_output(path) as tmp, open(tmp, "w", newline="") as out:
                    csv.writer(out).writerows([rows[0], *keep])
        else:
            self.fields = self.FIELDS
            with path.open("w", newline="") as handle:
                csv.writer(handle).writerow(self.fields)

    def write(self, step: int, seconds: float, stats: dict) -> None:
        values = {"step": step, "seconds": f"{seconds:.1f}", **{k: f"{v:.6g}" for k, v in stats.items()}}
        with self.path.open("a", newline="") as handle:
            csv.writer(handle).writerow([values.get(k, "") for k in self.fields])


def _progress(start: int, total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True)


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True) -> Path:
    """Train (or continue) a run; returns the exported model path."""
    trainer = Trainer(cfg, resume=resume, progress=progress)
    try:
        return trainer.run()
    finally:
        if dist.is_initialized():
            dist.barrier()  # no rank tears the group down while another still uses it
            dist.destroy_process_group()
