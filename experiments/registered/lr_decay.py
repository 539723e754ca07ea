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
a settling run that hardly moves the model first), ``scaled`` / ``scaled_decayed`` (the per-style
β of `results/style_scales`, constant and decaying), ``scaled_decayed_tv2e7`` (``scaled_decayed`` with
twice the TV weight, for its grid share), ``decayed_tv1e6`` (``decayed`` with a tenth of it) and
``scaled_decayed_relu4_1`` / ``decayed_relu4_1`` (``scaled_decayed`` / ``decayed`` with relu4_1 added at
w = 1e-5).  Scored exactly as `style_scales` scores its
variants, against the Gatys results of `results/fidelity`.

A lower training loss should also show on Johnson et al.'s Fig. 5 measure, so the variants trained on
the model's own objective (not the scaled ones) are read off the committed `results/quality_vs_time`
curves as that run reads the committed model: one pass on each curve's unseen photo, valued on the
training objective, and the first L-BFGS iteration that reaches it.  The ``reference`` rows redo the
committed model's passes, which must land on the values `quality_vs_time` recorded.

The two committed Johnson networks (10k iterations at batch 4, where the Dumoulin model had 20k at
batch 8) are fine-tuned the same way with the variants on their own objective (``johnson_variants``),
scored against the same Gatys results and read off the curves of their own painting.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from experiments.provenance import rows_of
from experiments.registered import quality_vs_time as qvt
from experiments.registered import style_scales
from experiments.runner import Experiment, markdown_table, read_rows, register, run_config, run_config_commit

ROOT = style_scales.ROOT
MODEL = style_scales.MODEL
VARIANTS = ["control", "decayed", "decayed_low", "scaled", "scaled_decayed", "scaled_decayed_tv2e7", "decayed_tv1e6",
            "scaled_decayed_relu4_1", "decayed_relu4_1"]
SAME_OBJECTIVE = ["control", "decayed", "decayed_low"]  # trained on the reference model's own objective
JOHNSON = ["results/models/johnson_starry_night.nst", "results/models/johnson_great_wave.nst"]


def network(model: str) -> str:
    """The quality_vs_time column prefix of a committed model's passes: ``dumoulin`` or ``johnson``."""
    return "dumoulin" if model == MODEL else "johnson"


def curves(cfg: dict, model: str = MODEL) -> list[dict]:
    """The committed Fig. 5 curves ``model`` has a pass on: training objective, noise start, unseen photo."""
    source = ROOT / cfg.get("curves", "results/quality_vs_time")
    styles = style_scales.model_styles(model)
    return [r for r in read_rows(source / "raw.csv") if r.get("objective") == "training" and r.get("init") != "content"
            and not r.get("split") and not r.get("kind") and r.get(f"{network(model)}_objective") not in (None, "")
            and r["style"] in styles]


def johnson_items(cfg: dict) -> list[dict]:
    """Each Johnson network's fine-tunes and scores, as `style_scales.items` has them for the Dumoulin model."""
    out = []
    for model in cfg.get("johnson_models", []):
        stem, variants = Path(model).stem, cfg["johnson_variants"]
        out += [{"id": f"{stem}/train/{v}", "kind": "train", "variant": v, "model": model} for v in variants]
        out += [{"id": f"{stem}/{v}/{s}", "kind": "score", "variant": v, "style": s, "style_index": k, "model": model}
                for v in ["reference", *variants] for k, s in enumerate(style_scales.model_styles(model))]
    return out


def items(cfg: dict) -> list[dict]:
    out = style_scales.items(cfg) + johnson_items(cfg)
    if cfg.get("curves"):
        same = cfg.get("same_objective", SAME_OBJECTIVE)  # the variants trained on the model's own objective
        out += [{"id": f"fig5/{v}/{c['id']}", "kind": "fig5", "variant": v, "curve": c["id"]}
                for v in ["reference", *[v for v in cfg["variants"] if v in same]] for c in curves(cfg)]
        for model in cfg.get("johnson_models", []):
            out += [{"id": f"fig5/{Path(model).stem}/{v}/{c['id']}", "kind": "fig5", "variant": v, "curve": c["id"],
                     "model": model}
                    for v in ["reference", *[v for v in cfg["johnson_variants"] if v in same]]
                    for c in curves(cfg, model)]
    return out


