"""The command line: exit codes, files written (and not written), folder mode."""

import subprocess
import sys

import pytest
from PIL import Image

from flowstyle.cli import main
from flowstyle.models import DEFAULT_MODEL


def run(*args):
    return main([str(a) for a in args])


def test_stylize_writes_the_image(tiny_model_file, photo_files, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert run("stylize", photo_files["astronaut"], photo_files["coffee"], "-o", out, "--model", tiny_model_file, "--pad", 8) == 0
    assert Image.open(out).size == Image.open(photo_files["astronaut"]).size
    assert str(out) in capsys.readouterr().out


def test_all_options_together(tiny_model_file, photo_files, tmp_path):
    out = tmp_path / "out.jpg"
    code = run(
        "stylize", photo_files["astronaut"], photo_files["coffee"], photo_files["chelsea"], "-o", out,
        "--model", tiny_model_file, "--method", "wct", "--alpha", 0.7, "--style-weights", 2, 1, "--quality", "fast",
        "--blend", "outputs", "--size", 48, "--pad", 16, "--pad-mode", "zeros", "--preserve-color", "--tile", 16,
        "--recipe", "gain=1.2", "--recipe", "phases=4", "--recipe", "seed=3", "--recipe", "grid-filter-diagonal=none",
    )
    assert code == 0 and max(Image.open(out).size) == 48


@pytest.mark.parametrize(
    "args, message",
    [
        (["MISSING", "STYLE"], "no such file"),
        (["CONTENT", "BADSTYLE"], "not a readable image"),
        (["CONTENT", "STYLE", "--alpha", "1.5"], "between 0 and 1"),
        (["CONTENT", "STYLE", "--method", "magic"], "invalid choice"),
        (["CONTENT", "STYLE", "--size", "0"], "positive"),
        (["CONTENT", "STYLE", "--size", "2"], "too small"),
        (["CONTENT", "STYLE", "--style-weights", "1", "2"], "style weights"),
        (["CONTENT", "STYLE", "--model", "no-such-model"], "no model named"),
        (["CONTENT", "STYLE", "--method", "adaattn"], "AdaAttN"),
        (["CONTENT", "STYLE", "--recipe", "phases=3"], "phases"),
        (["CONTENT", "STYLE", "--recipe", "gain=0"], "above 0"),
        (["CONTENT", "STYLE", "--recipe", "gain=9"], "gain must be"),
        (["CONTENT", "STYLE", "--recipe", "anchor=-1"], "anchor must be"),
        (["CONTENT", "STYLE", "--recipe", "phases=x"], "phases: not a valid int"),
        (["CONTENT", "STYLE", "--recipe", "colour=1"], "KEY=VALUE with KEY one of"),
        (["CONTENT", "STYLE", "--recipe", "anchor_stats=gram"], "choose from"),
        (["CONTENT", "STYLE", "--quality", "best"], "invalid choice"),
    ],
)
def test_user_errors_exit_2_with_one_line_and_no_file(args, message, tiny_model_file, photo_files, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    subst = {"MISSING": tmp_path / "missing.png", "CONTENT": photo_files["astronaut"], "STYLE": photo_files["coffee"], "BADSTYLE": bad}
    argv = [str(subst.get(a, a)) for a in args]
    if "--model" not in argv:
        argv += ["--model", tiny_model_file]
    out = tmp_path / "out.png"
    try:
        code = run("stylize", *argv, "-o", out)
    except SystemExit as exc:  # argparse rejects bad flag values itself
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "\n".join(err)
    assert not out.exists() and not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_folder_mode_skips_existing_and_bad_files(tiny_model_file, photo_files, tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for name in ("astronaut", "chelsea"):
        Image.open(photo_files[name]).save(src / f"{name}.jpg")
    Image.open(photo_files["rocket"]).save(src / "sub" / "rocket.png")
    out = tmp_path / "out"
    assert run("stylize", src, photo_files["coffee"], "-o", out, "--model", tiny_model_file, "--pad", 8) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert written == ["astronaut.png", "chelsea.png", "sub/rocket.png"]
    mtime = (out / "astronaut.png").stat().st_mtime_ns
    assert run("stylize", src, photo_files["coffee"], "-o", out, "--model", tiny_model_file) == 0
    assert "3 already there" in capsys.readouterr().out
    assert (out / "astronaut.png").stat().st_mtime_ns == mtime
    (src / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    assert run("stylize", src, photo_files["coffee"], "-o", out, "--model", tiny_model_file, "--overwrite", "--pad", 8) == 2
    assert "broken.jpg" in capsys.readouterr().err


def test_models_and_version_and_module_entry_point(capsys):
    assert run("models") == 0
    listing = capsys.readouterr().out
    assert listing.splitlines()[0].startswith(f"{DEFAULT_MODEL} (default) ")  # the default first, marked
    adain = next(line for line in listing.splitlines() if line.startswith("artflow-adain "))
    assert "1 squeeze phase, gain 1, grid filter 2 px" in adain  # the grid fix each model uses
    proc = subprocess.run([sys.executable, "-m", "flowstyle", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("flowstyle ")


def test_init_model_writes_a_loadable_untrained_model(tmp_path):
    from flowstyle import load_model

    out = tmp_path / "u.safetensors"
    assert run("init-model", out, "--n-block", 1, "--n-flow", 2, "--width", 8) == 0
    model = load_model(out)
    assert model.flow.initialized and model.config.n_flow == 2


def test_demo_uses_the_bundled_images(tiny_model_file, tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert run("demo", "-o", out, "--model", tiny_model_file, "--size", 64) == 0
    assert max(Image.open(out).size) == 64
    printed = capsys.readouterr().out
    assert str(out) in printed and "great-wave.jpg (Hokusai" in printed  # a painting


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from flowstyle.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'torch.distributed', 'numpy', 'PIL') if m in sys.modules]\n"
        "print('loaded:', ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and "stylize" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "loaded: "  # none of them


def test_models_set_defaults_rewrites_only_the_metadata(tiny_model_file, tmp_path, capsys):
    from safetensors.torch import load_file

    from flowstyle import load_model

    out = tmp_path / "fixed.safetensors"
    assert run("models", "set-defaults", tiny_model_file, "--recipe", "phases=4", "--recipe", "gain=1.2", "--precision", "bf16", "-o", out) == 0
    assert str(out) in capsys.readouterr().out
    model = load_model(out)
    assert (model.defaults.recipe.phases, model.defaults.recipe.gain, model.defaults.precision) == (4, 1.2, "bf16")
    before, after = load_file(tiny_model_file), load_file(str(out))
    assert before.keys() == after.keys() and all(torch_equal(before[k], after[k]) for k in before)
    assert load_model(tiny_model_file).defaults.recipe.phases == 1  # -o leaves the source alone
    assert run("models", "set-defaults", out, "--recipe", "gain=1.1", "--recipe", "anchor=0.5") == 0  # in place, other defaults kept
    assert (load_model(out).defaults.recipe.phases, load_model(out).defaults.recipe.gain, load_model(out).defaults.recipe.anchor) == (4, 1.1, 0.5)
    assert run("models", "set-defaults", out, "--recipe", "anchor_stats=covariance") == 0
    assert (load_model(out).defaults.recipe.anchor, load_model(out).defaults.recipe.anchor_stats) == (0.5, "covariance")
    assert run("models", "set-defaults", out, "--recipe", "anchor_near=0.4") == 0
    assert (load_model(out).defaults.recipe.anchor_stats, load_model(out).defaults.recipe.anchor_near) == ("covariance", 0.4)
    assert "near 0.4" in capsys.readouterr().out
    assert run("models", "set-defaults", out, "--recipe", "phases=1", "--recipe", "grid_filter=2.5") == 0
    assert (load_model(out).defaults.recipe.phases, load_model(out).defaults.recipe.grid_filter) == (1, 2.5)
    assert "grid filter 2.5 px" in capsys.readouterr().out
    assert run("models", "set-defaults", out, "--recipe", "grid_filter_diagonal=1") == 0
    assert (load_model(out).defaults.recipe.grid_filter, load_model(out).defaults.recipe.grid_filter_diagonal) == (2.5, 1.0)
    assert "grid filter 2.5 px (1 px diagonal)" in capsys.readouterr().out
    assert run("models", "set-defaults", out, "--recipe", "deep_phases=4") == 0
    assert (load_model(out).defaults.recipe.deep_phases, load_model(out).defaults.recipe.phases) == (4, 1)
    assert "1 squeeze phase x 4 deep" in capsys.readouterr().out
    assert run("models", "set-defaults", out, "--recipe", "deep_phases=1") == 0
    assert "work size 384 px" in capsys.readouterr().out  # none named: the pipeline's
    assert run("models", "set-defaults", out, "--work-size", "512") == 0
    assert (load_model(out).defaults.work_size, load_model(out).defaults.recipe.gain) == (512, 1.1)
    assert "work size 512 px" in capsys.readouterr().out
    for bad, message in ((["--recipe", "phases=3"], "phases must be"), (["--recipe", "deep_phases=3"], "deep_phases must be"),
                         (["--recipe", "gain=0"], "gain"), (["--recipe", "anchor=2"], "anchor"),
                         (["--recipe", "grid_filter=-1"], "grid filter"), (["--recipe", "anchor_near=-1"], "anchor near"),
                         (["--work-size", "-2"], "work size"), ([], "nothing to set")):
        assert run("models", "set-defaults", out, *bad) == 2
        assert message in capsys.readouterr().err
    assert load_model(out).defaults.recipe.gain == 1.1
    assert [p.name for p in tmp_path.iterdir()] == ["fixed.safetensors"]  # no temporary left behind


def test_old_files_with_info_defaults_still_load(tiny_model, tmp_path):
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    from flowstyle import load_model, save_model

    path = save_model(tiny_model, tmp_path / "new.safetensors")
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    del meta["defaults"]
    meta["info"] = json.dumps({"default_phases": 16, "default_gain": 1.3})
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata=meta)
    model = load_model(tmp_path / "old.safetensors")
    assert (model.defaults.recipe.phases, model.defaults.recipe.gain) == (16, 1.3) and "default_phases" not in model.info


def torch_equal(a, b):
    return a.dtype == b.dtype and bool((a == b).all())
