"""Do the networks end in Adam's noise?  Fine-tunes of the Dumoulin model whose learning rate decays to 0.

Johnson et al. (2016, train.lua) and Magenta's Dumoulin trainer keep Adam's learning rate at 1e-3 for
the whole run, and so were the committed reference models trained (batch 8 on a GPU).  A fine-tune
of the committed model with the same recipe moves its ratios to Gatys by tens of per cent either way
(`results/style_scales`, `control`), which is what a model sitting in the noise of its last steps
would do.  If that noise is what keeps the networks from Gatys, a learning rate that decays to 0
should settle them lower on their own objective and, through it, on the evaluator.

Every variant fine-tunes the committed model for the same iterations, photos, crops and style draws
(same seed, batch 2 on the CPU) and differs only in the `style_scales.VARIANTS` options:
``control`` (constant 1e-3, as trained), ``decayed`` (1e-3 → 0, linear), ``decayed_low`` (2e-4 → 0:
a settling run that hardly moves the model first), and ``scaled`` / ``scaled_decayed`` (the per-style
β of `results/style_scales`, constant and decaying).  Scored exactly as `style_scales` scores its
variants, against the Gatys results of `results/fidelity`.

A lower training loss should also show on Johnson et al.'s Fig. 5 measure, so the variants trained on
the model's own objective (not the scaled ones) are read off the committed `results/quality_vs_time`
curves as that run reads the committed model: one pass on each curve's unseen photo, valued on the
training objective, and the first L-BFGS iteration that reaches it.  The ``reference`` rows redo the
committed model's passes, which must land on the values `quality_vs_time` recorded.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from experiments.registered import quality_vs_time as qvt
from experiments.registered import style_scales
from experiments.runner import Experiment, markdown_table, read_rows, register, run_config, run_config_commit

ROOT = style_scales.ROOT
VARIANTS = ["control", "decayed", "decayed_low", "scaled", "scaled_decayed"]
SAME_OBJECTIVE = ["control", "decayed", "decayed_low"]  # trained on the reference model's own objective


def curves(cfg: dict) -> list[dict]:
    """The committed Fig. 5 curves the Dumoulin model has a pass on: training objective, noise start, unseen photo."""
    source = ROOT / cfg.get("curves", "results/quality_vs_time")
    return [r for r in read_rows(source / "raw.csv") if r.get("objective") == "training" and r.get("init") != "content"
            and not r.get("split") and not r.get("kind") and r.get("dumoulin_objective") not in (None, "")]


def items(cfg: dict) -> list[dict]:
    out = style_scales.items(cfg)
    if cfg.get("curves"):
        out += [{"id": f"fig5/{v}/{c['id']}", "kind": "fig5", "variant": v, "curve": c["id"]}
                for v in ["reference", *[v for v in cfg["variants"] if v in SAME_OBJECTIVE]] for c in curves(cfg)]
    return out


def fig5_pass(item: dict, cfg: dict, cache: dict) -> dict:
    """One pass of a variant on a committed curve's photo, its value on the training objective, and the first
    iteration of that curve at or below it (`quality_vs_time.network_pass`, for the Dumoulin model)."""
    import nst

    source = ROOT / cfg["curves"]
    curve = cache.setdefault("curves", {c["id"]: c for c in curves(cfg)})[item["curve"]]
    key = f"model:{item['variant']}"
    if key not in cache:
        cache[key] = nst.load(ROOT / style_scales.MODEL if item["variant"] == "reference"
                              else style_scales.model_file(cache["out"], item["variant"]))
    size = int(curve.get("size") or run_config(source)["size"])  # rows at the run's own size leave it empty
    value = qvt.pass_objective(cache[key], curve, size, cache)
    return {"start": qvt.start_label(curve), "size": size, "network_objective": value,
            "committed_objective": float(curve["dumoulin_objective"]),
            "equivalent_iterations": qvt.equivalent_iterations(qvt.read_history(source, curve["id"]), value),
            "committed_equivalent_iterations": int(curve["dumoulin_equivalent_iterations"])}


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    if item.get("kind") == "fig5":
        return fig5_pass(item, cfg, cache)
    return style_scales.run_item(item, cfg, cache)


def fig5_table(rows: list[dict]) -> str:
    """Median (min–max) equivalent iterations per variant, start and size; and how far the reference rows
    land from the values quality_vs_time recorded for the same model."""
    passes = [r for r in rows if r.get("kind") == "fig5"]
    if not passes:
        return ""
    show = lambda v: "> all" if v < 0 else f"{v:g}"  # noqa: E731
    groups: dict[tuple, dict[str, list[float]]] = {}
    for r in passes:
        groups.setdefault((r["start"], int(float(r["size"]))), {}).setdefault(r["variant"], []).append(
            float(r["equivalent_iterations"]))
    variants = list(dict.fromkeys(r["variant"] for r in passes))
    table = [[start, f"{size}", str(len(next(iter(by.values()))))] +
             [f"{show(statistics.median(by[v]))} ({show(min(by[v]))}–{show(max(by[v]))})" if v in by else "—"
              for v in variants]
             for (start, size), by in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
    ref = [r for r in passes if r["variant"] == "reference"]
    worst = max((abs(float(r["network_objective"]) / float(r["committed_objective"]) - 1) for r in ref), default=0.0)
    same = sum(int(float(r["equivalent_iterations"])) == int(float(r["committed_equivalent_iterations"])) for r in ref)
    return ("\n## Johnson et al.'s Fig. 5 measure\n\nOne pass of each variant trained on the model's own objective, "
            "on the unseen photos of the committed `results/quality_vs_time` curves (Starry Night and Great Wave, "
            "the two styles those curves have), read off those curves: median (min–max) of the first L-BFGS "
            "iteration whose objective is at most the pass's.\n\n"
            + markdown_table(["Gatys start", "px", "passes", *variants], table)
            + f"\n\nThe `reference` passes redo the committed model's: {same} of {len(ref)} land on the iteration "
              "`quality_vs_time` recorded, their objectives "
              + ("equal to its values" if worst == 0 else f"within {worst:.1e} of its values (relative)") + ".\n")


def plot(rows, out):
    written = style_scales.plot(rows, out, describe=intro)
    extra = fig5_table(rows)
    if extra:
        summary = Path(out) / "summary.md"
        summary.write_text(summary.read_text() + extra)
    return written


def intro(cfg: dict) -> str:
    source = cfg.get("gatys_source", "results/fidelity")
    return (f"The committed Dumoulin model (`reference`) and fine-tunes of it for {cfg.get('iterations')} iterations "
            f"(batch {cfg.get('batch_size')}, γ = {cfg.get('tv_weight'):g}), every one on the same photos, crops and "
            "style draws (same seed); they differ only in the learning rate and the per-style β: `control` keeps "
            "Adam's 1e-3 as the model was trained, `decayed` lowers it linearly to 0 over the fine-tune, "
            "`decayed_low` from 2e-4 to 0; `scaled` and `scaled_decayed` add β × s_k per style "
            "(s_k = max(1, ratio ÷ 3), as `results/style_scales`). "
            f"Scored on {', '.join(cfg.get('photos', []))} at {cfg.get('size')} px against the Gatys results of "
            f"`{source}` (commit {run_config_commit(ROOT / source)}). Regenerate with "
            "`python -m experiments run lr_decay --preset cpu`.\n")


EXPERIMENT = register(Experiment(
    name="lr_decay",
    description="a learning rate that decays to 0: do the networks settle nearer Gatys?",
    # style_scales' presets; quick trains 2 iterations, the fewest where a decaying rate differs (η_0 = η)
    # ``curves``: the quality_vs_time run whose curves the passes are read off (the quick preset has none)
    presets={name: {**preset, **({"variants": ["control", "decayed"], "iterations": 2} if name == "quick" else
                                 {"variants": VARIANTS, "curves": "results/quality_vs_time"})}
             for name, preset in style_scales.EXPERIMENT.presets.items()},
    items=items, run_item=run_item, plot=plot))
