"""The nst command: a real run and its error paths (one line, non-zero exit, nothing half-written)."""

from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nst.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "nst.cli", *map(str, args)], capture_output=True, text=True)


def test_stylize_writes_output_and_intermediates(tmp_path, content_path, style_path, capsys):
    out = tmp_path / "o.png"
    rc = main(["stylize", str(content_path), "--style", str(style_path), "--size", "48", "--steps", "4",
               "--save-every", "2", "-o", str(out), "-q"])
    assert rc == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (32, 48, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.png", "o_step00002.png"]


@pytest.mark.slow  # full tier: two Gatys compilations
def test_stylize_runs_neural_styles_protocol(tmp_path, content_path, style_path):
    # neural-style's start and torch's L-BFGS from the command line: the options reach the optimiser, so the
    # output is the Python API's, and differs from the default line search's
    from nst.methods.gatys import gatys_transfer

    out = tmp_path / "o.png"
    rc = main(["stylize", str(content_path), "--style", str(style_path), "--size", "32", "--steps", "3", "--init",
               "mean_pixel_noise", "--lbfgs-memory", "100", "--linesearch", "none", "-o", str(out), "-q"])
    assert rc == 0
    run = lambda **kw: np.round(gatys_transfer(content_path, style_path, size=32, steps=3, init="mean_pixel_noise",  # noqa: E731
                                               lbfgs_memory=100, verbose=False, **kw).image * 255)
    written = np.asarray(Image.open(out), np.float64)
    assert np.abs(written - run(linesearch="none")).max() <= 1
    assert np.abs(written - run()).max() > 1


def test_stylize_several_contents_into_folder(tmp_path, content_path, style_path):
    from tests.conftest import DATA

    cat = DATA / "content" / "eval" / "skimage_chelsea.jpg"
    rc = main(["stylize", str(content_path), str(cat), "--style", str(style_path), "--style", str(style_path),
               "--style-weight", "1", "--style-weight", "0", "--size", "40", "--steps", "1", "-o",
               str(tmp_path / "outs"), "-q"])
    assert rc == 0
    assert sorted(p.name for p in (tmp_path / "outs").iterdir()) == [
        "kodak_kodim23_vangogh_starry_night.png", "skimage_chelsea_vangogh_starry_night.png"]


@pytest.mark.parametrize("args,code,match", [
    (["stylize", "missing.jpg", "--style", "{style}", "-o", "{tmp}/o.png"], 1, "missing.jpg: no such file"),
    (["stylize", "{content}", "--style", "{bad}", "-o", "{tmp}/o.png"], 1, "not an image"),
    (["stylize", "{content}", "-o", "{tmp}/o.png"], 1, "at least one --style image"),
    (["stylize", "{content}", "--style", "{style}", "--steps", "0", "-o", "{tmp}/o.png"], 2, "positive integer"),
    (["stylize", "{content}", "--style", "{style}", "--style-weight", "1", "--style-weight", "2",
      "-o", "{tmp}/o.png"], 1, "2 --style-weight values for 1 --style"),
    (["stylize", "{content}", "--style", "{style}", "--optimizer", "sgd", "-o", "{tmp}/o.png"], 2, "invalid choice"),
    (["stylize", "{content}", "--style", "{style}", "--linesearch", "exact", "-o", "{tmp}/o.png"], 2, "invalid choice"),
    (["stylize", "{content}", "--style", "{style}", "-o", "{tmp}/o.xyz", "--size", "40", "--steps", "1", "-q"], 1,
     "unknown output image format"),
    (["frobnicate"], 2, "invalid choice"),
    (["stylize", "{content}", "--style", "{style}", "--border", "8", "-o", "{tmp}/o.png"], 1, "--batch-size need --model"),
    (["stylize", "{content}", "--model", "m.nst", "--border", "-1", "-o", "{tmp}/o.png"], 2, "non-negative integer"),
    (["stylize", "{content}", "--model", "{models}/johnson_starry_night.nst", "--border", "6", "--border-stage",
      "residual", "-o", "{tmp}/o.png"], 1, "multiple of 4 px"),
    (["stylize", "{content}", "--style", "{style}", "--border-stage", "residual", "-o", "{tmp}/o.png"], 1,
     "--border-stage and --batch-size need --model"),
])
def test_errors_are_one_line_without_traceback(tmp_path, content_path, style_path, args, code, match):
    bad = tmp_path / "bad.jpg"
    bad.write_text("hello")
    models = Path(__file__).resolve().parent.parent / "results" / "models"
    args = [a.format(style=style_path, content=content_path, bad=bad, tmp=tmp_path, models=models) for a in args]
    r = run_cli(*args)
    assert r.returncode == code, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    import re

    assert re.search(match, lines[0]), lines[0]
    assert not list(tmp_path.glob("o*")), "no partial output may be left"


def test_weights_command_prints_path():
    r = run_cli("weights", "-q")
    assert r.returncode == 0 and r.stdout.strip().endswith(".safetensors")


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_demo_says_what_it_does_and_lists_every_file(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--size", "48", "--steps", "1"]) == 0
    text = capsys.readouterr().out
    for stage in ("[1/4] VGG19 weights", "[2/4] generation 1", "[3/4] generation 2", "[4/4] generation 3"):
        assert stage in text
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 10 and "demo_grid.png" in written and "demo_dumoulin_8styles_blend.png" in written
    assert all(name in text for name in written)  # the demo names every file it wrote
    from PIL import Image

    grid = Image.open(out / "demo_grid.png")
    assert grid.height > 3 * 48 + 48  # room for the painting thumbnails and the labels above the photos