def fig5_pass(item: dict, cfg: dict, cache: dict) -> dict:
    """One pass of a variant on a committed curve's photo, its value on the training objective, and the first
    iteration of that curve at or below it (`quality_vs_time.pass_objective`, as that run reads the model)."""
    model = item.get("model", MODEL)
    source = ROOT / cfg["curves"]
    curve = cache.setdefault(f"curves:{model}", {c["id"]: c for c in curves(cfg, model)})[item["curve"]]
    size = int(curve.get("size") or run_config(source)["size"])  # rows at the run's own size leave it empty
    # pass_objective computes one pass per model, photo, painting and size; the curves of other starts reuse it
    value = qvt.pass_objective(style_scales.load_variant(cache, item["variant"], model), curve, size, cache)
    net = network(model)
    return {"start": qvt.start_label(curve), "size": size, "network_objective": value,
            "committed_objective": float(curve[f"{net}_objective"]),
            "equivalent_iterations": qvt.equivalent_iterations(qvt.read_history(source, curve["id"]), value),
            "committed_equivalent_iterations": int(curve[f"{net}_equivalent_iterations"])}


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    if item.get("kind") == "fig5":
        return fig5_pass(item, cfg, cache)
    return style_scales.run_item(item, cfg, cache)


def fig5_table(rows: list[dict], model: str = MODEL) -> str:
    """Median (min–max) equivalent iterations per variant, start and size for one model's passes; and how far
    its reference rows land from the values quality_vs_time recorded for the same model."""
    passes = [r for r in rows if r.get("kind") == "fig5" and (r.get("model") or MODEL) == model]
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
    heading = ("\n## Johnson et al.'s Fig. 5 measure\n\nOne pass of each variant trained on the model's own objective, "
               "on the unseen photos of the committed `results/quality_vs_time` curves (Starry Night and Great Wave, "
               "the two styles those curves have), read off those curves: median (min–max) of the first L-BFGS "
               "iteration whose objective is at most the pass's.\n\n" if model == MODEL else
               f"\n### `{Path(model).stem}` on Johnson et al.'s Fig. 5 measure\n\nAs above, on the curves of its "
               f"painting ({', '.join(style_scales.model_styles(model))}).\n\n")
    return (heading + markdown_table(["Gatys start", "px", "passes", *variants], table)
            + f"\n\nThe `reference` passes redo the committed model's: {same} of {len(ref)} land on the iteration "
              "`quality_vs_time` recorded, their objectives "
              + ("equal to its values" if worst == 0 else f"within {worst:.1e} of its values (relative)") + ".\n")


def johnson_section(rows: list[dict], out: Path, cfg: dict) -> tuple[str, list[Path]]:
    """The Johnson networks' fine-tunes: issue #13's numbers per network and variant, their outputs on the
    first photo next to Gatys', their training losses and their Fig. 5 passes."""
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    models = list(dict.fromkeys(r["model"] for r in rows if r.get("model")))
    if not models:
        return "", []
    trained = {(r["model"], r["variant"]): r for r in rows if r.get("kind") == "train" and r.get("model")}
    md = ["\n## The Johnson networks\n\nEach committed Johnson network fine-tuned the same way, with the same "
          "iterations, batch, seed and γ as the Dumoulin fine-tunes above: issue #13's numbers against the same "
          "Gatys results.\n"]
    table, names = [], []
    for model in models:
        stem = Path(model).stem
        for r in [r for r in rows if r.get("kind") == "score" and r.get("model") == model]:
            t = trained.get((model, r["variant"]))
            ratio = f"{float(r['ratio']):.2f}" if r.get("ratio") not in (None, "") else "—"
            gatys_ssim = f"{float(r['gatys_ssim']):.3f}" if r.get("gatys_ssim") not in (None, "") else "—"
            table.append([stem, r["variant"], ratio, f"{float(r['ssim']):.3f}", gatys_ssim, f"{float(r['grid']):.4f}",
                          style_scales.schedule(t, cfg),
                          f"{float(t['train_loss']):.4g}" if t else "—",
                          f"{float(t['train_seconds']):.0f}" if t else "—"])
        names += [style_scales.history_name(v, model) for (m, v) in trained if m == model]
    md.append(markdown_table(["network", "variant", "÷ Gatys", "SSIM", "Gatys SSIM", "grid", "learning rate",
                              "training loss, last 20", "fine-tune s"], table))
    written = []
    photo_name = cfg["photos"][0]
    photo = load_image(ROOT / "data/content/eval" / f"{photo_name}.jpg", max_size=cfg["size"])
    source = cfg.get("gatys_source", "results/fidelity")
    variants = ["reference", *cfg.get("johnson_variants", [])]
    grid, labels = [], []
    for model in models:
        style = style_scales.model_styles(model)[0]
        cells = [out / "cells" / f"{style_scales.history_name(v, model)}-{style}-{photo_name}.png" for v in variants]
        g = ROOT / source / "cells" / f"gatys-{style}-{photo_name}.png"
        grid.append([photo, load_image(g) if g.exists() else None] + [load_image(c) if c.exists() else None
                                                                      for c in cells])
        labels.append(f"{Path(model).stem}: {painting_name(style)}")
    written.append(save_image(labelled_grid(grid, ["photo", "Gatys", *variants], labels, cell=160),
                              out / "johnson_outputs.png"))
    md.append(f"\n![{photo_name}: Gatys, then each Johnson network and its fine-tunes](johnson_outputs.png)\n")
    curves_png = style_scales.training_curves(out, names, window=25, filename="johnson_training_loss.png",
                                              title="Johnson networks: training loss on the same batches")
    if curves_png is not None:
        written.append(curves_png)
        md.append("\n![training loss of each Johnson fine-tune](johnson_training_loss.png)\n")
    md += [fig5_table(rows, model) for model in models]
    return "\n".join(md), written


