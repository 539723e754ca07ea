"""Where the evaluator's style loss comes from: the `fidelity` outputs scored layer by layer.

The evaluator's style term is a sum over relu1_1 … relu5_1 with equal weights (`nst.evaluate`).  With
our Gram normalisation the layers differ in scale by orders of magnitude, so one layer can make up
nearly all of it.  This experiment re-scores the images ``results/fidelity`` saved (``cells/``, 8-bit
PNGs: the network outputs and the Gatys results) with `Evaluator.style_by_layer`, on the evaluator's
layers and on the layers the default training recipe uses (relu1_2, relu2_2, relu3_3, relu4_3), and
reports for each style each layer's share of the total and the network's value as a multiple of Gatys'.
It reads the images only, so it runs in seconds; its numbers belong to the fidelity run named in the
summary (its commit and models).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.runner import (ROOT, Experiment, markdown_table, read_rows, register, run_config, run_config_commit,
                                save_figure, subplots)

EVAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
TRAIN_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # the dumoulin2017 recipe's style layers


def _source(cfg: dict) -> Path:
    return ROOT / cfg["source"]


def cell_name(row: dict) -> str:
    """The file `fidelity` saved for one of its rows."""
    if row["method"] == "gatys":
        return f"gatys-{row['style']}-{row['photo']}.png"
    return f"{row['model']}-{int(float(row['style_index']))}-{row['photo']}.png"


def items(cfg: dict) -> list[dict]:
    return [{"id": r["id"], "method": r["method"], "model": r["model"], "style": r["style"], "photo": r["photo"],
             "cell": cell_name(r), "fidelity_style_loss": float(r["style_loss"])}
            for r in read_rows(_source(cfg) / "raw.csv")]


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    from nst.evaluate import Evaluator
    from nst.io.images import load_image

    ev = cache.setdefault("evaluator", Evaluator.create())
    out = load_image(_source(cfg) / "cells" / item["cell"])
    style = cache.setdefault(item["style"], load_image(ROOT / "data" / "styles" / f"{item['style']}.jpg"))
    return {f"style_{n}": v for n, v in ev.style_by_layer(out, style, EVAL_LAYERS + TRAIN_LAYERS).items()}


def per_style(rows: list[dict]) -> list[dict]:
    """Per (model, style): means over the photos both it and Gatys (same painting) have, shares and ratios per layer."""
    layers = EVAL_LAYERS + TRAIN_LAYERS
    groups: dict[tuple[str, str], dict[str, dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["style"]), {})[r["photo"]] = r
    out = []
    for (model, style), mine in groups.items():
        gatys = groups.get(("gatys", style))
        photos = sorted(set(mine) & set(gatys or {}))
        if model == "gatys" or not photos:
            continue
        m = {n: float(np.mean([float(mine[p][f"style_{n}"]) for p in photos])) for n in layers}
        g = {n: float(np.mean([float(gatys[p][f"style_{n}"]) for p in photos])) for n in layers}
        total, gtotal = sum(m[n] for n in EVAL_LAYERS), sum(g[n] for n in EVAL_LAYERS)
        out.append({"model": model, "style": style, "photos": len(photos), "total_ratio": total / gtotal,
                    "share": {n: m[n] / total for n in EVAL_LAYERS},
                    "gatys_share": {n: g[n] / gtotal for n in EVAL_LAYERS},
                    "ratio": {n: m[n] / g[n] for n in layers}})
    return out


def plot(rows: list[dict], out: Path) -> list[Path]:
    recs = per_style(rows)
    source = run_config_commit(_source(run_config(out))) if run_config(out) else "unknown"
    md = ["The `fidelity` outputs (their saved 8-bit images) scored layer by layer with the evaluator's "
          f"weights (1/5 per layer; the fidelity run was made at commit {source}). "
          "Regenerate with `python -m experiments run fidelity_layers --preset cpu` (seconds: it reads "
          "`results/fidelity/cells`).\n",
          "\n## Each evaluator layer's share of the style loss\n",
          "Network outputs; the last column is the same share for the Gatys results on the same painting.\n"]
    md.append(markdown_table(["model", "style", *EVAL_LAYERS, "Gatys' relu4_1 share"],
                             [[r["model"], r["style"], *(f"{100 * r['share'][n]:.1f} %" for n in EVAL_LAYERS),
                               f"{100 * r['gatys_share']['relu4_1']:.1f} %"] for r in recs]))
    md += ["\n## The network's style term as a multiple of Gatys', layer by layer\n",
           "`total` is the evaluator's ratio recomputed from the images (`results/fidelity` reports it from "
           "the unrounded outputs). The first five layers are the evaluator's; the last four are the ones the "
           "default recipe (`dumoulin2017`) trains on, scored the same way.\n"]
    md.append(markdown_table(["model", "style", "total", *EVAL_LAYERS, *TRAIN_LAYERS],
                             [[r["model"], r["style"], f"{r['total_ratio']:.2f}",
                               *(f"{r['ratio'][n]:.2f}" for n in EVAL_LAYERS),
                               *(f"{r['ratio'][n]:.2f}" for n in TRAIN_LAYERS)] for r in recs]))
    written = []
    if recs:
        layers = EVAL_LAYERS + TRAIN_LAYERS
        grid = np.log10([[r["ratio"][n] for n in layers] for r in recs])
        fig, ax = subplots(figsize=(10.5, 0.42 * len(recs) + 1.6), dpi=100)
        im = ax.imshow(grid, cmap="RdBu_r", vmin=-1.5, vmax=1.5, aspect="auto")
        for i, r in enumerate(recs):
            for j, n in enumerate(layers):
                ax.text(j, i, f"{r['ratio'][n]:.1f}", ha="center", va="center", fontsize=7)
        ax.axvline(len(EVAL_LAYERS) - 0.5, color="k", lw=1.5)
        ax.set_xticks(range(len(layers)), [n + ("\n(evaluator)" if n in EVAL_LAYERS else "\n(training)")
                                           for n in layers], fontsize=7)
        ax.set_yticks(range(len(recs)), [f"{r['model']} · {r['style']}" for r in recs], fontsize=7)
        ax.set_title("network style term ÷ Gatys', per VGG layer (mean over photos; 1 = as close as Gatys)",
                     fontsize=9)
        fig.colorbar(im, ax=ax, label="log10 ratio")
        written.append(save_figure(fig, out / "layer_ratios.png"))
        md.append("\n![the network's style term ÷ Gatys' per layer](layer_ratios.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


EXPERIMENT = register(Experiment(
    name="fidelity_layers",
    description="the fidelity outputs' style loss layer by layer: which VGG layer the ratio to Gatys comes from",
    presets={"quick": {"source": "results/fidelity"}, "cpu": {"source": "results/fidelity"},
             "gpu": {"source": "results/fidelity"}},
    items=items, run_item=run_item, plot=plot))
