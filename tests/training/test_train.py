"""Training: losses fall, kill-and-resume is bit-for-bit, torchrun keeps ranks in sync."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from flowstyle.cli import main
from flowstyle.errors import FlowstyleError
from flowstyle.flow import FlowConfig
from flowstyle.training.config import TrainConfig
from flowstyle.training.trainer import Trainer, train
from flowstyle.models import load_model


def _write_images(folder: Path, kind: str, n: int = 4, size: int = 48) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0 if kind == "content" else 1)
    for i in range(n):
        yy, xx = np.mgrid[0:size, 0:size] / size
        if kind == "content":  # smooth gradients with a shape: photo-like
            img = np.stack([xx, yy, 0.5 + 0.4 * np.sin(6 * xx + i)], -1)
            img[size // 4 : size // 2, size // 4 : size // 2] = rng.random(3)
        else:  # saturated stripes: strong, distinct statistics
            colours = rng.random((2, 3))
            img = np.where((np.sin(12 * (xx + i * yy)) > 0)[..., None], colours[0], colours[1])
        Image.fromarray((img * 255).astype(np.uint8)).save(folder / f"{kind}{i}.png")
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return str(_write_images(root / "content", "content")), str(_write_images(root / "style", "style"))


def _cfg(folders, out, **overrides) -> TrainConfig:
    base = dict(
        content_dir=folders[0], style_dir=folders[1], out=str(out), iters=6, batch=2, crop=32,
        resize=40, flow=FlowConfig(n_block=2, n_flow=2, width=16), lr=1e-3, save_every=3, sample_every=0,
        workers=0, device="cpu",
    )
    base.update(overrides)
    return TrainConfig(**base)


def _held_out_style_loss(trainer: Trainer) -> float:
    content = torch.stack([trainer.content.sample(i, 99) for i in range(2)])
    style = torch.stack([trainer.style.sample(i, 99) for i in range(2)])
    from flowstyle.training.losses import LossWeights, compute_losses

    with torch.no_grad():
        out = trainer.stylize_batch(content, style)
        return compute_losses(trainer.vgg, out, content, style, LossWeights()).style.item()


def test_training_lowers_the_style_loss(folders, tmp_path):
    trainer = Trainer(_cfg(folders, tmp_path / "run", iters=40, lr=2e-3, save_every=100), progress=False)
    trainer.run()  # step 0 initialises ActNorm
    assert trainer.step == 40
    trained = _held_out_style_loss(trainer)
    fresh = Trainer(_cfg(folders, tmp_path / "fresh"), progress=False)
    fresh.model.flow.initialize(torch.stack([fresh.content.sample(i, 0) for i in range(2)] + [fresh.style.sample(i, 0) for i in range(2)]))
    assert trained < 0.7 * _held_out_style_loss(fresh)
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert float(rows[-1]["style"]) < float(rows[0]["style"])


def test_kill_and_resume_matches_an_uninterrupted_run(folders, tmp_path):
    full = Trainer(_cfg(folders, tmp_path / "full", iters=6), progress=False)
    full.run()
    part = Trainer(_cfg(folders, tmp_path / "part", iters=3), progress=False)
    part.run()  # "killed" after the checkpoint at step 3
    resumed = Trainer(_cfg(folders, tmp_path / "part", iters=6), resume=True, progress=False)
    assert resumed.step == 3
    resumed.run()
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_exported_model_is_a_normal_weights_file(folders, tmp_path):
    path = train(_cfg(folders, tmp_path / "run", iters=2, sample_every=1), progress=False)
    model = load_model(path)
    assert model.info["steps"] == 2 and model.info["training"]["flow"]["width"] == 16
    assert (tmp_path / "run" / "samples" / "step0000002.png").exists()
    assert main(["stylize", f"{folders[0]}/content0.png", f"{folders[1]}/style0.png", "-o", str(tmp_path / "o.png"), "--model", str(path), "--pad", "4"]) == 0


def test_adaattn_from_an_adain_flow_with_local_loss(folders, tmp_path):
    adain_path = train(_cfg(folders, tmp_path / "adain", iters=2), progress=False)
    path = train(_cfg(folders, tmp_path / "attn", iters=2, method="adaattn", init=str(adain_path), local_weight=1.0, flow=FlowConfig(width=999)), progress=False)
    model = load_model(path)
    assert model.method == "adaattn" and model.config.width == 16  # architecture from --init
    assert not torch.allclose(model.adaattn.f.weight.flatten(), torch.eye(48).flatten())


def test_freeze_flow_trains_only_the_attention(folders, tmp_path):
    adain_path = train(_cfg(folders, tmp_path / "adain", iters=2), progress=False)
    path = train(_cfg(folders, tmp_path / "attn", iters=2, method="adaattn", init=str(adain_path), freeze_flow=True), progress=False)
    before, after = load_model(adain_path), load_model(path)
    for (name, old), new in zip(before.flow.state_dict().items(), after.flow.state_dict().values()):
        assert torch.equal(old, new), name
    assert not torch.allclose(after.adaattn.f.weight.flatten(), torch.eye(48).flatten())
    with pytest.raises(FlowstyleError, match="freeze_flow"):
        _cfg(folders, tmp_path / "r", freeze_flow=True)  # AdaIN has no module of its own
    with pytest.raises(FlowstyleError, match="freeze_flow"):
        _cfg(folders, tmp_path / "r", method="adaattn", freeze_flow=True)  # no flow to keep


def test_attention_steps_mixed_into_a_patch_run_train_the_module_and_keep_it(folders, tmp_path):
    """--attention-every 2: steps 1, 3, ... go through AdaAttN (its module learns), the others
    through the patch operator (the module gets no gradient); the exported patch model keeps
    the module for --method adaattn."""
    adain_path = train(_cfg(folders, tmp_path / "adain", iters=2), progress=False)
    attn_path = train(_cfg(folders, tmp_path / "attn", iters=1, method="adaattn", init=str(adain_path)), progress=False)
    trainer = Trainer(_cfg(folders, tmp_path / "mixed", iters=2, method="patch", init=str(attn_path), attention_every=2), progress=False)
    start = {k: v.clone() for k, v in trainer.model.adaattn.state_dict().items()}
    assert [trainer.method_at_step() for trainer.step in range(4)] == ["patch", "adaattn", "patch", "adaattn"]
    trainer.step = 0
    content = torch.stack([trainer.content.sample(i, 0) for i in range(2)])
    style = torch.stack([trainer.style.sample(i, 0) for i in range(2)])
    trainer.train_step(content, style)  # a patch step
    assert all(p.grad is None for p in trainer.model.adaattn.parameters())
    assert all(torch.equal(v, start[k]) for k, v in trainer.model.adaattn.state_dict().items())
    trainer.step = 1
    trainer.train_step(content, style)  # an attention step
    assert any(not torch.equal(v, start[k]) for k, v in trainer.model.adaattn.state_dict().items())
    trainer.save()
    exported = load_model(tmp_path / "mixed" / "model.safetensors")
    assert exported.method == "patch" and exported.adaattn is not None
    with pytest.raises(FlowstyleError, match="attention_every"):
        _cfg(folders, tmp_path / "r", method="patch", attention_every=2)  # no module to start from
    with pytest.raises(FlowstyleError, match="no AdaAttN module"):
        Trainer(_cfg(folders, tmp_path / "r", method="patch", init=str(adain_path), attention_every=2), progress=False)


def test_bad_data_folders(folders, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FlowstyleError):
        Trainer(_cfg((str(empty), folders[1]), tmp_path / "r"), progress=False)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for i in range(3):
        (corrupt / f"bad{i}.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(FlowstyleError, match="could be read"):
        Trainer(_cfg((folders[0], str(corrupt)), tmp_path / "r2"), progress=False).run()
    assert main(["train", "--content-dir", str(empty), "--style-dir", folders[1], "--out", str(tmp_path / "r3")]) == 2


def test_torchrun_two_processes_keep_weights_identical(folders, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for attempt in range(2):
        out = tmp_path / f"ddp{attempt}"
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "-m", "flowstyle", "train", "--content-dir", folders[0], "--style-dir", folders[1], "--out", str(out),
            "--iters", "3", "--batch", "1", "--crop", "32", "--resize", "40", "--n-flow", "1", "--width", "8",
            "--workers", "0", "--device", "cpu", "--no-progress", "--save-every", "3", "--sample-every", "0",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        # on a loaded machine gloo's threads now and then abort a finished process at exit
        # ("terminate called without an active exception"): a race in torch's teardown, not ours
        torn_down = "terminate called without an active exception" in proc.stderr and (out / "distributed.json").exists()
        if not torn_down:
            break
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir() if p.suffix in (".pt", ".safetensors", ".json")) == [
        "checkpoint.pt", "distributed.json", "model.safetensors",
    ]
    report = json.loads((out / "distributed.json").read_text())
    assert report["world_size"] == 2 and len(set(report["checksums"])) == 1
    assert proc.stdout.count("model.safetensors") == 1


def test_range_shift_and_laplacian_losses_are_trained_and_logged(folders, tmp_path):
    cfg = _cfg(folders, tmp_path / "run", iters=3, range_weight=10.0, shift_weight=10.0, laplacian_weight=1.0)
    trainer = Trainer(cfg, progress=False)
    trainer.run()
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert float(rows[-1]["shift"]) > 0 and float(rows[-1]["range"]) >= 0 and float(rows[-1]["laplacian"]) > 0
    # the shifted copies are cropped by 4 px: still a multiple of the squeeze
    content = torch.rand(2, 3, 32, 32)
    c, s, dy, dx = trainer._shift_pairs(content, torch.rand(2, 3, 32, 32))
    assert c.shape == (3, 3, 28, 28) and s.shape == (3, 3, 28, 28) and (dy, dx) != (0, 0)
    assert torch.equal(c[2], content[0, :, dy:dy + 28, dx:dx + 28]) and torch.equal(s[2], s[0])
    # three blocks: sides must stay multiples of 8, so the cut is 8 px
    deep = Trainer(_cfg(folders, tmp_path / "deep", flow=FlowConfig(n_block=3, n_flow=1, width=8), shift_weight=1.0), progress=False)
    c, s, dy, dx = deep._shift_pairs(content, torch.rand(2, 3, 32, 32))
    assert c.shape == (3, 3, 24, 24) and s.shape == (3, 3, 24, 24)
    assert torch.equal(c[2], content[0, :, dy:dy + 24, dx:dx + 24])


def test_train_config_checks_itself(folders, tmp_path):
    with pytest.raises(FlowstyleError, match="crop must be a multiple of 4"):
        _cfg(folders, tmp_path / "r", crop=30)
    with pytest.raises(FlowstyleError, match="iters must be positive"):
        _cfg(folders, tmp_path / "r", iters=0)
    with pytest.raises(FlowstyleError, match="unknown method"):
        _cfg(folders, tmp_path / "r", method="magic")
    flat = {"content_dir": "c", "style_dir": "s", "out": "o", "n_block": 1, "width": 8, "crop": 32}
    assert TrainConfig.from_dict(flat).flow == FlowConfig(n_block=1, width=8)  # older checkpoints


def test_anchor_in_training_gives_the_latent_the_style_moments(folders, tmp_path):
    """With anchor 1 the trained AdaAttN output has AdaIN's global latent moments (the flow is
    exact, so re-encoding the decoded batch gives the anchored latent back)."""
    adain_path = train(_cfg(folders, tmp_path / "adain", iters=1), progress=False)
    trainer = Trainer(_cfg(folders, tmp_path / "attn", method="adaattn", init=str(adain_path), anchor=1.0), progress=False)
    content = torch.stack([trainer.content.sample(i, 5) for i in range(2)])
    style = torch.stack([trainer.style.sample(i, 5) for i in range(2)])
    with torch.no_grad():
        flow = trainer.model.flow
        z_out, z_s = flow.encode(trainer.stylize_batch(content, style)), flow.encode(style)
    dims = (2, 3)
    assert torch.allclose(z_out.mean(dims), z_s.mean(dims), atol=1e-4)
    assert torch.allclose(z_out.std(dims), z_s.std(dims), rtol=1e-3, atol=1e-4)
    with pytest.raises(FlowstyleError, match="anchor must be between 0 and 1"):
        _cfg(folders, tmp_path / "r", anchor=1.5)
    with pytest.raises(FlowstyleError, match="anchor stats"):
        _cfg(folders, tmp_path / "r", anchor_stats="gram")
    # the covariance anchor: the style's whole latent covariance, and a finite training step
    trainer = Trainer(_cfg(folders, tmp_path / "cov", method="adaattn", init=str(adain_path), anchor=1.0,
                           anchor_stats="covariance", iters=1), progress=False)
    with torch.no_grad():
        z_cov = trainer.model.flow.encode(trainer.stylize_batch(content, style))

    def cov_error(z: torch.Tensor) -> float:  # relative distance to the style's channel covariance
        return max(float(torch.linalg.norm(torch.cov(o.flatten(1)) - torch.cov(r.flatten(1)))
                         / torch.linalg.norm(torch.cov(r.flatten(1)))) for o, r in zip(z, z_s))

    assert cov_error(z_cov) < 0.05 and cov_error(z_out) > 4 * cov_error(z_cov)
    assert trainer.run() is not None and trainer.step == 1


def test_training_through_the_deepest_block_phases(folders, tmp_path, monkeypatch):
    """phases 4: block 1 once, block 2 for its four phases, averaged; exact where the operator is
    the identity, different from one pass otherwise, and it trains."""
    import flowstyle.training.trainer as trainer_module

    trainer = Trainer(_cfg(folders, tmp_path / "run", phases=4, iters=2, grid_weight=1.0, shift_weight=1.0), progress=False)
    content = torch.stack([trainer.content.sample(i, 5) for i in range(2)])
    style = torch.stack([trainer.style.sample(i, 5) for i in range(2)])
    calls = []
    block2 = trainer.model.flow.blocks[1]
    original = block2.forward
    block2.forward = lambda x: calls.append(x.shape) or original(x)
    with torch.no_grad(), monkeypatch.context() as patch:
        patch.setattr(trainer_module, "apply_operator", lambda method, z_c, *args, **kw: z_c)
        assert (trainer.stylize_batch(content, style) - content).abs().max() < 1e-5
    calls.clear()
    with torch.no_grad():
        nested = trainer.stylize_batch(content, style)
        assert len(calls) == 1 + 4  # the style once, the content's four phases
        trainer.cfg.phases = 1
        single = trainer.stylize_batch(content, style)
    del block2.forward
    assert (nested - single).abs().mean() > 1e-4
    trainer.cfg.phases = 4
    trainer.run()
    assert load_model(tmp_path / "run" / "model.safetensors").config.n_block == 2
    with pytest.raises(FlowstyleError, match="phases must be 1, 2 or 4"):
        _cfg(folders, tmp_path / "r", phases=16)


def test_near_pairs_take_styles_nearest_to_the_content_by_the_style_loss(folders, tmp_path, monkeypatch):
    from flowstyle.training import losses, near

    none = Trainer(_cfg(folders, tmp_path / "none"), progress=False)
    content, style = torch.rand(8, 3, 32, 32), torch.rand(8, 3, 32, 32)
    kept_content, kept_style = none.with_close_pairs(content, style)
    assert torch.equal(kept_content, content) and torch.equal(kept_style, style)
    # the vectors' squared distance is the training style loss
    a, b = none.vgg(content[:1]), none.vgg(style[:1])
    distance = (near.style_vector(a) - near.style_vector(b)).pow(2).sum()
    assert torch.allclose(distance, losses.style_loss(a, losses.style_stats(b)), rtol=1e-4)
    # with the one nearest style, every picked crop comes from the image the index ranks first
    monkeypatch.setattr(near, "NEAR_K", 1)
    every = Trainer(_cfg(folders, tmp_path / "all", near_pairs=1.0), progress=False)
    same, out = every.with_close_pairs(content, style)
    assert torch.equal(same, content)
    index = near.StyleIndex.build(every.style, every.vgg)
    first = index.nearest(near.style_vector(every.vgg(content)), 1)[:, 0]
    for i in range(8):
        assert torch.equal(out[i], every.style.sample(int(first[i]), every.step))
    assert (tmp_path / "all" / "style_index.pt").exists()  # reused on resume
    assert torch.equal(near.StyleIndex.build(every.style, every.vgg, tmp_path / "all" / "style_index.pt").vectors, index.vectors)
    every.style.crop = 16  # other crops: the cache is not reused
    assert near.StyleIndex.build(every.style, every.vgg, tmp_path / "all" / "style_index.pt").vectors.shape == index.vectors.shape
    assert torch.load(tmp_path / "all" / "style_index.pt", weights_only=True)["made_from"]["crop"] == 16
    half = Trainer(_cfg(folders, tmp_path / "half", near_pairs=0.5), progress=False)
    picked = ~(half.with_close_pairs(content, style)[1] == style).flatten(1).all(1)
    assert 0 < int(picked.sum()) < 8
    with pytest.raises(FlowstyleError, match="near_pairs"):
        _cfg(folders, tmp_path / "bad", near_pairs=1.5)


def test_art_pairs_put_a_style_image_as_the_content_and_a_near_other_style_with_it(folders, tmp_path, monkeypatch):
    from flowstyle.training import near

    monkeypatch.setattr(near, "NEAR_K", 1)
    trainer = Trainer(_cfg(folders, tmp_path / "art", art_pairs=1.0), progress=False)
    content, style = torch.rand(6, 3, 32, 32), torch.rand(6, 3, 32, 32)
    art, near_style = trainer.with_close_pairs(content, style)
    crops = {str(f): [trainer.style.sample(i, trainer.step) for i in range(len(trainer.style)) if trainer.style.files[i] == f]
             for f in trainer.style.files}
    index = near.StyleIndex.build(trainer.style, trainer.vgg)
    vectors = near.style_vector(trainer.vgg(art))
    for i in range(6):
        owner = [f for f, cs in crops.items() if any(torch.equal(art[i], c) for c in cs)]
        assert len(owner) == 1  # every content is now a crop of a style image
        # its style is the nearest crop of another file, never the content's own image
        taken = [f for f, cs in crops.items() if any(torch.equal(near_style[i], c) for c in cs)]
        assert taken and owner[0] not in taken
        ranked = index.nearest(vectors[i : i + 1], len(index.files))[0].tolist()
        first_other = next(j for j in ranked if index.files[j] != owner[0])
        assert index.files[first_other] in taken
    # the same step draws the same pairs (resumable); another step other ones
    again = Trainer(_cfg(folders, tmp_path / "art2", art_pairs=1.0), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(again.with_close_pairs(content, style), (art, near_style)))
    trainer.step = 7
    assert not torch.equal(trainer.with_close_pairs(content, style)[0], art)
    none = Trainer(_cfg(folders, tmp_path / "none", art_pairs=0.0), progress=False)
    assert torch.equal(none.with_close_pairs(content, style)[0], content)
    with pytest.raises(FlowstyleError, match="art_pairs"):
        _cfg(folders, tmp_path / "bad", art_pairs=-0.1)


def test_distillation_pulls_one_pass_towards_the_frozen_initial_models_phase_average(folders, tmp_path):
    from flowstyle.image.transforms import pad as pad_image
    from flowstyle.image.transforms import phase_shifts
    from flowstyle.operators import apply_operator

    init = train(_cfg(folders, tmp_path / "init", iters=4), progress=False)
    with pytest.raises(FlowstyleError, match="distill_weight needs --init"):
        _cfg(folders, tmp_path / "no-init", distill_weight=1.0)
    trainer = Trainer(_cfg(folders, tmp_path / "student", init=str(init), distill_weight=1.0, iters=8,
                                 style_weight=0.0, content_weight=0.0), progress=False)
    content = torch.stack([trainer.content.sample(i, 99) for i in range(2)])
    style = torch.stack([trainer.style.sample(i, 99) for i in range(2)])
    teacher = load_model(init)
    flow = teacher.flow
    # the teacher's output is the all-phase average, close to 16 whole-flow passes for every
    # pixel shift (not equal: each pass's padding enters AdaIN's global statistics), unlike one pass
    z_s = flow.encode(style)
    with torch.no_grad():
        passes = []
        for dy, dx in phase_shifts(16, 4):
            shifted = pad_image(content, dx, (-(32 + dx)) % 4, dy, (-(32 + dy)) % 4, "reflect")
            out = flow.decode(apply_operator("adain", flow.encode(shifted), z_s, None))
            passes.append(out[..., dy : dy + 32, dx : dx + 32])
        expected = torch.stack(passes).mean(0)
        target = trainer.teacher_batch(content, style)
        one_pass = flow.decode(apply_operator("adain", flow.encode(content), z_s, None))
    assert float((target - expected).abs().mean()) < 0.2 * float((one_pass - expected).abs().mean())
    with torch.no_grad():
        before = float(((trainer.stylize_batch(content, style) - target) ** 2).mean())
    trainer.run()
    with torch.no_grad():
        after = float(((trainer.stylize_batch(content, style) - trainer.teacher_batch(content, style)) ** 2).mean())
        assert torch.equal(trainer.teacher_batch(content, style), target)  # the teacher stays frozen
    assert after < 0.7 * before
    rows = (tmp_path / "student" / "log.csv").read_text().splitlines()
    assert rows[0].split(",")[rows[0].split(",").index("distill")] == "distill" and len(rows) > 1


def test_a_diverging_loss_stops_the_run_and_keeps_the_checkpoint_from_before(folders, tmp_path, monkeypatch, capsys):
    """Losses that grow 1.3x a step from step 61 on, finite all the way: the saves at 70 and 80
    are refused, the guard stops the run, and checkpoint.pt and the model are still step 60's."""
    noise = (0.5, 1.0, 2.0, 0.7, 1.4)  # 4x between batches

    def fake_step(self, content, style):  # no training: the loss is made up, per step
        s = self.step + 1
        loss = 5.0 * noise[s % len(noise)] * (1.3 ** max(0, s - 60))
        return {"loss": loss, "content": loss, "style": 0.0, "local": 0.0, "grid": 0.0, "range": 0.0, "shift": 0.0,
                "hinge": 0.0, "distill": 0.0, "grad_norm": 1.0, "lr": 1e-3}

    monkeypatch.setattr(Trainer, "train_step", fake_step)
    out = tmp_path / "run"
    argv = ["train", "--content-dir", folders[0], "--style-dir", folders[1], "--out", str(out), "--iters", "200",
            "--batch", "1", "--crop", "32", "--resize", "40", "--n-block", "2", "--n-flow", "1", "--width", "8",
            "--workers", "0", "--device", "cpu", "--no-progress", "--save-every", "10", "--sample-every", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err) and "warning: step 70 not saved" in err[0]
    assert err[-1].startswith("flowstyle: error: loss diverged at step ")
    assert "the last good checkpoint (step 60) is kept: lower --lr and --resume" in err[-1]
    assert 70 < int(err[-1].split("at step ")[1].split(":")[0]) < 100
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert state["step"] == 60 and len(state["divergence"]["losses"]) == 32
    assert load_model(out / "model.safetensors").info["steps"] == 60
    # --resume judges against the same reference
    resumed = Trainer(TrainConfig.from_dict(state["config"]), resume=True, progress=False)
    assert resumed.step == 60 and resumed.guard.best == state["divergence"]["best"] and resumed.guard.full