def plot(rows, out):
    written = style_scales.plot([r for r in rows if not r.get("model")], out, describe=intro)
    extra = fig5_table(rows)
    johnson, more = johnson_section(rows, Path(out), run_config(out))
    if extra or johnson:
        summary = Path(out) / "summary.md"
        summary.write_text(summary.read_text() + extra + johnson)
    return written + more


def intro(cfg: dict) -> str:
    source = cfg.get("gatys_source", "results/fidelity")
    return (f"The committed Dumoulin model (`reference`) and fine-tunes of it for {cfg.get('iterations')} iterations "
            f"(batch {cfg.get('batch_size')}, γ = {cfg.get('tv_weight'):g}), every one on the same photos, crops and "
            "style draws (same seed); they differ only in the learning rate and the per-style β: `control` keeps "
            "Adam's 1e-3 as the model was trained, `decayed` lowers it linearly to 0 over the fine-tune, "
            "`decayed_low` from 2e-4 to 0; `scaled` and `scaled_decayed` add β × s_k per style "
            "(s_k = max(1, ratio ÷ 3), as `results/style_scales`); `scaled_decayed_tv2e7` is `scaled_decayed` "
            "with γ = 2e7, for its grid share (TV hardly moves the ratio: `results/style_balance`), `decayed_tv1e6` "
            "is `decayed` with γ = 1e6, for the fine strokes; `scaled_decayed_relu4_1` adds relu4_1 (w = 1e-5) to "
            "`scaled_decayed`'s style layers, `decayed_relu4_1` to `decayed`'s. "
            f"Scored on {', '.join(cfg.get('photos', []))} at {cfg.get('size')} px against the Gatys results of "
            f"`{source}` (commit {run_config_commit(ROOT / source)}). Regenerate with "
            "`python -m experiments run lr_decay --preset cpu`.\n")


def item_reads(item: dict, cfg: dict) -> list[str]:
    """`style_scales.item_reads`; a Fig. 5 pass also reads its curve's row and the objective the curves run on
    (the Johnson Starry Night network's training metadata: `quality_vs_time.objective_overrides`)."""
    if item.get("kind") != "fig5":
        return style_scales.item_reads(item, cfg)
    model = item.get("model", MODEL)
    return [*style_scales.variant_reads(item["variant"], model, cfg), next(iter(qvt.MODELS["johnson"].values())),
            rows_of(cfg["curves"], id=item["curve"])]


def reads(cfg: dict) -> list[str]:
    """The Dumoulin model, the Johnson networks fine-tuned beside it, the Fig. 5 curves and the Gatys results."""
    return [MODEL, *cfg.get("johnson_models", []), *([cfg["curves"]] if cfg.get("curves") else []),
            cfg.get("gatys_source", "results/fidelity")]


EXPERIMENT = register(Experiment(
    name="lr_decay",
    description="a learning rate that decays to 0: do the networks settle nearer Gatys?",
    # style_scales' presets; quick trains 2 iterations, the fewest where a decaying rate differs (η_0 = η)
    # ``curves``: the quality_vs_time run whose curves the passes are read off (the quick preset has none)
    # ``johnson_models``/``johnson_variants``: the Johnson networks fine-tuned the same way
    presets={name: {**preset, **({"variants": ["control", "decayed"], "iterations": 2,
                                  "johnson_models": JOHNSON[:1], "johnson_variants": ["decayed"]}
                                 if name == "quick" else
                                 {"variants": VARIANTS, "curves": "results/quality_vs_time",
                                  "johnson_models": JOHNSON, "johnson_variants": SAME_OBJECTIVE})}
             for name, preset in style_scales.EXPERIMENT.presets.items()},
    reads=reads, item_reads=item_reads, item_outputs=style_scales.item_outputs,
    items=items, run_item=run_item, plot=plot))
