"""Where the evaluator's style loss comes from: the `fidelity` outputs scored layer by layer.

The evaluator's style term is a sum over relu1_1 … relu5_1 with equal weights (`nst.evaluate`).  With
our Gram normalisation the layers differ in scale by orders of magnitude, so one layer can make up
nearly all of it.  This experiment re-scores the images ``results/fidelity`` saved (``cells/``, 8-bit
PNGs: the network outputs and the Gatys results) with `Evaluator.style_by_layer`, on the evaluator's
layers and on the layers the default training recipe uses (relu1_2, relu2_2, relu3_3, relu4_3), and
reports for each style each layer's share of the total and the network's value as a multiple of Gatys'.
It also scores each evaluation photo itself, unstylized, against each painting: the loss both methods
start from, so the summary can say how many times each lowers it (the "headroom" table).  It reads
images only, so it runs in minutes; its numbers belong to the fidelity run named in the summary (its
commit and models).
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
    rows = read_rows(_source(cfg) / "raw.csv")
    out = [{"id": r["id"], "method": r["method"], "model": r["model"], "style": r["style"], "photo": r["photo"],
            "cell": cell_name(r), "fidelity_style_loss": float(r["style_loss"])} for r in rows]
    # the photo itself, unstylized, against each painting: where both methods start from (the headroom table)
    pairs = dict.fromkeys((r["style"], r["photo"]) for r in rows if r["method"] == "gatys")
    return out + [{"id": f"photo-{s}-{p}", "method": "photo", "model": "photo", "style": s, "photo": p, "cell": ""}
                  for s, p in pairs]


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    from nst.evaluate import Evaluator
    from nst.io.images import load_image

    ev = cache.setdefault("evaluator", Evaluator.create())
    if item["method"] == "photo":  # loaded as `fidelity` loaded it for both methods
        out = load_image(ROOT / "data/content/eval" / f"{item['photo']}.jpg",
                         max_size=int(run_config(_source(cfg))["size"]))
    else:
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
        if model in ("gatys", "photo") or not photos:
            continue
        m = {n: float(np.mean([float(mine[p][f"style_{n}"]) for p in photos])) for n in layers}
        g = {n: float(np.mean([float(gatys[p][f"style_{n}"]) for p in photos])) for n in layers}
        total, gtotal = sum(m[n] for n in EVAL_LAYERS), sum(g[n] for n in EVAL_LAYERS)
        out.append({"model": model, "style": style, "photos": len(photos), "total_ratio": total / gtotal,
                    "share": {n: m[n] / total for n in EVAL_LAYERS},
                    "gatys_share": {n: g[n] / gtotal for n in EVAL_LAYERS},
                    "ratio": {n: m[n] / g[n] for n in layers}})
    return out


def headroom(rows: list[dict]) -> list[dict]:
    """Per (model, style): how many times each method lowers the unstylized photo's evaluator style loss.

    ``gatys_drop`` = photo ÷ Gatys, ``network_drop`` = photo ÷ network (means over the photos all three
    have); their quotient is the network's ratio to Gatys.
    """
    def total(r: dict) -> float:
        return sum(float(r[f"style_{n}"]) for n in EVAL_LAYERS)

    by = {(r["model"], r["style"], r["photo"]): total(r) for r in rows}
    out = []
    for model, style in dict.fromkeys((r["model"], r["style"]) for r in rows if r["model"] not in ("gatys", "photo")):
        photos = sorted(p for (m, s, p) in by if m == model and s == style
                        and ("gatys", s, p) in by and ("photo", s, p) in by)
        if not photos:
            continue
        mean = lambda m: float(np.mean([by[(m, style, p)] for p in photos]))  # noqa: E731
        start, g, n = mean("photo"), mean("gatys"), mean(model)
        out.append({"model": model, "style": style, "photos": len(photos), "photo": start, "gatys": g,
                    "network": n, "gatys_drop": start / g, "network_drop": start / n, "ratio": n / g})
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
    drops = headroom(rows)
    if drops:
        md += ["\n## How far each method moves the photo towards the painting\n",
               "The evaluator's style loss of the photo itself (unstylized) against the painting, and how many "
               "times Gatys and the network lower it (means over the photos); the network's ratio to Gatys is "
               "the quotient of the two.\n",
               markdown_table(["model", "style", "photo's style loss", "photo ÷ Gatys", "photo ÷ network",
                               "network ÷ Gatys"],
                              [[r["model"], r["style"], f"{r['photo']:.3g}", f"{r['gatys_drop']:.0f}",
                                f"{r['network_drop']:.1f}", f"{r['ratio']:.2f}"] for r in drops])]
        fig, ax = subplots(figsize=(8.5, 4.2), dpi=100)
        named = set()
        for model, marker in zip(dict.fromkeys(r["model"] for r in drops), "osD^v"):
            mine = [r for r in drops if r["model"] == model]
            ax.scatter([r["gatys_drop"] for r in mine], [r["network_drop"] for r in mine], marker=marker, label=model)
            for r in mine:
                if r["style"] not in named:  # each painting named once (models share Gatys' x)
                    named.add(r["style"])
                    ax.annotate(r["style"], (r["gatys_drop"], r["network_drop"]), fontsize=6, xytext=(3, -9),
                                textcoords="offset points")
        lo = min(min(r["network_drop"] for r in drops), min(r["gatys_drop"] for r in drops) / 3) / 1.5
        hi = max(r["gatys_drop"] for r in drops) * 1.5
        xs = np.geomspace(lo, hi, 50)
        ax.plot(xs, xs, color="0.5", lw=0.8, label="network as close as Gatys")
        ax.plot(xs, xs / 3, color="0.5", lw=0.8, ls="--", label="network ÷ Gatys = 3 (issue #13)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi * 2.5)
        ax.set_xlabel("photo's style loss ÷ Gatys' (how far Gatys moves the photo)")
        ax.set_ylabel("photo's style loss ÷ network's")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        written.append(save_figure(fig, out / "headroom.png"))
        md.append("\n![how far each method lowers the photo's style loss](headroom.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def reads(cfg: dict) -> list[str]:
    return [cfg["source"]]  # fidelity's images and rows


EXPERIMENT = register(Experiment(
    name="fidelity_layers",
    description="the fidelity outputs' style loss layer by layer: which VGG layer the ratio to Gatys comes from",
    presets={"quick": {"source": "results/fidelity"}, "cpu": {"source": "results/fidelity"},
             "gpu": {"source": "results/fidelity"}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
