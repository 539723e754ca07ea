"""What Johnson et al.'s Fig. 5 claim is worth on issue #13's ratio.

Issue #13 asks two things of a network: one pass worth at least 50 L-BFGS iterations of the Fig. 5
baseline on the network's own objective (Johnson et al. 2016 report 50–100), and a style loss on the
fixed evaluator at most 3× that of a default Gatys result (300 steps from the photo; 2× for the median
style). This experiment asks whether the two agree: it runs the Fig. 5 baseline itself (L-BFGS on the
networks' training objective, read from the Johnson model's metadata as `quality_vs_time` reads it,
from neural-style's start and with its L-BFGS by default) and scores the image every
``snapshot_every`` iterations with the evaluator, against the Gatys result of `results/fidelity`
(``source``) on the same photo and painting. An image as good as the baseline's at iteration 50 or
100 on the training objective is what a network that met Fig. 5 would put out; its ratio on the
evaluator says what meeting Fig. 5 would buy on issue #13's ratio.

Each curve also reads the committed networks off it (the Dumoulin model for every style, the Johnson
network for its own), as `quality_vs_time` does, so the summary can set a network's ratio next to the
ratio of the baseline's image at the network's own equivalent iteration: where the two agree, the
objective's value is a fair proxy for the evaluator's ratio; where they do not, the networks spend
the same objective on a different mix of content and style than the baseline does.

The baseline's images are not network outputs: the Fig. 5 objective weighs content and style in one
sum, and the same value can be reached with more of either. The SSIM columns say which.

A ``more_starts`` entry adds curves from another start (``uniform_noise``: Johnson et al.'s "white
noise"), on a candidate objective (``next_gpu_recipe``: the one the next GPU run is to train on),
which asks the same question of a recipe before any network is trained on it, or on the own objective
of other networks (``networks``: model files), which are then read off their curves as the committed
networks are off the main ones (``scratch_scaled_*``: the networks of `results/scratch_scaled`).
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from pathlib import Path

import numpy as np

from experiments.registered.fidelity import MEDIAN_RATIO_MAX, STYLE_RATIO_MAX as RATIO_MAX  # issue #13's targets
from experiments.provenance import rows_of
from experiments.runner import (ROOT, Experiment, markdown_table, painting, read_rows, register, run_config,
                                run_config_commit, save_figure, subplots)
FIG5_RANGE = (50, 100)  # Johnson et al. 2016, Fig. 5: one pass is worth 50–100 L-BFGS iterations
DUMOULIN = "results/models/dumoulin_8styles.nst"
NEURAL_STYLE = {"init": "mean_pixel_noise", "lbfgs_memory": 100, "linesearch": "none"}  # quality_vs_time's
# Johnson et al.'s own word for their start, "white noise", read as uniform noise with this project's L-BFGS
UNIFORM_NOISE = {"label": "uniform_noise", "start": {"init": "noise"},
                 "why": "Johnson et al.'s \"white noise\" read as uniform noise over the pixel range, with this "
                        "project's L-BFGS (10 pairs of history, backtracking line search)."}


# the objective docs/fidelity.md recommended for a GPU run of the Dumoulin model: the recipe's four style layers
# plus relu4_1 at w = 1e-5 (results/lr_decay's scaled_decayed_relu4_1) and a style weight per painting
# (results/style_scales, STYLE_SCALES in gpu_reference_run.sh); the committed networks were not trained on it,
# scratch_scaled's were (their own curves: SCRATCH_SCALED_STARTS below)
NEXT_GPU_RECIPE = {"label": "next_gpu_recipe", "start": NEURAL_STYLE, "steps": 100, "style_scales_from_ratio": 3.0,
                   "objective": {"style_layers": ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu4_1"],
                                 "style_layer_weights": [1e-4, 1e-4, 1e-4, 1e-4, 1e-5]},
                   "why": "The Fig. 5 baseline (neural-style's protocol) on the objective docs/fidelity.md recommended for "
                          "a GPU run: the training recipe's four style layers plus relu4_1 at w = 1e-5, and each "
                          "painting's style weight times max(1, the Dumoulin model's ratio ÷ 3) (`STYLE_SCALES`). No "
                          "network is read off these curves (the `scratch_scaled_*` sections read the networks since "
                          "trained on it off curves of their own): where a curve stands "
                          "after 50–100 iterations is what a network trained on this objective and worth that many "
                          "iterations would be expected to score."}


SCRATCH_SCALED = "results/models/scratch_scaled"
# the networks of results/scratch_scaled, each on its own objective (the next_gpu_recipe one, which the Dumoulin
# network was trained on, with the style weights rounded as the training run was given them; the Johnson
# networks without per-style weights): Fig. 5's measure of the networks closest to issue #13's ratio targets
SCRATCH_SCALED_WHY = ("The Fig. 5 baseline (neural-style's protocol) on the own objective of the networks of "
                      "the `scratch_scaled` page (trained from scratch on a GPU with relu4_1 at w = 1e-5, a learning "
                      "rate decaying to 0 and, for the Dumoulin network, a style weight per painting), each read "
                      "off its own curves: their pass's worth in L-BFGS iterations, the measure the issue asks "
                      "≥ 50 of, next to their ratio on the evaluator.")
SCRATCH_SCALED_CONTENT_WHY = ("The same networks on the same objectives, the baseline started from the photo (this "
                              "project's Gatys start and L-BFGS): issue #13 asks for a pass's worth from a noise "
                              "start and from a content start.")
SCRATCH_SCALED_NETWORKS = {"dumoulin": [f"{SCRATCH_SCALED}/dumoulin_8styles.nst"],
                           "johnson": [f"{SCRATCH_SCALED}/johnson_starry_night.nst",
                                       f"{SCRATCH_SCALED}/johnson_great_wave.nst"]}
SCRATCH_SCALED_STARTS = [
    {"label": f"scratch_scaled_{name}{suffix}", "start": start, "steps": 100, "why": why, "networks": paths}
    for suffix, start, why in (("", NEURAL_STYLE, SCRATCH_SCALED_WHY),
                               ("_content", {"init": "content"}, SCRATCH_SCALED_CONTENT_WHY))
    for name, paths in SCRATCH_SCALED_NETWORKS.items()]


def entry_networks(entry: dict, cache: dict) -> dict[str, tuple[str, int]]:
    """An entry's ``networks`` by painting: (model path, style index). The curves of a painting run on the own
    objective of the one network that has it (an error if two do: the curve could not be both's)."""
    import nst

    out: dict[str, tuple[str, int]] = {}
    for path in entry.get("networks", []):
        if path not in cache:
            cache[path] = nst.load(ROOT / path)
        for index, style in enumerate(cache[path].styles):
            if style in out:
                raise ValueError(f"{style} is in both {out[style][0]} and {path}: one network per painting per entry")
            out[style] = (path, index)
    return out


def _source(cfg: dict) -> Path:
    return ROOT / cfg["source"]


def _size(cfg: dict) -> int:
    """The long side the ``source`` fidelity run scored at: the curves run at the same size."""
    return int(run_config(_source(cfg))["size"])


def items(cfg: dict) -> list[dict]:
    """One L-BFGS curve per (painting, evaluation photo) of the ``source`` fidelity run's Gatys results, from the
    preset's ``start``; then one per ``more_starts`` entry (a ``label``, a ``start`` and optionally its ``styles``)."""
    rows = [r for r in read_rows(_source(cfg) / "raw.csv") if r["method"] == "gatys"]
    cache: dict = {}
    runs = [("", cfg.get("styles"), None)] + [(m["label"], m.get("styles") or list(entry_networks(m, cache)) or None,
                                               m.get("photos")) for m in cfg.get("more_starts", [])]
    return [{"id": f"{r['style']}-{r['photo']}" + (f"-{label}" if label else ""), "style": r["style"],
             "photo": r["photo"], "start_label": label, "gatys_style": float(r["style_loss"]),
             "gatys_ssim": float(r["ssim"])}
            for label, styles, photos in runs for r in rows
            if (not styles or r["style"] in styles) and (not photos or r["photo"] in photos)]


def start_of(cfg: dict, label: str) -> dict:
    """The `gatys_transfer` start options of a curve: the preset's ``start`` (neural-style's protocol unless set)
    for the unlabelled curves, a ``more_starts`` entry's otherwise."""
    return entry_of(cfg, label).get("start", NEURAL_STYLE)


def entry_of(cfg: dict, label: str) -> dict:
    """The ``more_starts`` entry of a label (the preset itself for the unlabelled curves)."""
    return cfg if not label else next(m for m in cfg["more_starts"] if m["label"] == label)


def candidate_objective(entry: dict, style: str, training: dict, source_rows: list[dict]) -> dict:
    """The objective a curve runs on: the networks' training objective, with an entry's ``objective`` overrides (a
    candidate recipe, e.g. more style layers) and, with ``style_scales_from_ratio`` R, the style weight times
    s = max(1, ratio ÷ R) for the painting, the ratio being the Dumoulin model's in the ``source`` fidelity run: the
    per-style β of `results/style_scales` (``nst train --style-scales``)."""
    objective = {**training, **{k: tuple(v) if isinstance(v, list) else v
                                for k, v in entry.get("objective", {}).items()}}
    if entry.get("style_scales_from_ratio"):
        from experiments.registered.fidelity import per_style as fidelity_per_style

        ratio = next((r["ratio"] for r in fidelity_per_style(source_rows)
                      if r["model"] == Path(DUMOULIN).stem and r["style"] == style and "ratio" in r), None)
        if ratio is None:
            raise ValueError(f"the source fidelity run has no ratio of {Path(DUMOULIN).stem} on {style}")
        objective["style_weight"] = objective["style_weight"] * max(1.0, ratio / entry["style_scales_from_ratio"])
    return objective


def _networks(style: str, cache: dict) -> dict:
    """The committed networks that have ``style``: the Dumoulin model always, a Johnson network for its own."""
    import nst

    from experiments.registered.quality_vs_time import MODELS

    out = {}
    for path in filter(None, (MODELS["johnson"].get(style), DUMOULIN)):
        if path not in cache:
            cache[path] = nst.load(ROOT / path)
    jpath = MODELS["johnson"].get(style)
    if jpath:
        out["johnson"] = (cache[jpath], 0)
    dmodel = cache[DUMOULIN]
    if style in dmodel.styles:
        out["dumoulin"] = (dmodel, dmodel.styles.index(style))
    return out


CURVES_RECORD = "snapshots/curves.memo.json"  # each curve's definition and result (`experiments.memo`)


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    from nst.evaluate import Evaluator
    from nst.io.images import load_image, save_image
    from nst.methods.gatys import gatys_loss, gatys_transfer
    from nst.core.vgg import VGG19

    from experiments import memo
    from experiments.registered.quality_vs_time import (MODELS, equivalent_iterations, objective_overrides,
                                                        training_objective)

    size = _size(cfg)
    if "evaluator" not in cache:  # built once per run, not per item
        cache["evaluator"], cache["vgg"] = Evaluator.create(), VGG19.pretrained()
    ev, vgg = cache["evaluator"], cache["vgg"]
    photo = load_image(ROOT / "data/content/eval" / f"{item['photo']}.jpg", max_size=size)  # as `fidelity`
    style_path = ROOT / "data/styles" / f"{item['style']}.jpg"
    style = load_image(style_path)
    entry = entry_of(cfg, item.get("start_label") or "")
    own = entry_networks(entry, cache).get(item["style"])  # (path, style index) of the network whose objective it is
    if own:
        model = cache[own[0]]
        objective = training = training_objective(model.meta["training"], size, own[0], own[1])
    else:  # the reference networks' training objective, or a candidate recipe made from it
        training = objective_overrides("training", cache, size)
        if "source_rows" not in cache and entry.get("style_scales_from_ratio"):  # the fidelity run's rows, read once
            cache["source_rows"] = read_rows(_source(cfg) / "raw.csv")
        objective = candidate_objective(entry, item["style"], training, cache.get("source_rows", []))
    snapshots: list[dict] = []
    sheet = item["photo"] == cfg.get("sheet_photo") and not item.get("start_label")  # the sheet shows the main start
    sheet_steps = set(cfg.get("marks", FIG5_RANGE)) if sheet else set()

    def score(step: int, image: np.ndarray, value: float) -> None:
        s = ev(image, photo, style)
        snapshots.append({"iteration": step, "objective": value, "style_loss": s["style"], "ssim": s["ssim"],
                          "content_loss": s["content"], "grid": s["grid"]})
        if step in sheet_steps:
            save_image(image, cache["out"] / "cells" / f"{item['id']}-lbfgs{step}.png")

    start = start_of(cfg, item.get("start_label") or "")
    steps = int(entry.get("steps", cfg["steps"]))
    # everything the curve depends on: a re-run (new models) reuses a curve of the same definition
    definition = {"photo": f"data/content/eval/{item['photo']}.jpg", "painting": f"data/styles/{item['style']}.jpg",
                  "size": size, "steps": steps, "seed": 0, "start": start, "objective": objective,
                  "snapshot_every": int(cfg["snapshot_every"]), "sheet_steps": sorted(sheet_steps)}
    record, sdir = cache["out"] / CURVES_RECORD, cache["out"] / "snapshots"
    cells = [cache["out"] / "cells" / f"{item['id']}-lbfgs{k}.png" for k in sorted(sheet_steps)]
    kept = memo.recall(record, item["id"], definition, [sdir / f"{item['id']}.csv", *cells])
    if kept is None:
        t0 = time.perf_counter()
        res = gatys_transfer(photo, style_path, size=size, steps=steps, vgg=vgg, verbose=False, seed=0,
                             callback=score, callback_every=int(cfg["snapshot_every"]), **start, **objective)
        history = np.asarray(res.history)
        sdir.mkdir(exist_ok=True)
        with open(sdir / f"{item['id']}.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(snapshots[0]))
            w.writeheader()
            w.writerows(snapshots)
        kept = {"steps": len(history), "final_objective": float(history[-1]), "seconds": res.seconds,
                "history": [float(v) for v in history]}
        memo.remember(record, item["id"], definition, kept, seconds=time.perf_counter() - t0)
    history = np.asarray(kept["history"])
    out = {k: kept[k] for k in ("steps", "final_objective", "seconds")}
    if own:  # the entry's own network, on the objective it was trained on
        networks = {model.meta["training"]["method"]: (own[0], model, own[1])}
    elif objective != training:  # a candidate recipe: no network was trained on it, so none is read off it
        return out
    else:
        networks = {name: (DUMOULIN if name == "dumoulin" else MODELS["johnson"][item["style"]], model, index)
                    for name, (model, index) in _networks(item["style"], cache).items()}
    for name, (path, model, index) in networks.items():
        if training_objective(model.meta["training"], size, path, index) != objective:
            raise ValueError(f"{path} was not trained on the objective the curves run on")
        image = model.stylize(photo, style=index)
        value = gatys_loss(image, photo, style_path, vgg=vgg, size=size, **objective)["total"]
        s = ev(image, photo, style)
        out.update({f"{name}_objective": value, f"{name}_equivalent_iterations": equivalent_iterations(history, value),
                    f"{name}_style": s["style"], f"{name}_ssim": s["ssim"]})
        if sheet:
            save_image(image, cache["out"] / "cells" / f"{item['id']}-{name}.png")
    return out


def read_snapshots(out: Path, item_id: str) -> dict[str, np.ndarray]:
    """One curve's evaluator scores, one array per column, in iteration order."""
    rows = read_rows(out / "snapshots" / f"{item_id}.csv")
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def first_within(iterations: np.ndarray, ratios: np.ndarray, bound: float) -> int:
    """The first snapshot iteration whose ratio is at most ``bound``; -1 if none is."""
    hit = np.nonzero(np.asarray(ratios) <= bound)[0]
    return int(np.asarray(iterations)[hit[0]]) if len(hit) else -1


def per_style(rows: list[dict], out: Path) -> list[dict]:
    """Per painting, over its photos: the baseline's ratio and SSIM at each snapshot (mean style loss ÷ the mean of
    the Gatys results', as `fidelity` takes it), and each network's ratio, SSIM and median equivalent iteration.

    ``at_network`` is the baseline's ratio at the snapshot nearest each network's equivalent iteration, per photo,
    over the same photos' Gatys results. One record per (start label, painting); ``""`` is the preset's start."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r.get("start_label") or "", r["style"]), []).append(r)
    recs = []
    for (label, style), rs in groups.items():
        snaps = [read_snapshots(out, r["id"]) for r in rs]
        n = min(len(s["iteration"]) for s in snaps)
        gatys = float(np.mean([float(r["gatys_style"]) for r in rs]))
        rec = {"start": label, "style": style, "photos": len(rs), "gatys_style": gatys,
               "gatys_ssim": float(np.mean([float(r["gatys_ssim"]) for r in rs])),
               "iterations": snaps[0]["iteration"][:n],
               "ratio": np.mean([s["style_loss"][:n] for s in snaps], axis=0) / gatys,
               "ssim": np.mean([s["ssim"][:n] for s in snaps], axis=0)}
        for name in ("johnson", "dumoulin"):
            if all(r.get(f"{name}_style") not in (None, "") for r in rs):
                eq = [int(float(r[f"{name}_equivalent_iterations"])) for r in rs]
                near = [s["style_loss"][int(np.argmin(np.abs(s["iteration"] - (e if e > 0 else s["iteration"][-1]))))]
                        for s, e in zip(snaps, eq)]
                rec[name] = {"ratio": float(np.mean([float(r[f"{name}_style"]) for r in rs])) / gatys,
                             "ssim": float(np.mean([float(r[f"{name}_ssim"]) for r in rs])),
                             "passes": [e if e > 0 else np.inf for e in eq],
                             "equivalent": float(np.median([e if e > 0 else np.inf for e in eq])),
                             "at_network": float(np.mean(near)) / gatys}
        recs.append(rec)
    return recs


def at_iteration(rec: dict, key: str, iteration: int) -> float:
    """A snapshot curve's value at ``iteration`` (nan where no snapshot falls on it)."""
    hit = np.nonzero(rec["iterations"] == iteration)[0]
    return float(rec[key][hit[0]]) if len(hit) else float("nan")


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    cfg = run_config(out)
    recs = per_style(rows, out)
    marks = list(cfg.get("marks", FIG5_RANGE))
    from experiments.registered.quality_vs_time import start_label

    command = json.loads((out / "run.json").read_text()).get("command", "") if (out / "run.json").exists() else ""
    md = ["The Fig. 5 baseline (L-BFGS on the networks' training objective; start: "
          f"`{start_label(cfg.get('start', NEURAL_STYLE))}`, as `quality_vs_time` names its starts), its image scored every "
          f"{cfg.get('snapshot_every')} iterations by the fixed evaluator against the default Gatys results of "
          f"`{cfg['source']}` (run at {run_config_commit(_source(cfg))[:7]}) on the same photos, means over the photos. "
          f"`ratio @k`: the baseline's evaluator style loss after k iterations ÷ the Gatys results' (issue #13: "
          f"≤ {RATIO_MAX:g} per style, ≤ {MEDIAN_RATIO_MAX:g} for the median, at an SSIM ≥ Gatys'); Johnson et al. "
          f"report one pass worth {FIG5_RANGE[0]}–{FIG5_RANGE[1]} such iterations. `first ≤ 3`: the first "
          "snapshot whose ratio is within 3. For each committed network: its own ratio and SSIM, its median "
          "equivalent iteration on these curves, and the baseline's ratio at that iteration (`baseline there`). "
          f"Regenerate with `{command or 'python -m experiments run fig5_ratio --preset cpu'}`.\n"]
    main = [r for r in recs if not r["start"]]
    md += _tables(main, marks, painting_name)
    for label in dict.fromkeys(r["start"] for r in recs if r["start"]):
        extra = next(m for m in cfg.get("more_starts", []) if m["label"] == label)
        md.append(f"\n## Start `{label}`: {start_label(extra['start'])}\n\n{extra.get('why', '')}\n")
        md += _tables([r for r in recs if r["start"] == label], marks, painting_name)
        if extra.get("photos"):  # fewer photos than the main curves: the main start's on the same ones, side by side
            md += _side_by_side([r for r in recs if r["start"] == label],
                                per_style([r for r in rows if not r.get("start_label") and r["photo"] in extra["photos"]],
                                          out), label, marks, painting_name,
                                start_label(cfg.get("start", NEURAL_STYLE)))
    fig, rect = _curves_figure(recs, marks, painting_name)
    written = [save_figure(fig, out / "ratio_vs_iterations.png", rect=rect)]
    md.append("\n![The baseline's ratio and SSIM against its iterations, per painting (dashed: the other starts and "
              "objectives, each over its own photos, which the tables name); the networks at their equivalent iterations: "
              "dots on the main start's curves, hollow marks (diamond: Dumoulin, square: Johnson) on "
              "another start's or objective's, in its colour](ratio_vs_iterations.png)\n")
    sheet = _sheet(main, marks, cfg, out, labelled_grid, load_image, painting_name)
    if sheet is not None:
        written.append(save_image(sheet, out / "sheet.png"))
        md.append(f"\n![{cfg['sheet_photo']}: rows = paintings; columns = the painting, the Dumoulin model's output, the Fig. 5 "
                  f"baseline at {' and '.join(map(str, marks))} iterations, the default Gatys result](sheet.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def _tables(recs: list[dict], marks: list[int], painting_name) -> list[str]:
    """The per-painting table, the Johnson networks' table and the targets at each mark, for the curves of one start."""
    show = lambda v: "> all" if v < 0 or v == float("inf") else f"{v:g}"  # noqa: E731
    head = ["style", "Gatys SSIM", *[h for k in marks for h in (f"ratio @{k}", f"SSIM @{k}")],
            f"first ≤ {RATIO_MAX:g}", f"first ≤ {MEDIAN_RATIO_MAX:g}",
            "Dumoulin ratio", "Dumoulin SSIM", "Dumoulin ≡ it.", "baseline there"]
    table = []
    for r in recs:
        d = r.get("dumoulin", {})
        table.append([painting_name(r["style"]), f"{r['gatys_ssim']:.3f}",
                      *[v for k in marks for v in (f"{at_iteration(r, 'ratio', k):.2f}", f"{at_iteration(r, 'ssim', k):.3f}")],
                      show(first_within(r["iterations"], r["ratio"], RATIO_MAX)),
                      show(first_within(r["iterations"], r["ratio"], MEDIAN_RATIO_MAX)),
                      *([f"{d['ratio']:.2f}", f"{d['ssim']:.3f}", show(d["equivalent"]), f"{d['at_network']:.2f}"]
                        if d else ["—"] * 4)])
    md = [markdown_table(head, table)]
    johnson = [r for r in recs if "johnson" in r]
    if johnson:
        md.append("\nThe Johnson networks on the same curves:\n")
        md.append(markdown_table(["style", "ratio", "SSIM", "≡ it.", "baseline there"],
                                 [[painting_name(r["style"]), f"{r['johnson']['ratio']:.2f}",
                                   f"{r['johnson']['ssim']:.3f}", show(r["johnson"]["equivalent"]),
                                   f"{r['johnson']['at_network']:.2f}"] for r in johnson]))
    worth = []  # Fig. 5's own measure, over every pass of a network on these curves
    for name in ("dumoulin", "johnson"):
        passes = [e for r in recs if name in r for e in r[name]["passes"]]
        if passes:
            worth.append(f"{name.capitalize()} {show(float(np.median(passes)))} (min {show(min(passes))}, "
                         f"max {show(max(passes))}, {len(passes)} passes)")
    if worth:
        md.append(f"\nOne pass's worth in L-BFGS iterations on its own objective, the median over every (painting, "
                  f"photo) pass (Johnson et al.: {FIG5_RANGE[0]}–{FIG5_RANGE[1]}): " + "; ".join(worth) + ".\n")
    lines = []
    for k in marks:
        ratios = [at_iteration(r, "ratio", k) for r in recs]
        ssim_ok = sum(at_iteration(r, "ssim", k) >= r["gatys_ssim"] for r in recs)
        lines.append(f"| {k} | {statistics.median(ratios):.2f} | {max(ratios):.2f} | "
                     f"{sum(v <= RATIO_MAX for v in ratios)} of {len(ratios)} | {ssim_ok} of {len(ratios)} |")
    md.append("\nIssue #13's ratio targets met by the baseline's image at each Fig. 5 mark:\n\n"
              "| iterations | median ratio | worst ratio | styles ≤ 3 | styles with SSIM ≥ Gatys' |\n"
              "|---|---|---|---|---|\n" + "\n".join(lines) + "\n")
    return md


def _side_by_side(recs: list[dict], base: list[dict], label: str, marks: list[int], painting_name,
                  main_start: str) -> list[str]:
    """A start's ratio and SSIM at each mark next to the main start's (``main_start`` names it) on the same photos."""
    by_style = {r["style"]: r for r in base}
    head = ["style", "Gatys SSIM", *[f"{who} @{k}" for k in marks for who in ("training objective", label)]]
    rows = [[painting_name(r["style"]), f"{r['gatys_ssim']:.3f}",
             *[f"{at_iteration(x, 'ratio', k):.2f} / {at_iteration(x, 'ssim', k):.3f}"
               for k in marks for x in (by_style[r["style"]], r)]]
            for r in recs if r["style"] in by_style]
    return [f"\nRatio / SSIM on the same photos, the main start's curves (`{main_start}` on the reference networks' "
            "training objective) next to these:\n",
            markdown_table(head, rows)]


def _curves_figure(recs: list[dict], marks: list[int], painting_name):
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    others = [r for r in recs if r["start"]]
    palette = ("tab:purple", "tab:brown", "tab:olive", "tab:cyan", "tab:pink", "black", "gold")
    colors = {label: palette[k % len(palette)]  # one colour per start, in every panel
              for k, label in enumerate(dict.fromkeys(o["start"] for o in others))}
    recs = [r for r in recs if not r["start"]]
    cols = min(4, len(recs))
    n_rows = -(-len(recs) // cols)
    fig, axes = subplots(2 * n_rows, cols, figsize=(4 * cols, 5.5 * n_rows), squeeze=False)
    for i, r in enumerate(recs):
        top, bottom = axes[2 * (i // cols)][i % cols], axes[2 * (i // cols) + 1][i % cols]
        top.plot(r["iterations"], r["ratio"], color="tab:blue", label="Fig. 5 baseline")
        bottom.plot(r["iterations"], r["ssim"], color="tab:blue")
        for o in (o for o in others if o["style"] == r["style"]):
            color = colors[o["start"]]
            top.plot(o["iterations"], o["ratio"], color=color, ls="--", label=o["start"])
            bottom.plot(o["iterations"], o["ssim"], color=color, ls="--")
            for name in ("dumoulin", "johnson"):  # an entry's own network, on its own curves
                if name in o and np.isfinite(o[name]["equivalent"]):
                    marker = "D" if name == "dumoulin" else "s"
                    top.plot([o[name]["equivalent"]], [o[name]["ratio"]], marker, color=color, mfc="none",
                             label=f"{o['start']}: {name}")
                    bottom.plot([o[name]["equivalent"]], [o[name]["ssim"]], marker, color=color, mfc="none")
        bottom.axhline(r["gatys_ssim"], color="tab:gray", ls="--", label="Gatys (300 steps)")
        for bound in (RATIO_MAX, MEDIAN_RATIO_MAX):
            top.axhline(bound, color="tab:gray", ls=":", lw=1,
                        label=f"issue #13: {RATIO_MAX:g}×, median {MEDIAN_RATIO_MAX:g}×" if bound == RATIO_MAX else None)
        for ax in (top, bottom):
            ax.axvspan(*FIG5_RANGE, color="tab:orange", alpha=0.12,
                       label="Johnson et al.: a pass = 50–100 it." if ax is top else None)
        for name, color in (("dumoulin", "tab:green"), ("johnson", "tab:red")):
            if name in r and np.isfinite(r[name]["equivalent"]):
                top.plot([r[name]["equivalent"]], [r[name]["ratio"]], "o", color=color, label=name)
                bottom.plot([r[name]["equivalent"]], [r[name]["ssim"]], "o", color=color)
        top.set_yscale("log")
        top.yaxis.set_major_formatter(ScalarFormatter())
        top.yaxis.set_minor_formatter(NullFormatter())  # log axes spanning under a decade label every minor tick
        top.set_title(painting_name(r["style"]), fontsize=10)
        top.set_ylabel("style ÷ Gatys")
        bottom.set_ylabel("SSIM to the photo")
        bottom.set_xlabel("L-BFGS iterations")
    for j in range(len(recs), n_rows * cols):
        axes[2 * (j // cols)][j % cols].axis("off")
        axes[2 * (j // cols) + 1][j % cols].axis("off")
    legend: dict = {}  # one legend under the panels, every entry once, so that no panel's curves hide behind it
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    lines = -(-len(legend) // 4)
    fig.set_size_inches(fig.get_size_inches()[0], fig.get_size_inches()[1] + 0.25 * lines)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=4, fontsize=8, frameon=False)
    return fig, (0, 0.25 * lines / fig.get_size_inches()[1], 1, 1)


def _sheet(recs, marks, cfg, out, labelled_grid, load_image, painting_name):
    photo = cfg.get("sheet_photo")
    if not photo:
        return None
    gatys_cells = _source(cfg) / "cells"
    grid, labels = [], []
    for r in recs:
        cells = [None, out / "cells" / f"{r['style']}-{photo}-dumoulin.png",
                 *[out / "cells" / f"{r['style']}-{photo}-lbfgs{k}.png" for k in marks],
                 gatys_cells / f"gatys-{r['style']}-{photo}.png"]
        grid.append([painting(r["style"])] + [load_image(c) if c.exists() else None for c in cells[1:]])
        labels.append(painting_name(r["style"]))
    if not any(c is not None for row in grid for c in row[1:]):
        return None
    return labelled_grid(grid, ["painting", "Dumoulin", *[f"Fig. 5 baseline @{k}" for k in marks], "Gatys (300)"], labels,
                         cell=160)


def item_reads(item: dict, cfg: dict) -> list[str]:
    """A curve's row reads its Gatys row of the ``source`` run (and that run's size); its objective's origin: an
    entry's own networks, or the reference networks' training metadata (`quality_vs_time.objective_overrides`) and,
    for a per-painting style weight, the Dumoulin model's rows of the painting there; and the networks read off it."""
    from experiments.registered.quality_vs_time import MODELS

    out = [rows_of(cfg["source"], id=f"gatys-{item['style']}-{item['photo']}")]
    entry = entry_of(cfg, item.get("start_label") or "")
    if entry.get("networks"):
        return [*out, *entry["networks"]]
    out.append(next(iter(MODELS["johnson"].values())))
    if entry.get("style_scales_from_ratio"):
        out.append(rows_of(cfg["source"], model=Path(DUMOULIN).stem, style=item["style"]))
    if entry.get("objective") or entry.get("style_scales_from_ratio"):  # a candidate recipe: no network read off it
        return out
    return [*out, DUMOULIN, *([MODELS["johnson"][item["style"]]] if item["style"] in MODELS["johnson"] else [])]


def reads(cfg: dict) -> list[str]:
    from experiments.registered.quality_vs_time import MODELS

    return [cfg["source"], DUMOULIN, *MODELS["johnson"].values(),
            *[p for m in cfg.get("more_starts", []) for p in m.get("networks", [])]]


EXPERIMENT = register(Experiment(
    name="fig5_ratio",
    description="what one pass worth 50-100 L-BFGS iterations (Johnson et al. Fig. 5) is worth on issue #13's ratio",
    # the size is the source run's; ``marks``: the iterations the tables and the sheet show; ``more_starts``: further
    # starts, each with its own curves (and optionally fewer paintings)
    presets={"quick": {"source": "results/fidelity", "steps": 6, "snapshot_every": 2, "marks": [2, 4],
                       "sheet_photo": "skimage_chelsea", "more_starts": [UNIFORM_NOISE,
                                       # the quick fidelity run scores no Dumoulin model: no ratio to scale by
                                       {**NEXT_GPU_RECIPE, "steps": 4, "style_scales_from_ratio": None},
                                       *[{**m, "steps": 4} for m in SCRATCH_SCALED_STARTS]]},
             "cpu": {"source": "results/fidelity", "steps": 150, "snapshot_every": 5, "marks": list(FIG5_RANGE),
                     "sheet_photo": "kodak_kodim23",
                     "more_starts": [{**UNIFORM_NOISE, "styles": ["vangogh_starry_night", "hokusai_great_wave"]},
                                     {**NEXT_GPU_RECIPE, "photos": ["kodak_kodim23", "skimage_chelsea"]},
                                     *[{**m, "photos": ["kodak_kodim23", "skimage_chelsea"]}
                                       for m in SCRATCH_SCALED_STARTS]]}},
    reads=reads, item_reads=item_reads,
    items=items, run_item=run_item, plot=plot))
