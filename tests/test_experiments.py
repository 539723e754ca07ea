"""The experiments runner: the quick preset end to end, plot from saved data, resume, failures recorded."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.runner import Experiment, read_rows, register, run

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # the runner's resume and plot are also covered by the other presets; fast tier budget
def test_speed_quick_preset_end_to_end_plot_and_resume(tmp_path):
    out = tmp_path / "speed"
    r = subprocess.run([sys.executable, "-m", "experiments", "run", "speed", "--preset", "quick", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = read_rows(out / "raw.csv")
    assert sorted(x["id"] for x in rows) == ["gatys-64", "johnson-64"]
    assert all(x["seconds"] > 0 for x in rows)
    info = json.loads((out / "run.json").read_text())
    assert info["preset"] == "quick" and info["backend"] == "cpu" and re.fullmatch("[0-9a-f]{40}", info["git_commit"])
    summary = (out / "summary.md").read_text()
    assert "64×64" in summary and (out / "speed.png").stat().st_size > 1000
    # plot regenerates identical tables from the saved raw data
    (out / "summary.md").unlink()
    r = subprocess.run([sys.executable, "-m", "experiments", "plot", "speed", "--out", str(out)], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0 and (out / "summary.md").read_text() == summary
    # resume: finished items are not recomputed
    before = (out / "raw.csv").read_text()
    r = subprocess.run([sys.executable, "-m", "experiments", "run", "speed", "--preset", "quick", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.count("done earlier, skipped") == 2
    assert (out / "raw.csv").read_text() == before


def test_a_failing_item_is_recorded_not_fatal(tmp_path):
    def run_item(item, cfg, cache):
        if item["id"] == "b":
            raise ValueError("broken item")
        return {"value": 1.5}

    register(Experiment("_failing", "test", {"quick": {}}, lambda cfg: [{"id": "a"}, {"id": "b"}, {"id": "c"}],
                        run_item, lambda rows, out: []))
    out = run("_failing", "quick", tmp_path / "f", verbose=False)
    assert [r["id"] for r in read_rows(out / "raw.csv")] == ["a", "c"]
    fails = read_rows(out / "failures.csv")
    assert len(fails) == 1 and fails[0]["id"] == "b" and "broken item" in fails[0]["error"]


@pytest.mark.slow
def test_quality_vs_time_quick_preset(tmp_path, monkeypatch):
    out = tmp_path / "qvt"
    r = subprocess.run([sys.executable, "-m", "experiments", "run", "quality_vs_time", "--preset", "quick", "--out",
                        str(out)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = read_rows(out / "raw.csv")
    row, noise, train, larger, grey, grey_larger, grey100, _, torch, _, reflect, reflect_larger = [
        r for r in rows if r.get("kind") != "pass"]
    assert row["gatys_final"] > 0 and row["johnson_objective"] > 0 and row["dumoulin_objective"] > 0
    # Fig. 5's larger panels: the same comparison at another output size, reported per size
    assert larger["size"] == 96 and larger["id"].endswith("-noise-96px") and larger["johnson_objective"] > 0
    assert "| eval | gatys | noise | 96 |" in (out / "summary.md").read_text()
    # a training photo, scored the same way, is reported apart from the unseen ones
    assert train["split"] == "train" and train["content"] == "skimage_coffee" and train["johnson_objective"] > 0
    assert "| train | gatys | noise | 64 |" in (out / "summary.md").read_text()
    # the white-noise start (Gatys et al.'s) is scored on the same objective: its first step is far worse
    assert noise["init"] == "noise" and noise["id"].endswith("-noise")
    noise_hist = [float(line.split(",")[1]) for line in
                  (out / "histories" / f"{noise['id']}.csv").read_text().splitlines()[1:]]
    hist = (out / "histories" / f"{row['id']}.csv").read_text().splitlines()
    assert hist[0] == "iteration,objective,warm_seconds" and len(hist) == 9
    # the equivalent iteration is consistent with the saved history
    values = [float(line.split(",")[1]) for line in hist[1:]]
    k = int(row["johnson_equivalent_iterations"])
    if k > 0:
        assert values[k - 1] <= row["johnson_objective"] and all(v > row["johnson_objective"] for v in values[: k - 1])
    assert noise_hist[0] > values[0]
    # neural-style's near-constant start, the code closest to Johnson et al.'s baseline, at both sizes
    assert grey["init"] == "mean_pixel_noise" and grey["id"].endswith("-mean_pixel_noise")
    assert grey_larger["size"] == 96 and grey_larger["id"].endswith("-mean_pixel_noise-96px")
    grey_hist = [float(line.split(",")[1]) for line in
                 (out / "histories" / f"{grey['id']}.csv").read_text().splitlines()[1:]]
    assert len(grey_hist) == 8 and grey_hist[0] != noise_hist[0] and grey["johnson_objective"] > 0
    assert "| eval | gatys | mean_pixel_noise | 64 |" in (out / "summary.md").read_text()
    # ... and with neural-style's L-BFGS history (torch's optim.lbfgs keeps 100 pairs); 8 steps fit in either
    # history, so the path is the same (test_gatys checks that the history length reaches the optimiser)
    assert grey100["id"].endswith("-mean_pixel_noise-memory100") and int(grey100["lbfgs_memory"]) == 100
    grey100_hist = [float(line.split(",")[1]) for line in
                    (out / "histories" / f"{grey100['id']}.csv").read_text().splitlines()[1:]]
    assert grey100_hist == pytest.approx(grey_hist, rel=1e-4)
    assert "| eval | gatys | mean_pixel_noise, memory 100 | 64 |" in (out / "summary.md").read_text()
    # ... and with torch's L-BFGS as a whole (no line search): its first step is torch's tiny one, so the
    # path leaves the backtracking one at once (tests/test_optimizers.py checks the algorithm itself)
    assert torch["id"].endswith("-mean_pixel_noise-memory100-linesearch_none") and torch["linesearch"] == "none"
    torch_hist = [float(line.split(",")[1]) for line in
                  (out / "histories" / f"{torch['id']}.csv").read_text().splitlines()[1:]]
    assert len(torch_hist) == 8 and torch_hist[0] != pytest.approx(grey100_hist[0], rel=1e-4)
    assert "| eval | gatys | mean_pixel_noise, memory 100, line search none | 64 |" in (out / "summary.md").read_text()
    assert "Johnson" in (out / "summary.md").read_text() and "| noise |" in (out / "summary.md").read_text()
    # another network read off the saved curves: the committed one again must land where its curve row says
    curves = {r["id"]: r for r in rows}
    passes = [r for r in rows if r.get("kind") == "pass" and r["network"] == "johnson_again"]
    assert len(passes) == 8 and {curves[p["curve"]]["init"] for p in passes} == {"noise", "mean_pixel_noise"}
    for p in passes:
        assert p["network_objective"] == pytest.approx(curves[p["curve"]]["johnson_objective"], rel=1e-5)
        assert p["network_equivalent_iterations"] == curves[p["curve"]]["johnson_equivalent_iterations"]
        assert p["border"] == "default" and p["compare"] == "johnson"
    assert "| johnson_again | default |" in (out / "summary.md").read_text()
    # a committed network without its stylize border (the computation it was trained in), read off the same
    # curves and compared with that network's own default pass: another output, so another objective, one
    # value per photo and size whatever the start, and its iteration is where that value falls on each curve
    bare = [r for r in rows if r.get("kind") == "pass" and r["network"] == "dumoulin_bare"]
    assert len(bare) == 8 and all(p["border"] == "none" and p["compare"] == "dumoulin" for p in bare)
    for p in bare:
        curve = curves[p["curve"]]
        assert p["network_objective"] != pytest.approx(curve["dumoulin_objective"], rel=1e-4)
        history = [float(line.split(",")[1]) for line in
                   (out / "histories" / f"{curve['id']}.csv").read_text().splitlines()[1:]]
        k = int(p["network_equivalent_iterations"])
        assert all(v > p["network_objective"] for v in history[: (k - 1 if k > 0 else len(history))])
        if k > 0:
            assert history[k - 1] <= p["network_objective"]
    assert len({(p.get("size") or 64, p["network_objective"]) for p in bare}) == 2
    assert "| dumoulin_bare | none |" in (out / "summary.md").read_text()
    # neural-style's protocol on the objective with a reflecting loss network: its own curves, other values
    assert reflect["objective"] == "training_reflect" and reflect_larger["size"] == 96
    assert reflect["id"].endswith("-training_reflect-mean_pixel_noise-memory100-linesearch_none")
    reflect_hist = [float(line.split(",")[1]) for line in
                    (out / "histories" / f"{reflect['id']}.csv").read_text().splitlines()[1:]]
    k = int(reflect["johnson_equivalent_iterations"])
    assert len(reflect_hist) == 8
    assert all(v > reflect["johnson_objective"] for v in reflect_hist[: (k - 1 if k > 0 else 8)])
    assert not any(p["curve"] == reflect["id"] for p in rows if p.get("kind") == "pass")  # entries name their objective
    assert "| eval | training_reflect | mean_pixel_noise, memory 100, line search none | 64 |" in (
        out / "summary.md").read_text()
    assert_curves_reused(out, "quality_vs_time", monkeypatch)


def assert_curves_reused(out: Path, name: str, monkeypatch) -> None:
    """A page run again from empty rows (what `experiments.rerun` does after a model changed) reuses every L-BFGS
    curve its folder holds (`experiments.memo`) and makes the same rows; a curve whose definition changed runs."""
    import experiments.registered  # noqa: F401 - registers the page (the first run may have been a subprocess)
    import nst.methods.gatys

    before = {r["id"]: r for r in read_rows(out / "raw.csv")}
    (out / "raw.csv").unlink()
    real = nst.methods.gatys.gatys_transfer

    def no_lbfgs(*args, **kwargs):
        raise AssertionError("an L-BFGS curve ran again")

    monkeypatch.setattr(nst.methods.gatys, "gatys_transfer", no_lbfgs)
    run(name, "quick", out, verbose=False)
    assert not (out / "failures.csv").exists()
    after = {r["id"]: r for r in read_rows(out / "raw.csv")}
    assert set(after) == set(before)
    for k, r in before.items():
        measured = ("item_seconds", "peak_rss_mb")
        assert set(after[k]) == set(r), k
        for c, v in r.items():
            if c not in measured:
                assert after[k][c] == (pytest.approx(v, rel=1e-5) if isinstance(v, float) else v), (k, c)
    # a record whose definition differs (another objective, another photo) is not reused
    record = next(out.glob("**/*.memo.json"))
    data = json.loads(record.read_text())
    first = next(iter(data))
    data[first]["definition"]["steps"] += 1
    record.write_text(json.dumps(data))
    (out / "raw.csv").unlink()
    calls = []
    monkeypatch.setattr(nst.methods.gatys, "gatys_transfer", lambda *a, **k: calls.append(1) or real(*a, **k))
    run(name, "quick", out, verbose=False)
    assert calls == [1]


def test_training_objective_keeps_the_style_size_the_networks_learned():
    """At 512 px the networks' own objective takes the painting at the 256 px they were trained with."""
    from experiments.registered.quality_vs_time import objective_overrides

    cache: dict = {}
    at256, at512 = objective_overrides("training", cache, 256), objective_overrides("training", cache, 512)
    assert at256["style_scale"] == 1.0 and at512["style_scale"] == 0.5
    assert {k: v for k, v in at256.items() if k != "style_scale"} == {k: v for k, v in at512.items() if k != "style_scale"}
    assert objective_overrides("gatys", cache, 512) == {}
    # the reflecting loss network's objective is the same one with vgg_padding; a model records which it trained on
    from experiments.registered.quality_vs_time import MODELS, REFLECT, network_pass, training_objective

    assert objective_overrides(REFLECT, cache, 256) == {**at256, "vgg_padding": "reflect"}
    meta = cache[next(iter(MODELS["johnson"].values()))].meta["training"]
    assert training_objective({**meta, "vgg_padding": "zero"}, 256, "m") == at256  # older files have no padding
    assert training_objective({**meta, "vgg_padding": "reflect"}, 256, "m") == objective_overrides(REFLECT, cache, 256)
    # a model trained with a style weight per style has one objective per style: style k's weight times s_k
    scaled = {**meta, "vgg_padding": "zero", "style_scales": [2.5, 0.5]}
    with pytest.raises(ValueError, match="per style"):
        training_objective(scaled, 256, "m")
    assert training_objective(scaled, 256, "m", 1) == {**at256, "style_weight": meta["style_weight"] * 0.5}
    assert training_objective(scaled, 256, "m", 0)["style_weight"] == pytest.approx(meta["style_weight"] * 2.5)
    net = {"label": "zero_trained", "style": "vangogh_starry_night", "objective": REFLECT,
           "path": MODELS["johnson"]["vangogh_starry_night"]}
    with pytest.raises(ValueError, match="not trained on the training_reflect objective"):
        network_pass({"network": "zero_trained", "style": "vangogh_starry_night", "objective": REFLECT},
                     {"more_networks": [net], "size": 64}, cache)


@pytest.mark.slow
def test_interpolation_quick_preset(tmp_path):
    out = tmp_path / "interp"
    r = subprocess.run([sys.executable, "-m", "experiments", "run", "interpolation", "--preset", "quick", "--out",
                        str(out)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = read_rows(out / "raw.csv")
    assert sorted(x["id"] for x in rows) == ["pair-0", "pair-1", "quad-0-0", "quad-0-1", "quad-1-0", "quad-1-1"]
    from PIL import Image

    assert Image.open(out / "interpolation_quad.png").size[0] > Image.open(out / "interpolation_pair.png").size[0] / 2
    # the pure-style ends of the pair row are the model's own styles: each is closer to its own painting
    # than the opposite end is
    p0, p1 = (next(x for x in rows if x["id"] == f"pair-{k}") for k in (0, 1))
    assert p1["style_loss_1"] < p0["style_loss_1"]


def test_gram_normalisations_are_layer_reweightings(rng):
    """The Gram-normalisation ablation's premise, against NumPy: the conventions differ per layer by constants."""
    import jax.numpy as jnp

    from nst.core.losses import gram_loss, gram_matrix

    h, w, c = 6, 5, 8
    fa, fb = rng.standard_normal((2, 1, h, w, c)).astype(np.float32)
    ours = float(gram_loss(gram_matrix(jnp.asarray(fa)), gram_matrix(jnp.asarray(fb)))[0])
    ra, rb = (f.reshape(-1, c).astype(np.float64) for f in (fa, fb))
    raw_a, raw_b = ra.T @ ra, rb.T @ rb
    gatys_e = ((raw_a - raw_b) ** 2).sum() / (4 * c**2 * (h * w) ** 2)  # Gatys et al. 2016, eq. 4
    chw = (((raw_a - raw_b) / (c * h * w)) ** 2).mean()  # Johnson et al. / pytorch examples
    raw = ((raw_a - raw_b) ** 2).mean()
    np.testing.assert_allclose(gatys_e, ours / 4, rtol=1e-4)
    np.testing.assert_allclose(chw, ours / c**2, rtol=1e-4)
    np.testing.assert_allclose(raw, ours * (h * w) ** 2, rtol=1e-4)


@pytest.mark.slow
def test_new_experiments_quick_presets(tmp_path):
    """many_styles, fine_tune, gatys_ablations and export end to end at toy sizes, with real properties."""
    import experiments.registered.export_models  # noqa: F401 - registers
    import experiments.registered.fine_tune  # noqa: F401
    import experiments.registered.gatys_ablations  # noqa: F401
    import experiments.registered.many_styles  # noqa: F401

    out = run("many_styles", "quick", tmp_path / "ms", verbose=False)
    rows = {r["id"]: r for r in read_rows(out / "raw.csv")}
    assert int(rows["size-1"]["per_style"]) == 3206 and int(rows["size-8"]["per_style"]) == 3206
    assert int(rows["size-8"]["parameters"]) - int(rows["size-1"]["parameters"]) == 7 * 3206
    assert rows["budget-dumoulin-vangogh_starry_night"]["model_styles"] == 2
    assert (out / "budget_style_loss.png").exists() and "What a style costs" in (out / "summary.md").read_text()

    out = run("fine_tune", "quick", tmp_path / "ft", verbose=False)
    rows = {r["id"]: r for r in read_rows(out / "raw.csv")}
    assert int(rows["finetune"]["trainable_parameters"]) == 3206
    assert int(rows["scratch"]["trainable_parameters"]) > 1_600_000
    assert (out / "histories" / "finetune.csv").exists() and (out / "loss_vs_iterations.png").exists()

    out = run("gatys_ablations", "quick", tmp_path / "ga", verbose=False)
    rows = read_rows(out / "raw.csv")
    assert len(rows) == 6  # 4 ratios (one is the default) + 2 extra Gram normalisations
    from PIL import Image

    cells = {r["id"]: np.asarray(Image.open(out / "cells" / f"{r['id']}.png")) for r in rows}
    assert len({c.tobytes() for c in cells.values()}) == len(cells)  # every variant changes the result

    out = run("export", "quick", tmp_path / "ex", verbose=False)
    (row, row16) = read_rows(out / "raw.csv")
    assert float(row["max_abs_diff"]) <= 2e-3 and float(row16["onnx_bytes"]) < 0.6 * float(row["onnx_bytes"])


def test_headline_table_comes_from_committed_runs():
    from experiments.scripts.headline import headline

    text = headline(ROOT / "results")
    gatys_256 = next(r for r in read_rows(ROOT / "results/speed/raw.csv") if r["id"] == "gatys-256")
    assert f"{float(gatys_256['seconds']):.0f} s (500 L-BFGS steps)" in text
    assert "| styles per model | any (no training) | 1 | 8 |" in text
    # the neural-style baseline row (its start, torch's L-BFGS) ranges over its unseen-photo, 256-px curves on the
    # networks' own objective only (no passes of other networks, no reflecting loss network)
    grey = [r for r in read_rows(ROOT / "results/quality_vs_time/raw.csv") if r.get("lbfgs_memory") == 100
            and r.get("objective") == "training" and r.get("linesearch") == "none" and r.get("kind") != "pass"
            and not r.get("size") and not r.get("split")]
    cells = [f"{min(int(r[c]) for r in grey)}–{max(int(r[c]) for r in grey)}"
             for c in ("johnson_equivalent_iterations", "dumoulin_equivalent_iterations")]
    row = next(line for line in text.splitlines() if "neural-style" in line)
    assert len(grey) == 8 and row.endswith(f"| {cells[0]} | {cells[1]} |")
    # issue #13's ratio per generation, recomputed from fidelity's raw rows: per (model, style) the mean style loss
    # over the photos ÷ the mean of the Gatys results' on the same photos; median [worst] over the styles
    fid = read_rows(ROOT / "results/fidelity/raw.csv")
    gatys = {(r["style"], r["photo"]): r["style_loss"] for r in fid if r["method"] == "gatys"}
    ratios = {}
    for model in ("johnson", "dumoulin"):
        groups = {}
        for r in fid:
            if r["method"] == "feedforward" and r["model"].startswith(model):
                groups.setdefault((r["model"], r["style"]), []).append(r)
        ratios[model] = [np.mean([r["style_loss"] for r in rs]) / np.mean([gatys[r["style"], r["photo"]] for r in rs])
                         for rs in groups.values()]
    row = next(line for line in text.splitlines() if line.startswith("| issue #13's ratio"))
    assert row.endswith(" | ".join(["", "1 (the baseline)", *(f"{np.median(v):.2f} [{max(v):.2f}]" for v in ratios.values())])
                        + " |")
    assert len(ratios["dumoulin"]) == 8 and len(ratios["johnson"]) == 2


@pytest.mark.slow
def test_reference_models_quick_preset(tmp_path):
    """The committed Great Wave model at toy size: the style moves the output toward the painting and
    away from the photo, and its 4-px grid share is recorded next to the photos' own."""
    import experiments.registered.reference_models  # noqa: F401

    out = run("reference_models", "quick", tmp_path / "rm", verbose=False)
    rows = {r["id"]: r for r in read_rows(out / "raw.csv")}
    photo, styled = rows["photo"], rows["johnson_great_wave-0"]
    assert int(styled["iterations"]) >= 1000 and float(styled["ssim"]) < 0.99
    assert 0 <= float(photo["grid"]) < 0.1 and 0 <= float(styled["grid"]) <= float(styled["grid_max"]) <= 1
    assert (out / "johnson_great_wave.png").exists() and "grid" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_grid_ablation_quick_preset(tmp_path):
    """The committed model is scored untouched, then fine-tuned per TV weight: only γ > 0 carries a TV term,
    and γ = 0 (the control) still changes the network."""
    import experiments.registered.grid_ablation  # noqa: F401

    out = run("grid_ablation", "quick", tmp_path / "ga", verbose=False)
    rows = {r["id"]: r for r in read_rows(out / "raw.csv")}
    assert set(rows) == {"reference", "tv-0", "tv-1e+07"} and "train_tv" not in rows["reference"]
    assert float(rows["tv-0"]["train_tv"]) == 0 and float(rows["tv-1e+07"]["train_tv"]) > 0
    assert all(0 <= float(r["grid"]) <= 1 for r in rows.values())
    assert rows["tv-0"]["grid"] != rows["reference"]["grid"]
    assert (out / "outputs.png").exists() and "grid" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_border_quick_preset(tmp_path):
    """The committed Great Wave model with and without the stylize border, scored next to the photo."""
    import experiments.registered.border  # noqa: F401

    out = run("border", "quick", tmp_path / "b", verbose=False)
    rows = {r["id"]: r for r in read_rows(out / "raw.csv")}
    assert set(rows) == {"photo", "johnson_great_wave-0-b0", "johnson_great_wave-0-b16"}
    bare, padded = rows["johnson_great_wave-0-b0"], rows["johnson_great_wave-0-b16"]
    assert float(bare["area_cost"]) == 0 and float(padded["area_cost"]) > 1  # 64 px + 2x16 border
    assert bare["contrast_mean"] != padded["contrast_mean"]  # the border reaches the output
    assert all(float(r[k]) > 0 for r in (bare, padded) for k in ("style_whole", "style_interior", "content_whole"))
    assert "style (interior)" in (out / "summary.md").read_text()
    assert (out / "edges.png").exists() and "border" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_recipe_study_quick_preset(tmp_path):
    """Every recipe fine-tunes the same model; the table carries the Gatys ratio and the train/eval gap."""
    import experiments.registered.recipe_study  # noqa: F401

    out = run("recipe_study", "quick", tmp_path / "rs", verbose=False)
    rows = {r["variant"]: r for r in read_rows(out / "raw.csv")}
    assert set(rows) == {"gatys", "reference", "nst2026", "dumoulin2017"}
    assert rows["nst2026"]["train_seconds"] > 0 and "train_style" in rows["dumoulin2017"]
    summary = (out / "summary.md").read_text()
    assert "style ÷ Gatys" in summary and "| gatys | " in summary
    assert (out / "johnson_great_wave_outputs.png").stat().st_size > 10_000
    assert not (out / "failures.csv").exists()


@pytest.mark.slow  # trains two tiny networks; fast tier budget
def test_photo_residual_quick_preset(tmp_path):
    """The two output steps trained alike: each network file records its step; after two iterations the
    photo_residual network still returns nearly the photo (SSIM near 1) where the sigmoid one does not; the
    table, the sheet and the training curves are written; no item reads a committed results/ file."""
    import nst
    from experiments.registered import photo_residual

    out = run("photo_residual", "quick", tmp_path / "pr", verbose=False)
    assert not (out / "failures.csv").exists()
    rows = read_rows(out / "raw.csv")
    scores = {r["model"]: r for r in rows if r.get("kind") == "score"}
    assert set(scores) == {"gatys", "sigmoid", "photo_residual"}
    assert scores["photo_residual"]["ssim"] > 0.95 > scores["sigmoid"]["ssim"] + 0.3
    for v in ("sigmoid", "photo_residual"):
        assert nst.load(photo_residual.model_file(out, v)).model.config.output == v
        assert (out / "histories" / f"{v}.loss.csv").exists()
    summary = (out / "summary.md").read_text()
    assert "| sigmoid | " in summary and "| photo_residual | " in summary
    # Fig. 5: every network read off curves of its own objective from both starts; the curve it is read off is kept
    passes = [r for r in rows if r.get("kind") == "fig5"]
    assert {(r["variant"], r["start"]) for r in passes} == {(v, s) for v in ("sigmoid", "photo_residual")
                                                            for s in photo_residual.FIG5_STARTS}
    for r in passes:
        history = np.genfromtxt(out / "histories" / f"{r['id']}.csv", delimiter=",", names=True)["objective"]
        assert len(history) == 3 and r["lbfgs_final"] == pytest.approx(history[-1], rel=1e-5)
        assert r["equivalent_iterations"] == -1 or history[int(r["equivalent_iterations"]) - 1] <= \
            r["network_objective"] * (1 + 1e-5)
    assert "## Johnson et al.'s Fig. 5 measure" in summary
    assert (out / "outputs.png").stat().st_size > 5_000 and (out / "training_loss.png").exists()
    cfg = photo_residual.EXPERIMENT.presets["cpu"]
    assert all(photo_residual.EXPERIMENT.item_reads(i, cfg) == [] for i in photo_residual.items(cfg))


def test_scratch_scaled_interpolated_ratio_against_a_numpy_oracle():
    """`scratch_scaled.interpolated_ratio`: linear in log ratio along SSIM between two networks, no extrapolation."""
    from experiments.registered.scratch_scaled import interpolated_ratio

    for a, ra, b, rb, at in [(0.566, 19.57, 0.351, 3.58, 0.458), (0.3, 2.0, 0.5, 8.0, 0.45), (0.4, 5.0, 0.2, 5.0, 0.3)]:
        expected = np.exp(np.interp(at, sorted([a, b]), [np.log(ra), np.log(rb)] if a < b else [np.log(rb), np.log(ra)]))
        assert interpolated_ratio(a, ra, b, rb, at) == pytest.approx(expected, rel=1e-12)
    assert interpolated_ratio(0.5, 8.0, 0.4, 2.0, 0.5) == pytest.approx(8.0)  # at an end, that network's ratio
    assert interpolated_ratio(0.512, 8.74, 0.431, 5.93, 0.362) is None  # Gatys' SSIM below both: no estimate
    assert interpolated_ratio(0.4, 3.0, 0.4, 6.0, 0.4) is None

def test_scratch_scaled_best_at_gatys_ssim_picks_the_lowest_ratio_that_keeps_the_photo():
    """`scratch_scaled.best_at_gatys_ssim`: per (base, style), the lowest ratio among networks at SSIM ≥ Gatys';
    where none keeps Gatys' SSIM, the one that comes closest (so the targets count the style as missed)."""
    from experiments.registered.scratch_scaled import best_at_gatys_ssim

    def rec(base, style, network, ratio, ssim, gatys_ssim=0.40):
        return {"base": base, "model": f"{base}_{network}", "style": style, "network": network, "ratio": ratio,
                "ff_ssim": ssim, "gatys_ssim": gatys_ssim}

    cands = [rec("d", "a", "reference", 8.0, 0.50), rec("d", "a", "this run", 3.0, 0.30),
             rec("d", "a", "× 0.5", 4.5, 0.41), rec("d", "a", "× 0.25", 5.5, 0.45),  # 4.5: lowest at SSIM ≥ 0.40
             rec("d", "b", "reference", 6.0, 0.38), rec("d", "b", "this run", 2.0, 0.20),  # none keeps 0.40
             rec("j", "a", "reference", 7.0, 0.40), {"base": "j", "style": "a", "ff_ssim": 0.9}]  # no Gatys rows
    best = {(r["model"], r["style"]): r for r in best_at_gatys_ssim(cands)}
    assert set(best) == {("d", "a"), ("d", "b"), ("j", "a")}
    assert (best[("d", "a")]["network"], best[("d", "a")]["ratio"]) == ("× 0.5", 4.5)
    assert best[("d", "b")]["network"] == "reference" and best[("d", "b")]["ff_ssim"] < 0.40
    assert best[("j", "a")]["network"] == "reference"  # SSIM equal to Gatys' counts as keeping it


def test_output_levers_blur_blend_and_detail_against_oracles():
    """`output_levers`: the Gaussian blur equals scipy's (mirrored borders, kernel cut at 4σ); a blend runs from
    the photo (α = 0) to the output (α = 1); detail adds back exactly the photo's high-pass, clipped to [0, 1]."""
    from scipy.ndimage import gaussian_filter

    from experiments.registered.output_levers import add_detail, blend, gaussian_blur

    rng = np.random.default_rng(0)
    photo = rng.random((29, 37, 3)).astype(np.float32)
    output = rng.random(photo.shape).astype(np.float32)
    for sigma in (0.7, 2.0, 3.3):
        oracle = gaussian_filter(photo.astype(np.float64), sigma=(sigma, sigma, 0), mode="reflect", truncate=4.0)
        np.testing.assert_allclose(gaussian_blur(photo, sigma), oracle, atol=1e-6)
    np.testing.assert_allclose(blend(output, photo, 1.0), output, atol=1e-7)
    np.testing.assert_allclose(blend(output, photo, 0.0), photo, atol=1e-7)
    np.testing.assert_allclose(blend(output, photo, 0.25), 0.75 * photo + 0.25 * output, atol=1e-6)
    high_pass = photo - gaussian_filter(photo.astype(np.float64), sigma=(2, 2, 0), mode="reflect", truncate=4.0)
    detailed = add_detail(output, photo, 0.5, 2.0)
    np.testing.assert_allclose(detailed, np.clip(output + 0.5 * high_pass, 0, 1), atol=1e-6)
    assert 0 < np.mean((detailed == 0) | (detailed == 1)) < 0.5  # some pixels clipped, most not
    np.testing.assert_allclose(add_detail(output, np.full_like(photo, 0.3), 1.0, 2.0), output, atol=1e-6)  # flat: none



def test_fidelity_ratios_pair_each_output_with_gatys_on_the_same_photo():
    """`fidelity.per_style`: means over photos, style ratio against Gatys on the same photos only."""
    from experiments.registered.fidelity import per_style

    def row(method, model, style, photo, loss, ssim):
        return {"method": method, "model": model, "style": style, "photo": photo, "style_loss": loss,
                "content_loss": 1.0, "ssim": ssim, "color_swd": 0.1, "grid": 0.001, "edge_contrast": 1.0}

    rows = [row("gatys", "gatys", "a", "p1", 1.0, 0.3), row("gatys", "gatys", "a", "p2", 3.0, 0.5),
            row("gatys", "gatys", "b", "p1", 9.0, 0.1),
            row("feedforward", "m", "a", "p1", 4.0, 0.4), row("feedforward", "m", "a", "p2", 8.0, 0.6),
            row("feedforward", "m", "b", "p1", 3.0, 0.2), row("feedforward", "m", "b", "p2", 3.0, 0.2)]
    recs = {r["style"]: r for r in per_style(rows)}
    assert recs["a"]["ratio"] == pytest.approx(6.0 / 2.0) and recs["a"]["ff_ssim"] == pytest.approx(0.5)
    assert recs["a"]["gatys_ssim"] == pytest.approx(0.4)
    assert "ratio" not in recs["b"]  # Gatys missing on p2: no ratio rather than one over other photos


def test_fidelity_layers_shares_and_ratios_against_a_numpy_oracle():
    """`fidelity_layers.per_style`: shares of the evaluator total and per-layer ratios on common photos only."""
    from experiments.registered.fidelity_layers import EVAL_LAYERS, TRAIN_LAYERS, per_style

    rng = np.random.default_rng(0)
    layers = EVAL_LAYERS + TRAIN_LAYERS
    vals = {(m, p): rng.uniform(1, 10, len(layers)) for m in ("gatys", "net") for p in ("p1", "p2", "p3")}

    def row(model, photo):
        return {"model": model, "style": "a", "photo": photo, **{f"style_{n}": v for n, v in zip(layers, vals[model, photo])}}

    rows = [row("gatys", "p1"), row("gatys", "p2"), row("net", "p1"), row("net", "p2"), row("net", "p3")]
    (rec,) = per_style(rows)
    net = (vals["net", "p1"] + vals["net", "p2"]) / 2  # p3 has no Gatys result: left out
    gat = (vals["gatys", "p1"] + vals["gatys", "p2"]) / 2
    k = len(EVAL_LAYERS)
    assert rec["photos"] == 2 and rec["total_ratio"] == pytest.approx(net[:k].sum() / gat[:k].sum())
    assert [rec["ratio"][n] for n in layers] == pytest.approx(list(net / gat))
    assert [rec["share"][n] for n in EVAL_LAYERS] == pytest.approx(list(net[:k] / net[:k].sum()))
    assert sum(rec["gatys_share"].values()) == pytest.approx(1.0)


def test_fidelity_layers_headroom_against_a_numpy_oracle():
    """`fidelity_layers.headroom`: photo ÷ Gatys and photo ÷ network over the photos all three share."""
    from experiments.registered.fidelity_layers import EVAL_LAYERS, headroom

    rng = np.random.default_rng(1)
    vals = {}
    rows = []
    for model in ("photo", "gatys", "net"):
        for p in ("p1", "p2") + (("p3",) if model == "net" else ()):  # p3 has no photo or Gatys row
            v = rng.uniform(1, 10, len(EVAL_LAYERS))
            vals[model, p] = v.sum()
            rows.append({"model": model, "style": "s", "photo": p, **{f"style_{n}": str(x) for n, x in zip(EVAL_LAYERS, v)}})
    (rec,) = headroom(rows)
    mean = {m: (vals[m, "p1"] + vals[m, "p2"]) / 2 for m in ("photo", "gatys", "net")}
    assert rec["photos"] == 2 and rec["photo"] == pytest.approx(mean["photo"])
    assert rec["gatys_drop"] == pytest.approx(mean["photo"] / mean["gatys"])
    assert rec["network_drop"] == pytest.approx(mean["photo"] / mean["net"])
    assert rec["ratio"] == pytest.approx(rec["gatys_drop"] / rec["network_drop"])


def test_fig5_ratio_per_style_against_a_numpy_oracle(tmp_path):
    """`fig5_ratio.per_style`: the snapshot curve's ratio is the mean style loss over photos ÷ the mean Gatys style
    loss; a network's ratio and its median equivalent iteration; the baseline's ratio at the nearest snapshot."""
    from experiments.registered.fig5_ratio import first_within, per_style

    rng = np.random.default_rng(2)
    (tmp_path / "snapshots").mkdir()
    its = np.array([5, 10, 15, 20])
    styles, rows = {}, []
    for p, eq in (("p1", 9), ("p2", 19)):
        styles[p] = rng.uniform(1, 10, len(its))
        lines = ["iteration,objective,style_loss,ssim,content_loss,grid"]
        lines += [f"{i},1,{float(v)!r},0.5,1,0.001" for i, v in zip(its, styles[p])]
        (tmp_path / "snapshots" / f"s-{p}.csv").write_text("\n".join(lines) + "\n")
        rows.append({"id": f"s-{p}", "style": "s", "photo": p, "gatys_style": {"p1": 2.0, "p2": 4.0}[p],
                     "gatys_ssim": 0.3, "dumoulin_style": {"p1": 6.0, "p2": 12.0}[p], "dumoulin_ssim": 0.4,
                     "dumoulin_equivalent_iterations": eq, "johnson_style": ""})
    (rec,) = per_style(rows, tmp_path)
    assert rec["ratio"] == pytest.approx((styles["p1"] + styles["p2"]) / 2 / 3.0)
    assert "johnson" not in rec and rec["dumoulin"]["ratio"] == pytest.approx(3.0)
    assert rec["dumoulin"]["equivalent"] == 14  # the median of 9 and 19
    assert rec["dumoulin"]["at_network"] == pytest.approx((styles["p1"][1] + styles["p2"][3]) / 2 / 3.0)
    assert first_within(its, np.array([5.0, 3.5, 2.9, 1.0]), 3.0) == 15
    assert first_within(its, np.array([5.0, 3.5, 3.1, 4.0]), 3.0) == -1


def test_fig5_ratio_candidate_objective_adds_layers_and_a_style_weight_per_painting():
    """`fig5_ratio.candidate_objective`: the training objective with an entry's overrides, and with
    ``style_scales_from_ratio`` R the style weight times max(1, the Dumoulin model's fidelity ratio ÷ R)."""
    from experiments.registered.fig5_ratio import NEXT_GPU_RECIPE, candidate_objective

    training = {"style_layers": ("relu1_2",), "style_layer_weights": (1e-4,), "style_weight": 2.0, "tv_weight": 1e7}
    rows = [{"method": "gatys", "model": "gatys", "style": s, "photo": "p", "style_loss": 10.0, "content_loss": 1.0,
             "ssim": 0.3, "color_swd": 0.1, "grid": 0.001, "edge_contrast": 1.0} for s in ("a", "b")]
    rows += [{"method": "feedforward", "model": "dumoulin_8styles", "style": s, "photo": "p", "style_loss": v,
              "content_loss": 1.0, "ssim": 0.4, "color_swd": 0.1, "grid": 0.001, "edge_contrast": 1.0}
             for s, v in (("a", 90.0), ("b", 20.0))]
    a = candidate_objective(NEXT_GPU_RECIPE, "a", training, rows)
    b = candidate_objective(NEXT_GPU_RECIPE, "b", training, rows)
    assert a["style_layers"][-1] == "relu4_1" and a["style_layer_weights"] == (1e-4, 1e-4, 1e-4, 1e-4, 1e-5)
    assert a["style_weight"] == pytest.approx(2.0 * 9.0 / 3.0) and b["style_weight"] == pytest.approx(2.0)  # 2 < 3
    assert a["tv_weight"] == 1e7 and candidate_objective({}, "a", training, rows) == training
    with pytest.raises(ValueError, match="no ratio of dumoulin_8styles on c"):
        candidate_objective(NEXT_GPU_RECIPE, "c", training, rows)


def test_fig5_ratio_item_reads_name_each_curves_objective_and_networks():
    """`fig5_ratio.item_reads`: every curve reads its own Gatys row; the main start's the reference networks that have
    its painting (and the training metadata); a per-painting candidate recipe the Dumoulin model's rows of that
    painting and no network; an entry's own networks their files only, not the reference models."""
    from experiments.registered.fig5_ratio import DUMOULIN, EXPERIMENT, SCRATCH_SCALED_NETWORKS, item_reads
    from experiments.registered.quality_vs_time import MODELS

    cfg = EXPERIMENT.presets["cpu"]
    first_johnson = next(iter(MODELS["johnson"].values()))
    item = {"style": "picabia_udnie", "photo": "kodak_kodim23"}
    gatys_row = "results/fidelity?id=gatys-picabia_udnie-kodak_kodim23"
    assert item_reads({**item, "start_label": ""}, cfg) == [gatys_row, first_johnson, DUMOULIN]
    wave = item_reads({"style": "hokusai_great_wave", "photo": "kodak_kodim23", "start_label": ""}, cfg)
    assert MODELS["johnson"]["hokusai_great_wave"] in wave and DUMOULIN in wave
    assert item_reads({**item, "start_label": "next_gpu_recipe"}, cfg) == [
        gatys_row, first_johnson, "results/fidelity?model=dumoulin_8styles&style=picabia_udnie"]
    for label in ("scratch_scaled_dumoulin", "scratch_scaled_johnson_content"):
        own = SCRATCH_SCALED_NETWORKS[label.split("_")[2]]
        assert item_reads({**item, "start_label": label}, cfg) == [gatys_row, *own]


def test_quality_vs_time_item_reads_name_the_networks_each_row_scores():
    """`quality_vs_time.item_reads`: a curve reads the reference networks that have its painting (and, off Gatys' own
    objective, the training metadata); a ``more_networks`` pass reads its own network, not the reference ones."""
    from experiments.registered.quality_vs_time import EXPERIMENT, MODELS, item_outputs, item_reads, items

    cfg = EXPERIMENT.presets["cpu"]
    first_johnson = next(iter(MODELS["johnson"].values()))
    curve = {"id": "c", "style": "hokusai_great_wave", "objective": "gatys"}
    assert item_reads(curve, cfg) == [MODELS["johnson"]["hokusai_great_wave"], MODELS["dumoulin"]]
    assert item_reads({**curve, "objective": "training"}, cfg)[-1] == first_johnson
    passes = [i for i in items(cfg) if i.get("kind") == "pass"]
    assert passes
    for item in passes:
        net = next(n for n in cfg["more_networks"] if n["label"] == item["network"] and n["style"] == item["style"])
        assert item_reads(item, cfg)[0] == net["path"]
        assert MODELS["dumoulin"] not in item_reads(item, cfg) or net["path"] == MODELS["dumoulin"]
        assert item_outputs(item, cfg, Path("out")) == []
    assert item_outputs(curve, cfg, Path("out")) == [Path("out/histories/c.csv")]


def test_style_balance_variants_name_a_recipe_and_a_style_weight_factor():
    from experiments.registered.recipe_study import parse_variant, slug, split_style_size, split_tv_weight

    assert parse_variant("dumoulin2017") == ("dumoulin2017", 1.0, {})
    assert parse_variant("gatys_default*0.3") == ("gatys_default", 0.3, {})
    assert parse_variant("dumoulin2017+relu4_1:1e-5+relu5_1:2e-6*2") == (
        "dumoulin2017", 2.0, {"relu4_1": 1e-5, "relu5_1": 2e-6})
    assert slug("dumoulin2017*10") == "dumoulin2017x10"
    assert slug("dumoulin2017+relu4_1:1e-5") == "dumoulin2017_relu4_1-1e-5"
    assert slug("magenta^256") == "magenta_style256"
    assert split_style_size("magenta^256") == ("magenta", 256) and split_style_size("magenta") == ("magenta", None)
    assert split_tv_weight("dumoulin2017+relu4_1:1e-5~1e6") == ("dumoulin2017+relu4_1:1e-5", 1e6)
    assert split_tv_weight("dumoulin2017~0") == ("dumoulin2017", 0.0) and split_tv_weight("magenta") == ("magenta", None)
    assert slug("dumoulin2017+relu4_1:1e-5~1e6") == "dumoulin2017_relu4_1-1e-5_tv1e6"
    from experiments.registered.style_balance import column_label

    assert column_label("dumoulin2017+relu4_1:1e-5~1e6") == "dumoulin2017 +relu4_1:1e-5 TV=1e6"  # wraps in a cell
    from experiments.registered.recipe_study import style_per_ssim

    control = {"eval_style": 100.0, "eval_ssim": 0.5}
    assert style_per_ssim({"eval_style": 10.0, "eval_ssim": 0.4}, control) == pytest.approx(10.0)  # 1 dex / 0.1
    assert np.isnan(style_per_ssim({"eval_style": 50.0, "eval_ssim": 0.55}, control))  # SSIM rose: no trade
    assert np.isnan(style_per_ssim(control, control))


@pytest.mark.slow
def test_style_balance_quick_preset(tmp_path):
    """Each variant fine-tunes with its recipe and factor and the reference models' TV; per-layer ratios reported."""
    import nst
    import experiments.registered.style_balance  # noqa: F401

    out = run("style_balance", "quick", tmp_path / "sb", verbose=False)
    rows = {r["variant"]: r for r in read_rows(out / "raw.csv")}
    assert set(rows) == {"gatys", "reference", "dumoulin2017*3", "gatys_default", "dumoulin2017+relu4_1:1e-5",
                         "magenta", "dumoulin2017~0"}
    assert not (out / "failures.csv").exists()
    m = nst.load(out / "models" / "johnson_great_wave_magenta.nst").meta["training"]
    assert m["pooling"] == "avg" and m["style_size"] is None and m["tv_weight"] == 1e7  # not the preset's 256
    t = nst.load(out / "models" / "johnson_great_wave_dumoulin2017x3.nst").meta["training"]
    assert t["style_weight"] == 3.0 and t["tv_weight"] == 1e7 and t["recipe"] == "dumoulin2017"
    g = nst.load(out / "models" / "johnson_great_wave_gatys_default.nst").meta["training"]
    assert g["content_layers"] == ["relu4_2"] and len(g["style_layers"]) == 5
    x = nst.load(out / "models" / "johnson_great_wave_dumoulin2017_relu4_1-1e-5.nst").meta["training"]
    assert x["style_layers"][-1] == "relu4_1" and x["style_layer_weights"] == [1e-4] * 4 + [1e-5]
    v = nst.load(out / "models" / "johnson_great_wave_dumoulin2017_tv0.nst").meta["training"]
    assert v["tv_weight"] == 0.0 and v["recipe"] == "dumoulin2017" and v["style_weight"] == 1.0  # only γ differs
    layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    for r in rows.values():  # the evaluator's style loss is the sum of its per-layer terms
        assert sum(float(r[f"eval_style_{n}"]) for n in layers) == pytest.approx(float(r["eval_style"]), rel=1e-4)
    assert "as a multiple of Gatys' on that layer" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_style_length_stages_resume_and_equal_one_uninterrupted_fine_tune(tmp_path):
    """Stage 2 resumes stage 1's checkpoint, and its network is the one a fresh 2-iteration fine-tune gives."""
    import nst
    from flax import nnx

    import experiments.registered.style_length  # noqa: F401
    from experiments.registered import recipe_study
    from experiments.runner import REGISTRY
    from nst.io.modelfile import flatten_tree

    out = run("style_length", "quick", tmp_path / "sl", verbose=False)
    rows = {r["variant"]: r for r in read_rows(out / "raw.csv")}
    v = "dumoulin2017+relu4_1:3e-5"
    assert set(rows) == {"gatys", "reference", f"{v}@1", f"{v}@2"} and not (out / "failures.csv").exists()
    assert float(rows[f"{v}@2"]["resumed_from"]) == 1 and float(rows[f"{v}@1"]["resumed_from"]) == 0
    staged = nst.load(out / "models" / "johnson_great_wave_dumoulin2017_relu4_1-3e-5_at2.nst")
    assert staged.meta["iterations"] == 2 and staged.meta["training"]["style_layers"][-1] == "relu4_1"
    cfg = REGISTRY["style_length"].presets["quick"]
    ref = nst.load(recipe_study.ROOT / "results" / "models" / "johnson_great_wave.nst")
    fresh = recipe_study.fine_tuned(ref, recipe_study.ROOT / "data" / "styles" / f"{ref.styles[0]}.jpg", v, cfg, 2)
    a, b = (flatten_tree(nnx.state(m.model, nnx.Param)) for m in (staged, fresh))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    summary = (out / "summary.md").read_text()
    g = float(rows["gatys"]["eval_style"])
    assert f"| 2 | {float(rows[f'{v}@2']['eval_style']) / g:.2f} |" in summary
    assert f"| 0 | {float(rows['reference']['eval_style']) / g:.2f} |" in summary
    assert (out / "length_curve.png").exists()


@pytest.mark.slow
def test_scratch_relu4_1_scores_the_gpu_trained_networks_from_their_files(tmp_path):
    """The committed from-scratch networks are scored as found; iterations and loss come from their own files."""
    import nst
    import experiments.registered.scratch_relu4_1 as sr

    out = run("scratch_relu4_1", "quick", tmp_path / "sr", verbose=False)
    rows = {r["variant"]: r for r in read_rows(out / "raw.csv")}
    assert set(rows) == {"gatys", "reference", "scratch+relu4_1:1e-5"} and not (out / "failures.csv").exists()
    path = sr.model_path("johnson_great_wave", "w1e-5")
    model, r = nst.load(path), rows["scratch+relu4_1:1e-5"]
    assert int(float(r["iterations"])) == model.meta["iterations"] > 0
    assert r["style_layer_weights"] == "0.0001 0.0001 0.0001 0.0001 1e-05"
    history = np.loadtxt(path.with_suffix(".loss.csv"), delimiter=",", skiprows=1)
    assert history[-1, 0] == model.meta["iterations"]  # the loss CSV belongs to this model
    assert float(r["train_loss"]) == pytest.approx(history[-20:, 1].mean(), rel=1e-6)
    assert float(r["eval_style"]) != float(rows["reference"]["eval_style"])
    summary = (out / "summary.md").read_text()
    assert "## How each network was trained" in summary and f"| {model.meta['iterations']} | 4 | gpu |" in summary
    assert (out / "trade_off.png").exists() and "results/style_balance" in summary


@pytest.mark.slow
def test_scratch_capacity_scores_the_longer_run_and_compares_training_losses(tmp_path):
    """The width-1 longer run is scored from its file, and its training loss is compared with the reference's over equal windows."""
    import nst
    import experiments.registered.scratch_capacity as sc

    out = run("scratch_capacity", "quick", tmp_path / "sc", verbose=False)
    rows = {r["variant"]: r for r in read_rows(out / "raw.csv")}
    assert set(rows) == {"gatys", "reference", "width1_longer"} and not (out / "failures.csv").exists()
    path = sc.model_path("johnson_starry_night", "w1")
    model = nst.load(path)
    assert int(float(rows["width1_longer"]["iterations"])) == model.meta["iterations"] > 10000
    assert float(rows["width1_longer"]["width"]) == model.meta["network"]["width"] == 1.0
    summary = (out / "summary.md").read_text()
    mine = np.loadtxt(path.with_suffix(".loss.csv"), delimiter=",", skiprows=1)
    ref = np.loadtxt(sc.ROOT / "results/models/johnson_starry_night.loss.csv", delimiter=",", skiprows=1)
    a, b = mine[9000:10000, 1].mean(), ref[9000:10000, 1].mean()  # iterations 9001–10000 (the CSV starts at 1)
    assert f"its 9001–10000: {a:.4g} against {b:.4g} ({100 * (a / b - 1):+.1f} %)" in summary
    assert (out / "loss_curves.png").exists() and "## How each network was trained" in summary


def test_gpu_network_not_in_the_checkout_says_how_to_get_it():
    """A width-2 network is not committed (over 8 MB): scoring it names the GPU call's record, before any VGG work."""
    import experiments.registered.scratch_capacity as sc

    item = {"id": "johnson_great_wave/width2", "model": "johnson_great_wave", "variant": "width2", "folder": "no_such"}
    with pytest.raises(FileNotFoundError, match=r"scratch_capacity/gpu_run\.txt"):
        sc.run_item(item, {}, {})


def test_window_mean_against_numpy():
    """Mean over an inclusive iteration window; NaN for a run that stopped before the window's end."""
    from experiments.registered.scratch_capacity import window_mean

    h = np.column_stack([np.arange(1, 21), np.arange(20) ** 2.0, np.ones(20), np.arange(20) * 3.0])
    assert window_mean(h, 5, 10) == pytest.approx(np.mean(np.arange(4, 10) ** 2.0))
    assert window_mean(h, 5, 10, column=3) == pytest.approx(np.mean(np.arange(4, 10) * 3.0))
    assert np.isnan(window_mean(h, 15, 21))


def test_style_scales_from_fidelity_ratios_against_a_numpy_oracle():
    """s_k = max(1, ratio_k / 3) over the photos the network and Gatys share; 1 for a style with no rows."""
    from experiments.registered.style_scales import scales_from_ratios

    rows = [{"method": "gatys", "model": "gatys", "style": "a", "photo": "p1", "style_loss": "10"},
            {"method": "gatys", "model": "gatys", "style": "a", "photo": "p2", "style_loss": "30"},
            {"method": "feedforward", "model": "m", "style": "a", "photo": "p1", "style_loss": "300"},
            {"method": "feedforward", "model": "m", "style": "a", "photo": "p2", "style_loss": "500"},
            {"method": "feedforward", "model": "m", "style": "a", "photo": "p3", "style_loss": "9e9"},  # no Gatys
            {"method": "gatys", "model": "gatys", "style": "b", "photo": "p1", "style_loss": "10"},
            {"method": "feedforward", "model": "m", "style": "b", "photo": "p1", "style_loss": "20"},
            {"method": "feedforward", "model": "other", "style": "c", "photo": "p1", "style_loss": "1e9"}]
    assert scales_from_ratios(["a", "b", "c"], rows, "m") == [round(400 / 20 / 3, 2), 1.0, 1.0]


@pytest.mark.slow
def test_style_scales_quick_preset(tmp_path, monkeypatch):
    """Control and scaled fine-tunes of the Dumoulin model, every style scored against a fidelity run's Gatys rows."""
    import nst
    import experiments.registered.fidelity  # noqa: F401
    from experiments.registered import style_scales

    gatys_run = run("fidelity", "quick", tmp_path / "f", verbose=False)  # Great Wave on skimage_chelsea, 64 px
    monkeypatch.setitem(style_scales.EXPERIMENT.presets["quick"], "gatys_source", str(gatys_run))
    out = run("style_scales", "quick", tmp_path / "ss", verbose=False)
    assert not (out / "failures.csv").exists()
    rows = {r["id"]: r for r in read_rows(out / "raw.csv")}
    ref = nst.load(style_scales.ROOT / style_scales.MODEL)
    assert set(rows) == {"train/control", "train/scaled"} | {f"{v}/{s}" for v in ("reference", "control", "scaled")
                                                              for s in ref.styles}
    tuned = nst.load(style_scales.model_file(out, "scaled"))
    assert tuned.meta["init_from"]["iterations"] == ref.meta["iterations"] and tuned.meta["iterations"] == 1
    assert len(tuned.meta["training"]["style_scales"]) == ref.num_styles
    wave = rows["reference/hokusai_great_wave"]  # the one painting the quick fidelity run has Gatys for
    assert float(wave["ratio"]) == pytest.approx(float(wave["style_loss"]) / float(wave["gatys_style"]))
    assert rows["reference/vangogh_starry_night"].get("ratio") in ("", None)
    summary = (out / "summary.md").read_text()
    assert f"| hokusai_great_wave | {float(wave['gatys_ssim']):.3f} | {float(wave['ratio']):.2f} |" in summary
    assert (out / "outputs.png").exists() and (out / "trade_off.png").exists()

    # lr_decay runs the same machinery with a learning rate that decays to 0
    from experiments.registered import lr_decay

    monkeypatch.setitem(lr_decay.EXPERIMENT.presets["quick"], "gatys_source", str(gatys_run))
    out = run("lr_decay", "quick", tmp_path / "lr", verbose=False)
    assert not (out / "failures.csv").exists()
    rows = {r["id"]: r for r in read_rows(out / "raw.csv")}
    assert rows["train/decayed"]["lr_schedule"] == "linear" and rows["train/control"]["lr_schedule"] == "constant"
    control, decayed = (nst.load(style_scales.model_file(out, v)) for v in ("control", "decayed"))
    assert decayed.meta["training"]["lr_schedule"] == "linear" and decayed.meta["iterations"] == 2
    h_control, h_decayed = (np.loadtxt(out / "histories" / f"{v}.loss.csv", delimiter=",", skiprows=1)
                            for v in ("control", "decayed"))
    # the same batches and the same first step (η_0 = η), so the same losses; the second step is half as long
    np.testing.assert_array_equal(h_control, h_decayed)
    photo = np.random.default_rng(0).random((40, 40, 3)).astype(np.float32)
    assert not np.array_equal(control.stylize(photo, style=1), decayed.stylize(photo, style=1))
    summary = (out / "summary.md").read_text()
    assert "0.001 → 0 (linear)" in summary and (out / "training_loss.png").exists()
    # the Johnson network fine-tuned the same way, beside the Dumoulin model's files
    starry = nst.load(style_scales.model_file(out, "decayed", lr_decay.JOHNSON[0]))
    assert starry.method == "johnson" and starry.meta["training"]["lr_schedule"] == "linear"
    assert starry.meta["iterations"] == 2
    assert rows["johnson_starry_night/train/decayed"]["lr_schedule"] == "linear"
    assert {f"johnson_starry_night/{v}/vangogh_starry_night" for v in ("reference", "decayed")} <= set(rows)
    assert (out / "histories" / "johnson_starry_night_decayed.loss.csv").exists()
    assert "## The Johnson networks" in summary and (out / "johnson_outputs.png").exists()

    # Fig. 5: the same run, resumed with a quality_vs_time run's curves to read the passes off
    import experiments.registered.quality_vs_time  # noqa: F401
    from experiments.runner import REGISTRY

    for key, value in {"noise_objectives": ["training"], "more_starts": [], "larger_sizes": [], "train_contents": [],
                       "more_networks": []}.items():
        monkeypatch.setitem(REGISTRY["quality_vs_time"].presets["quick"], key, value)
    curves = run("quality_vs_time", "quick", tmp_path / "qvt", verbose=False)
    monkeypatch.setitem(lr_decay.EXPERIMENT.presets["quick"], "curves", str(curves))
    run("lr_decay", "quick", out, verbose=False)
    rows = read_rows(out / "raw.csv")
    passes = [r for r in rows if r.get("kind") == "fig5" and not r.get("model")]
    assert {r["variant"] for r in passes} == {"reference", "control", "decayed"} and len(passes) == 3
    johnson = [r for r in rows if r.get("kind") == "fig5" and r.get("model")]
    assert {r["variant"] for r in johnson} == {"reference", "decayed"} and len(johnson) == 2
    for ref in (r for r in passes + johnson if r["variant"] == "reference"):
        # each committed model's pass, redone, lands where quality_vs_time put it for that model
        assert float(ref["network_objective"]) == pytest.approx(float(ref["committed_objective"]), rel=1e-5)
        assert int(ref["equivalent_iterations"]) == int(ref["committed_equivalent_iterations"])
    dumoulin_ref, johnson_ref = (next(r for r in group if r["variant"] == "reference") for group in (passes, johnson))
    assert dumoulin_ref["committed_objective"] != johnson_ref["committed_objective"]  # read from each model's column
    summary = (out / "summary.md").read_text()
    assert "Johnson et al.'s Fig. 5 measure" in summary
    assert "`johnson_starry_night` on Johnson et al.'s Fig. 5" in summary

    # train_border: lr_decay's `decayed` fine-tune again, with the stylize border in the training forward pass
    import experiments.registered.train_border  # noqa: F401

    for key, value in {"gatys_source": str(gatys_run), "curves": str(curves), "control_source": str(out)}.items():
        monkeypatch.setitem(REGISTRY["train_border"].presets["quick"], key, value)
    tb = run("train_border", "quick", tmp_path / "tb", verbose=False)
    assert not (tb / "failures.csv").exists()
    rows = {r["id"]: r for r in read_rows(tb / "raw.csv")}
    bordered = nst.load(style_scales.model_file(tb, "bordered", lr_decay.JOHNSON[0]))
    t = bordered.meta["training"]
    assert (t["train_border"], t["train_border_stage"], t["lr_schedule"]) == (8, "residual", "linear")
    assert bordered.meta["iterations"] == 2
    # the same photos, crops and first step size as lr_decay's `decayed`, another forward pass: another loss
    h_decayed, h_bordered = (np.loadtxt(d / "histories" / "johnson_starry_night_{}.loss.csv".format(v), delimiter=",",
                                        skiprows=1) for d, v in ((out, "decayed"), (tb, "bordered")))
    assert h_decayed.shape == h_bordered.shape and h_decayed[0, 1] != h_bordered[0, 1]
    scored = [rows[f"johnson_starry_night/{v}/vangogh_starry_night"] for v in ("reference", "bordered")]
    assert all(float(r["edge_contrast"]) > 0 and float(r["edge_contrast_worst"]) >= float(r["edge_contrast"])
               for r in scored)
    fig5 = [r for r in rows.values() if r.get("kind") == "fig5" and r.get("model")]
    assert {r["variant"] for r in fig5} == {"reference", "bordered"}
    ref = next(r for r in fig5 if r["variant"] == "reference")
    assert int(ref["equivalent_iterations"]) == int(ref["committed_equivalent_iterations"])
    summary = (tb / "summary.md").read_text()
    # the control's Fig. 5 median comes from the lr_decay run named as its source
    control = next(r for r in read_rows(out / "raw.csv") if r.get("kind") == "fig5" and r.get("model")
                   and r["variant"] == "decayed")
    assert "| committed, bare | `decayed` (lr_decay) | `bordered` |" in summary
    assert f"| {int(control['equivalent_iterations'])} ({int(control['equivalent_iterations'])}–" in summary
    assert "| johnson_starry_night | bordered | 1 |" in summary
    assert (tb / "outputs.png").exists() and (tb / "edges.png").exists() and "(edges.png)" in summary


@pytest.mark.slow
def test_fidelity_quick_preset(tmp_path, monkeypatch):
    """A Gatys result and the network's output on one photo, both scored; the target table and a labelled sheet."""
    import experiments.registered.fidelity  # noqa: F401

    out = run("fidelity", "quick", tmp_path / "f", verbose=False)
    rows = {r["id"]: r for r in read_rows(out / "raw.csv")}
    assert set(rows) == {"gatys-hokusai_great_wave-skimage_chelsea", "johnson_great_wave-0-skimage_chelsea"}
    g, f = rows["gatys-hokusai_great_wave-skimage_chelsea"], rows["johnson_great_wave-0-skimage_chelsea"]
    assert g["style_loss"] != f["style_loss"] and 0 < f["ssim"] < 1 and f["grid"] > 0
    summary = (out / "summary.md").read_text()
    ratio = float(f["style_loss"]) / float(g["style_loss"])
    assert f"| {ratio:.2f} |" in summary and "median style ÷ Gatys" in summary
    assert (out / "hokusai_great_wave.png").stat().st_size > 10_000

    # scratch_scaled scores the GPU variant networks against that run's Gatys and reference rows
    import nst
    from experiments.registered import scratch_scaled

    monkeypatch.setitem(scratch_scaled.EXPERIMENT.presets["quick"], "gatys_source", str(out))
    ss = run("scratch_scaled", "quick", tmp_path / "ss", verbose=False)
    srows = {r["id"]: r for r in read_rows(ss / "raw.csv")}
    pushed_id = "johnson_great_wave_x2-0-skimage_chelsea"  # the GPU network fine-tuned with the style weight × 2
    pulled_id = "johnson_great_wave_x0.5_lr0.001-0-skimage_chelsea"  # × 0.5, from its own starting rate
    assert set(srows) == {"johnson_great_wave-0-skimage_chelsea", pushed_id, pulled_id}
    assert not (ss / "failures.csv").exists()
    new = srows["johnson_great_wave-0-skimage_chelsea"]
    assert new["style_loss"] != f["style_loss"]  # another network than the reference model
    tuned = nst.load(scratch_scaled.pushed_file(ss, srows[pushed_id]))
    base = nst.load(scratch_scaled.ROOT / scratch_scaled.MODELS_DIR / "johnson_great_wave.nst")
    assert tuned.meta["training"]["style_weight"] == 2 * base.meta["training"]["style_weight"]
    assert tuned.meta["training"]["style_layers"] == base.meta["training"]["style_layers"]  # the rest kept
    assert tuned.meta["training"]["lr_schedule"] == "linear" and tuned.meta["iterations"] == 2
    assert srows[pushed_id]["style_loss"] != new["style_loss"]
    pulled = nst.load(scratch_scaled.pushed_file(ss, srows[pulled_id]))
    assert pulled.meta["training"]["style_weight"] == 0.5 * base.meta["training"]["style_weight"]
    assert pulled.meta["training"]["learning_rate"] == 1e-3 and tuned.meta["training"]["learning_rate"] == 2e-4
    summary = (ss / "summary.md").read_text()
    new_ratio = float(new["style_loss"]) / float(g["style_loss"])
    assert f"| {ratio:.2f} | {float(f['ssim']):.3f} | {new_ratio:.2f} | {float(new['ssim']):.3f} |" in summary
    assert "| johnson_great_wave | 10000 | 4 | gpu | linear | " in summary and "relu4_1 (1e-05)" in summary
    assert (ss / "trade_off.png").exists() and (ss / "outputs_skimage_chelsea.png").exists()
    pushed_ratio = float(srows[pushed_id]["style_loss"]) / float(g["style_loss"])
    assert f"| johnson_great_wave_x2 | hokusai_great_wave | {float(g['ssim']):.3f} | {new_ratio:.2f} | " \
           f"{float(new['ssim']):.3f} | {pushed_ratio:.2f} | {float(srows[pushed_id]['ssim']):.3f} |" in summary
    # per style, the lowest measured ratio among the networks that keep Gatys' SSIM (the reference, if none else)
    measured = {"reference": f, "this run": new, "× 2": srows[pushed_id], "× 0.5, rate 0.001": srows[pulled_id]}
    keeping = {k: float(r["style_loss"]) / float(g["style_loss"]) for k, r in measured.items()
               if float(r["ssim"]) >= float(g["ssim"])}
    best = min(keeping, key=keeping.get) if keeping else max(measured, key=lambda k: float(measured[k]["ssim"]))
    best_ratio = float(measured[best]["style_loss"]) / float(g["style_loss"])
    assert f"| johnson_great_wave | hokusai_great_wave | {float(g['ssim']):.3f} | {best} | {best_ratio:.2f} |" in summary
    with pytest.raises(ValueError, match="64 px"):  # a source at another size fails before any network runs
        scratch_scaled.items({**scratch_scaled.EXPERIMENT.presets["quick"], "size": 128})

    # output_levers changes both networks' outputs at stylize time, scored against the same Gatys rows
    from experiments.registered import output_levers
    from nst.evaluate import Evaluator
    from nst.io.images import load_image, resize_image

    monkeypatch.setitem(output_levers.EXPERIMENT.presets["quick"], "gatys_source", str(out))
    lv = run("output_levers", "quick", tmp_path / "lv", verbose=False)
    vrows = {r["id"]: r for r in read_rows(lv / "raw.csv")}
    assert set(vrows) == {f"{n}-johnson_great_wave-0-skimage_chelsea-{s}" for n in ("reference", "scratch")
                          for s in ("none1", "blend0.8", "detail0.5", "scale1.5")}
    assert not (lv / "failures.csv").exists()
    # as trained, each is the very image fidelity and scratch_scaled scored
    assert vrows["reference-johnson_great_wave-0-skimage_chelsea-none1"]["style_loss"] == \
        pytest.approx(float(f["style_loss"]), rel=1e-5)
    assert vrows["scratch-johnson_great_wave-0-skimage_chelsea-none1"]["style_loss"] == \
        pytest.approx(float(new["style_loss"]), rel=1e-5)
    # the blended and the rescaled outputs, rebuilt here and scored
    ev, photo_file = Evaluator.create(), output_levers.ROOT / "data/content/eval/skimage_chelsea.jpg"
    painting_img = load_image(output_levers.ROOT / "data/styles/hokusai_great_wave.jpg")
    photo = load_image(photo_file, max_size=64)
    plain = base.stylize(photo, style=0)
    blended = ev(0.2 * photo + 0.8 * plain, photo, painting_img)
    h, w = photo.shape[:2]
    rescaled = resize_image(base.stylize(load_image(photo_file, size=(round(1.5 * h), round(1.5 * w))), style=0), (h, w))
    for suffix, scores in (("blend0.8", blended), ("scale1.5", ev(rescaled, photo, painting_img))):
        row = vrows[f"scratch-johnson_great_wave-0-skimage_chelsea-{suffix}"]
        assert row["style_loss"] == pytest.approx(scores["style"], rel=1e-4)
        assert row["ssim"] == pytest.approx(scores["ssim"], abs=1e-5)
    lsummary = (lv / "summary.md").read_text()
    ref_row = vrows["reference-johnson_great_wave-0-skimage_chelsea-none1"]
    ref_cell = f"{float(ref_row['style_loss']) / float(g['style_loss']):.2f} ({ref_row['ssim'] - float(g['ssim']):+.3f})"
    assert f"| johnson_great_wave | Hokusai Great Wave | {float(g['ssim']):.3f} | {ref_cell} |" in lsummary
    ratios = {k: float(r["style_loss"]) / float(g["style_loss"]) for k, r in vrows.items()}
    keeping = [k for k, r in vrows.items() if r["ssim"] >= float(g["ssim"])]
    pick = min(keeping, key=ratios.get) if keeping else max(vrows, key=lambda k: vrows[k]["ssim"])
    assert f"| {ratios[pick]:.2f} | {vrows[pick]['ssim']:.3f} |" in lsummary
    assert len(list((lv / "cells").glob("scratch-*.jpg"))) == 4 and not list((lv / "cells").glob("reference-*"))
    assert (lv / "trade_off.png").exists() and (lv / "outputs.png").stat().st_size > 10_000

    # fidelity_layers re-scores those saved images layer by layer
    from experiments.registered import fidelity_layers

    monkeypatch.setitem(fidelity_layers.EXPERIMENT.presets["quick"], "source", str(out))
    layers_out = run("fidelity_layers", "quick", tmp_path / "fl", verbose=False)
    lrows = {r["id"]: r for r in read_rows(layers_out / "raw.csv")}
    photo_id = "photo-hokusai_great_wave-skimage_chelsea"  # the unstylized photo against the painting
    assert set(lrows) == set(rows) | {photo_id} and not (layers_out / "failures.csv").exists()
    for k in rows:  # the five evaluator layers add up to its style loss (8-bit images: to 2 %)
        total = sum(float(lrows[k][f"style_{n}"]) for n in fidelity_layers.EVAL_LAYERS)
        assert total == pytest.approx(float(rows[k]["style_loss"]), rel=0.02)
    photo = load_image(fidelity_layers.ROOT / "data/content/eval/skimage_chelsea.jpg", max_size=64)
    expected = Evaluator.create()(photo, photo, load_image(fidelity_layers.ROOT / "data/styles/hokusai_great_wave.jpg"))
    photo_total = sum(float(lrows[photo_id][f"style_{n}"]) for n in fidelity_layers.EVAL_LAYERS)
    assert photo_total == pytest.approx(expected["style"], rel=1e-4)
    summary = (layers_out / "summary.md").read_text()
    assert "relu4_1" in summary and "How far each method moves the photo" in summary
    assert (layers_out / "headroom.png").exists()

    # fig5_ratio runs the Fig. 5 baseline on the same photo and painting, scored against that Gatys result
    from experiments.registered import fig5_ratio
    from experiments.registered.quality_vs_time import equivalent_iterations, objective_overrides
    from nst.methods.gatys import gatys_transfer

    monkeypatch.setitem(fig5_ratio.EXPERIMENT.presets["quick"], "source", str(out))
    f5 = run("fig5_ratio", "quick", tmp_path / "f5", verbose=False)
    r5s = {r["id"]: r for r in read_rows(f5 / "raw.csv")}
    assert set(r5s) == {"hokusai_great_wave-skimage_chelsea", "hokusai_great_wave-skimage_chelsea-uniform_noise",
                        "hokusai_great_wave-skimage_chelsea-next_gpu_recipe",
                        "hokusai_great_wave-skimage_chelsea-scratch_scaled_dumoulin",
                        "hokusai_great_wave-skimage_chelsea-scratch_scaled_johnson",
                        "hokusai_great_wave-skimage_chelsea-scratch_scaled_dumoulin_content",
                        "hokusai_great_wave-skimage_chelsea-scratch_scaled_johnson_content"}
    # an entry's own networks run on their own objective (the Dumoulin one with Great Wave's style weight), and each
    # is the one network read off its curve
    import nst

    curves = json.loads((f5 / fig5_ratio.CURVES_RECORD).read_text())
    for label, name, index in (("scratch_scaled_dumoulin", "dumoulin", 1), ("scratch_scaled_johnson", "johnson", 0),
                               ("scratch_scaled_johnson_content", "johnson", 0)):
        row = r5s[f"hokusai_great_wave-skimage_chelsea-{label}"]
        other = "johnson" if name == "dumoulin" else "dumoulin"
        assert f"{name}_objective" in row and f"{other}_objective" not in row
        path = next(p for p in next(m for m in fig5_ratio.SCRATCH_SCALED_STARTS if m["label"] == label)["networks"]
                    if "hokusai_great_wave" in nst.load(fidelity_layers.ROOT / p).styles)
        meta = nst.load(fidelity_layers.ROOT / path).meta["training"]
        objective = curves[row["id"]]["definition"]["objective"]
        assert "relu4_1" in objective["style_layers"]
        assert objective["style_weight"] == pytest.approx(meta["style_weight"] * (meta["style_scales"] or [1.0] * 8)[index])
        history = np.asarray(curves[row["id"]]["result"]["history"])
        assert int(row[f"{name}_equivalent_iterations"]) == equivalent_iterations(history, row[f"{name}_objective"])
    # from the photo: another curve on the same objective, the same pass on it
    noise_id, content_id = (f"hokusai_great_wave-skimage_chelsea-scratch_scaled_johnson{s}" for s in ("", "_content"))
    assert curves[content_id]["definition"]["start"] == {"init": "content"}
    assert curves[content_id]["definition"]["objective"] == curves[noise_id]["definition"]["objective"]
    assert r5s[content_id]["johnson_objective"] == pytest.approx(r5s[noise_id]["johnson_objective"])
    # a candidate recipe runs on its own objective, with no network read off it
    candidate = r5s["hokusai_great_wave-skimage_chelsea-next_gpu_recipe"]
    assert candidate["steps"] == 4 and "johnson_objective" not in candidate
    r5, noise = r5s["hokusai_great_wave-skimage_chelsea"], r5s["hokusai_great_wave-skimage_chelsea-uniform_noise"]
    assert not (f5 / "failures.csv").exists()
    # the other start runs its own curve: another objective history, the same network pass
    assert noise["final_objective"] != r5["final_objective"]
    assert noise["johnson_objective"] == pytest.approx(r5["johnson_objective"])
    assert r5["gatys_style"] == pytest.approx(float(g["style_loss"]), rel=1e-6)
    # the network scored here is the one `fidelity` scored: same photo, same output, same evaluator
    assert r5["johnson_style"] == pytest.approx(float(f["style_loss"]), rel=1e-5)
    snaps = fig5_ratio.read_snapshots(f5, r5["id"])
    assert list(snaps["iteration"]) == [2, 4, 6] and snaps["objective"][-1] == pytest.approx(r5["final_objective"])
    # the equivalent iteration is read off the curve the run saw: the same seed gives the same curve
    again = gatys_transfer(photo, fidelity_layers.ROOT / "data/styles/hokusai_great_wave.jpg", size=64, steps=6,
                           verbose=False, seed=0, **fig5_ratio.NEURAL_STYLE, **objective_overrides("training", {}, 64))
    assert np.asarray(again.history)[[1, 3, 5]] == pytest.approx(snaps["objective"], rel=1e-6)
    assert int(r5["johnson_equivalent_iterations"]) == equivalent_iterations(np.asarray(again.history),
                                                                            r5["johnson_objective"])
    text = (f5 / "summary.md").read_text()
    ratio2 = snaps["style_loss"][0] / r5["gatys_style"]
    assert f"| Hokusai Great Wave | {r5['gatys_ssim']:.3f} | {ratio2:.2f} | {snaps['ssim'][0]:.3f} |" in text
    assert "## Start `uniform_noise`: noise" in text and "## Start `next_gpu_recipe`" in text
    # 2 tables per start with both reference networks, 1 for the candidate and each Dumoulin entry, 2 for each Johnson one
    assert text.count("| Hokusai Great Wave |") == 11
    assert "## Start `scratch_scaled_dumoulin`" in text and "One pass's worth in L-BFGS iterations" in text
    assert "| Hokusai Great Wave | " + f"{r5['gatys_ssim']:.3f}" + " | " in text and "| — | — | — | — |" in text
    assert (f5 / "sheet.png").exists() and (f5 / "ratio_vs_iterations.png").exists()
    assert_curves_reused(f5, "fig5_ratio", monkeypatch)


@pytest.mark.slow
def test_one_photo_quick_preset(tmp_path):
    """The reference network trained on the one photo it is scored on: each milestone is scored (0: before
    training), L-BFGS runs on the training recipe's objective, training on Gatys' objective lowers the style loss and that objective step by step, the last
    milestone is also scored with the stylize border, and the saved cell is the last bare output."""
    from PIL import Image

    from experiments.registered import one_photo

    out = run("one_photo", "quick", tmp_path / "op", verbose=False)
    assert not (out / "failures.csv").exists()
    rows = {r["variant"]: r for r in read_rows(out / "raw.csv")}
    assert set(rows) == {"gatys", "lbfgs:dumoulin2017", "reference", "dumoulin2017", "gatys_default", "dumoulin2017@2"}
    # the same two steps, the second on another photo: a different network from the one-photo run's
    assert float(rows["dumoulin2017@2"]["at1_style"]) == pytest.approx(float(rows["dumoulin2017"]["at1_style"]), rel=1e-4)
    assert float(rows["dumoulin2017@2"]["at2_style"]) != float(rows["dumoulin2017"]["at2_style"])
    tuned = rows["gatys_default"]
    assert float(rows["lbfgs:dumoulin2017"]["style"]) != float(rows["gatys"]["style"])  # another objective
    assert int(tuned["iterations"]) == 2 and float(tuned["style"]) == float(tuned["at2_style"])
    assert float(tuned["at2_style"]) < float(tuned["at1_style"]) < float(tuned["at0_style"])
    objective = [one_photo.gatys_objective(tuned, f"at{n}_") for n in (0, 1, 2)]
    assert objective[2] < objective[1] < objective[0]
    assert float(tuned["bordered_style"]) != float(tuned["style"])  # the border changes a network's output
    assert sorted(p.name for p in (out / "cells").iterdir()) == sorted(  # no ':' in a file name
        f"johnson_great_wave_skimage_chelsea_{v}.png" for v in ("gatys", "lbfgs-dumoulin2017", "reference",
                                                                 "dumoulin2017", "gatys_default", "dumoulin2017_at2"))
    cell = np.asarray(Image.open(out / "cells" / "johnson_great_wave_skimage_chelsea_gatys_default.png"))
    ref_cell = np.asarray(Image.open(out / "cells" / "johnson_great_wave_skimage_chelsea_reference.png"))
    assert cell.shape == ref_cell.shape and not np.array_equal(cell, ref_cell)
    summary = (out / "summary.md").read_text()
    assert f"| gatys_default | {float(tuned['style']) / float(rows['gatys']['style']):.2f} | {float(tuned['ssim']):.3f} |" \
        in summary
    assert (out / "trajectory.png").exists() and (out / "outputs.png").exists()


@pytest.mark.slow
def test_one_photo_gatys_objective_is_the_objective_gatys_minimises(rng):
    """content + β·style from the evaluator's terms equals GatysConfig's objective computed directly."""
    import jax.numpy as jnp

    from experiments.registered.one_photo import gatys_objective
    from nst.evaluate import Evaluator
    from nst.io.images import load_image, resize_image
    from nst.methods.gatys import GatysConfig

    photo = load_image(ROOT / "data/content/eval/skimage_chelsea.jpg", max_size=64)
    style = load_image(ROOT / "data/styles/hokusai_great_wave.jpg", max_size=200)
    output = np.clip(photo + 0.2 * rng.standard_normal(photo.shape).astype(np.float32), 0, 1)
    evaluator = Evaluator.create()
    objective = GatysConfig().objective()
    x = jnp.asarray(output)[None]
    total, _ = objective(evaluator.vgg, x, objective.content_targets(evaluator.vgg, jnp.asarray(photo)[None]),
                         objective.style_targets(evaluator.vgg, [resize_image(style, max(photo.shape[:2]))]),
                         jnp.ones((1,), jnp.float32))
    assert gatys_objective(evaluator(output, photo, style)) == pytest.approx(float(total[0]), rel=1e-4)


def test_vgg_padding_ratios_and_frame_share_against_a_numpy_oracle():
    """`vgg_padding.ratio_rows`: mean ÷ mean per ruler over the photos Gatys has; `frame_share`: 1 − reflect ÷ zero
    per layer."""
    from experiments.registered.vgg_padding import EVAL_LAYERS, frame_share, ratio_rows

    rng = np.random.default_rng(1)
    vals = {(m, p, ruler): rng.uniform(1, 10, len(EVAL_LAYERS)) for m in ("gatys", "net", "gatys_reflect")
            for p in ("p1", "p2", "p3") for ruler in ("zero", "reflect")}

    def row(model, photo, kind="rescore"):
        r = {"kind": kind, "method": "gatys" if model == "gatys" else model, "model": model, "style": "a",
             "photo": photo}
        for ruler in ("zero", "reflect"):
            v = vals[model, photo, ruler]
            r.update({f"{ruler}_{n}": x for n, x in zip(EVAL_LAYERS, v)}, **{f"{ruler}_style": v.sum()})
        return r

    rows = [row("gatys", "p1"), row("gatys", "p2"), row("net", "p1"), row("net", "p2"), row("net", "p3"),
            row("gatys_reflect", "p1", "gatys_reflect"), row("gatys_reflect", "p2", "gatys_reflect")]
    (rec,) = ratio_rows(rows)
    for ruler in ("zero", "reflect"):
        mean = lambda m: np.mean([vals[m, p, ruler].sum() for p in ("p1", "p2")])  # noqa: E731 - p3 has no Gatys
        assert rec[ruler] == pytest.approx(mean("net") / mean("gatys"))
        assert rec[f"{ruler}_vs_reflect"] == pytest.approx(mean("net") / mean("gatys_reflect"))
    table = {r[0]: r for r in frame_share(rows)}
    share = [1 - vals["gatys", p, "reflect"][0] / vals["gatys", p, "zero"][0] for p in ("p1", "p2")]
    assert table["relu1_1"][1] == "2"
    assert table["relu1_1"][2] == (f"{100 * np.median(share):.0f} % ({100 * min(share):.0f} … "
                                   f"{100 * max(share):.0f} %)")


@pytest.mark.slow
def test_vgg_padding_quick_preset(tmp_path):
    """The committed fidelity images on both rulers, and a 2-step Gatys run on a reflecting loss network."""
    import experiments.registered.vgg_padding  # noqa: F401

    out = run("vgg_padding", "quick", tmp_path / "v", verbose=False)
    rows = {r["id"]: r for r in read_rows(out / "raw.csv")}
    fidelity = {r["id"]: r for r in read_rows(ROOT / "results/fidelity/raw.csv")}
    gatys = rows["rescore/gatys-vangogh_starry_night-kodak_kodim23"]
    # the zero ruler is the evaluator: it re-scores the saved 8-bit image to within rounding
    assert float(gatys["zero_style"]) == pytest.approx(
        float(fidelity["gatys-vangogh_starry_night-kodak_kodim23"]["style_loss"]), rel=0.02)
    assert float(gatys["reflect_style"]) != pytest.approx(float(gatys["zero_style"]), rel=1e-3)
    mine = rows["gatys_reflect/vangogh_starry_night/kodak_kodim23"]
    assert (out / "cells" / "gatys_reflect-vangogh_starry_night-kodak_kodim23.png").exists()
    assert float(mine["steps"]) == 2 and 0 < float(mine["ssim"]) <= 1 and float(mine["edge_contrast"]) > 0
    text = (out / "summary.md").read_text()
    assert "## Network ÷ Gatys on each ruler" in text and "| johnson_starry_night | vangogh_starry_night | 1 |" in text
    assert (out / "outputs.png").exists() and (out / "edges.png").exists()
