"""Train as you stylize: fine-tunes of the committed networks with the stylize border in training.

Every network here was trained bare (`TrainConfig.train_border` 0, as in the papers), and `stylize` adds a
reflected border around the residual blocks' map (`nst.core.networks.STYLIZE_BORDER` at
`STYLIZE_BORDER_STAGE`) against the thin line the bare networks draw along the image edge
(`results/border`).  The border changes the statistics instance norm normalises with, so the network is
stylized by a computation it was not trained in: `results/quality_vs_time` reads the committed networks'
bare passes off the Fig. 5 curves, and on the networks' own objective they are worth several L-BFGS
iterations more than the default passes.  Johnson et al. ran their networks in Fig. 5 the way they trained
them (fast-neural-style's ``reflect-start`` padding is part of the network in ``train.lua`` and at test time
alike).

``bordered`` fine-tunes each committed network with ``train_border`` = the stylize default and otherwise
exactly `results/lr_decay`'s ``decayed`` variant (the same iterations, batch, seed, photos, crops and style
draws; Adam's rate from 1e-3 to 0), so the committed ``decayed`` rows are its control: the two differ only in
the border the network trains with.  ``bordered_input`` does the same with 16 px around the whole picture
(the input border that hid the bare networks' line in `results/border`), so that no layer sees the image
edge; a model trained with a border is stylized with it (`nst.interface.feedforward.default_border`).
``bordered_reflect`` is ``bordered`` with a loss network that reflects each map at every conv
(``vgg_padding="reflect"``), where the papers' VGG pads zeros: does the line stop paying then?
Scored as `lr_decay` scores its variants (issue #13's numbers against the Gatys results of
`results/fidelity`, and one pass per Fig. 5 curve), plus `border_line_contrast` of every output, which
says whether the edge line stays away once the network trains with the border.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from experiments.registered import lr_decay
from experiments.registered import quality_vs_time as qvt
from experiments.registered import style_scales
from experiments.runner import (Experiment, markdown_table, read_rows, register, run_config, run_config_commit,
                                save_figure, subplots)

ROOT = style_scales.ROOT
MODEL = style_scales.MODEL
CONTROL = "decayed"  # lr_decay's variant that `bordered` repeats with the border
CONTROL_SOURCE = "results/lr_decay"
# the stylize default's border in training, then 16 px around the picture, then the first with a loss network that
# reflects instead of padding zeros (its Fig. 5 passes are valued on the committed networks' zero-padded objective)
VARIANTS = ["bordered", "bordered_input", "bordered_reflect"]
BARE = {"johnson": "johnson_bare", "dumoulin": "dumoulin_bare"}  # quality_vs_time's passes without the border


def items(cfg: dict) -> list[dict]:
    return lr_decay.items(cfg)


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    row = lr_decay.run_item(item, cfg, cache)
    if item.get("kind") == "score":
        from nst.evaluate import border_line_contrast
        from nst.io.images import load_image

        # the outputs `style_scales.run_item` just saved, one per photo
        model = item.get("model", MODEL)
        stem = style_scales.history_name(item["variant"], model)
        edges = [border_line_contrast(load_image(cache["out"] / "cells" / f"{stem}-{item['style']}-{photo}.png"))
                 for photo in cfg["photos"]]
        row.update(edge_contrast=float(np.mean(edges)), edge_contrast_worst=float(np.max(edges)))
    return row


def models_of(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(r.get("model") or MODEL for r in rows if r.get("kind") in ("score", "fig5")))


def control_rows_of(cfg: dict) -> list[dict]:
    """The control's rows (`CONTROL` in ``control_source``, lr_decay's run unless said)."""
    return [r for r in read_rows(ROOT / cfg.get("control_source", CONTROL_SOURCE) / "raw.csv")
            if r.get("variant") == CONTROL]


def variants_of(rows: list[dict], model: str | None = None) -> list[str]:
    """This run's fine-tunes (of ``model``, or of any), in the order they were run."""
    return list(dict.fromkeys(r["variant"] for r in rows if r.get("kind") == "train"
                              and model in (None, r.get("model") or MODEL)))


def fig5_medians(rows: list[dict], cfg: dict, control: list[dict]) -> str:
    """Per network, start and size: the median equivalent iterations of the committed network with its default
    border and bare (quality_vs_time), of the control fine-tune (lr_decay) and of the bordered one (this run)."""
    curves_dir = ROOT / cfg["curves"]
    base_size = run_config(curves_dir).get("size")
    bare_rows = [r for r in read_rows(curves_dir / "raw.csv") if r.get("kind") == "pass"]
    control_rows = [r for r in control if r.get("kind") == "fig5"]
    med = lambda v: f"{statistics.median(v):g} ({min(v):g}–{max(v):g})" if v else "—"  # noqa: E731
    md = []
    for model in models_of(rows):
        net = lr_decay.network(model)
        styles = style_scales.model_styles(model)
        groups: dict[tuple, dict[str, list[float]]] = {}
        for r in rows:
            if r.get("kind") == "fig5" and (r.get("model") or MODEL) == model:
                groups.setdefault((r["start"], int(float(r["size"]))), {}).setdefault(r["variant"], []).append(
                    float(r["equivalent_iterations"]))
        for r in control_rows:
            if (r.get("model") or MODEL) == model and (r["start"], int(float(r["size"]))) in groups:
                groups[(r["start"], int(float(r["size"])))].setdefault("control", []).append(
                    float(r["equivalent_iterations"]))
        for r in bare_rows:
            key = (qvt.start_label(r), int(r.get("size") or base_size))
            if r.get("network") == BARE[net] and r["style"] in styles and key in groups:
                groups[key].setdefault("bare", []).append(float(r["network_equivalent_iterations"]))
        mine = variants_of(rows)
        table = [[start, str(size), med(by.get("reference", [])), med(by.get("bare", [])),
                  med(by.get("control", [])), *(med(by.get(v, [])) for v in mine)]
                 for (start, size), by in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
        md.append(f"\n### `{Path(model).stem}`\n\n" + markdown_table(
            ["Gatys start", "px", "committed", "committed, bare", f"`{CONTROL}` (lr_decay)",
             *(f"`{v}`" for v in mine)], table))
    return "\n".join(md)


def scores_table(rows: list[dict], control: list[dict]) -> str:
    """Issue #13's numbers per network and variant (every style's mean where a model has several), with the
    control's from lr_decay and the edge line of this run's outputs."""
    control = [r for r in control if r.get("kind") == "score"]
    table = []
    for model in models_of(rows):
        mine = [r for r in rows if r.get("kind") == "score" and (r.get("model") or MODEL) == model]
        theirs = [r for r in control if (r.get("model") or MODEL) == model]
        for label, group in (("committed", [r for r in mine if r["variant"] == "reference"]),
                             (f"{CONTROL} (lr_decay)", theirs),
                             *((v, [r for r in mine if r["variant"] == v]) for v in variants_of(rows))):
            if not group:
                continue
            scored = [r for r in group if r.get("ratio") not in (None, "")]  # the styles Gatys results exist for
            ratios = [float(r["ratio"]) for r in scored]
            mean = lambda k, rs=group: float(np.mean([float(r[k]) for r in rs]))  # noqa: E731
            edge = (f"{mean('edge_contrast'):.2f} ({max(float(r['edge_contrast_worst']) for r in group):.2f})"
                    if all(r.get("edge_contrast") not in (None, "") for r in group) else "—")
            table.append([Path(model).stem, label, str(len(group)),
                          f"{statistics.median(ratios):.2f}" if ratios else "—",
                          f"{max(ratios):.2f}" if ratios else "—", f"{mean('ssim'):.3f}",
                          f"{mean('gatys_ssim', scored):.3f}" if ratios else "—",
                          f"{max(float(r['grid']) for r in group):.4f}", edge])
    return markdown_table(["network", "variant", "styles", "median ÷ Gatys", "worst ÷ Gatys", "SSIM", "Gatys SSIM",
                           "grid, worst style", "edge contrast (worst)"], table)


def cell_paths(out: Path, cfg: dict, model: str, style: str, photo: str, variants: list[str]) -> list[tuple[str, Path]]:
    """The first photo's outputs of ``model`` in ``style``, labelled: Gatys', the committed network's, the
    control's (lr_decay's cells) and each fine-tune's of this run."""
    control = ROOT / cfg.get("control_source", CONTROL_SOURCE)
    name = lambda v: f"{style_scales.history_name(v, model)}-{style}-{photo}.png"  # noqa: E731
    return [("Gatys", ROOT / cfg["gatys_source"] / "cells" / f"gatys-{style}-{photo}.png"),
            ("committed", out / "cells" / name("reference")), (CONTROL, control / "cells" / name(CONTROL)),
            *((v, out / "cells" / name(v)) for v in variants)]


def edge_strips_figure(images: list[tuple[str, Path]], path: Path) -> Path:
    """The top-left corner (16 × 128 px) of each titled image file, enlarged, one per row: where a line along the
    image edge shows as a band of another colour in the first rows."""
    from nst.io.images import load_image

    fig, axes = subplots(len(images), 1, figsize=(8, 1.05 * len(images) + 0.4), dpi=100, squeeze=False)
    for ax, (title, image) in zip(axes[:, 0], images):
        ax.imshow(load_image(image)[:16, :128], interpolation="nearest")
        ax.set_title(title, fontsize=7, loc="left")
        ax.set_axis_off()
    return save_figure(fig, path)


def figures(rows: list[dict], out: Path, cfg: dict) -> tuple[list[str], list[Path]]:
    """``outputs.png``: the first photo by every network and variant, next to Gatys'; ``edges.png``: the top
    rows of the same outputs, enlarged, where the line along the image edge shows."""
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    photo = cfg["photos"][0]
    sets = [(f"{Path(m).stem}: {painting_name(style_scales.model_styles(m)[0])}",
             cell_paths(out, cfg, m, style_scales.model_styles(m)[0], photo, variants_of(rows, m)))
            for m in models_of(rows)]
    if not sets:
        return [], []
    labels = [label for label, _ in sets[0][1]]
    grid = [[load_image(p) if p.exists() else None for _, p in paths] for _, paths in sets]
    sheet = save_image(labelled_grid(grid, labels, [name for name, _ in sets], cell=160), out / "outputs.png")
    edges = edge_strips_figure([(f"{name} — {label}", p) for name, paths in sets for label, p in paths[1:]
                                if p.exists()], out / "edges.png")
    md = [f"\n![{photo}: Gatys, then every network and fine-tune, each stylized with its default border]"
          "(outputs.png)\n",
          "\n![the top-left corner (16 × 128 px) of the same outputs, enlarged: a line along the edge shows as a "
          "band of another colour in the first rows](edges.png)\n"]
    return md, [sheet, edges]


def plot(rows: list[dict], out: Path) -> list[Path]:
    out = Path(out)
    cfg = run_config(out)
    from nst.core.networks import STYLIZE_BORDER, STYLIZE_BORDER_STAGE

    trained = {(r.get("model") or MODEL, r["variant"]): r for r in rows if r.get("kind") == "train"}
    seconds = ", ".join(f"{Path(m).stem} `{v}` {float(r['train_seconds']):.0f} s" for (m, v), r in trained.items())
    photos = ", ".join(cfg.get("photos", []))
    control = cfg.get("control_source", CONTROL_SOURCE)
    control_rows = control_rows_of(cfg)  # read once for both tables
    md = [f"Each committed network fine-tuned for {cfg.get('iterations')} iterations (batch {cfg.get('batch_size')}, "
          f"γ = {cfg.get('tv_weight'):g}, Adam's rate linearly from {cfg.get('learning_rate'):g} to 0) with the "
          f"stylize border in training (`bordered`: {STYLIZE_BORDER} px at the `{STYLIZE_BORDER_STAGE}` stage, "
          f"`--train-border {STYLIZE_BORDER}`; `bordered_input`: 16 px around the picture, `--train-border 16 "
          "--train-border-stage input`; `bordered_reflect`: `bordered` with `--vgg-padding reflect`, a loss "
          "network that mirrors each map at every conv instead of padding zeros), against the same fine-tune "
          f"without it (`{CONTROL}`, the committed "
          f"`{control}` rows, commit {run_config_commit(ROOT / control)}: the same photos, crops and "
          "style draws). Every output here is stylized with its model's default border: the one it was trained "
          f"with, or {STYLIZE_BORDER} px at the `{STYLIZE_BORDER_STAGE}` stage for a network trained bare. "
          "Regenerate with "
          "`python -m experiments run train_border --preset cpu`.\n",
          f"\n## Issue #13's numbers\n\nOn {photos} at {cfg.get('size')} px against the Gatys results of "
          f"`{cfg.get('gatys_source')}` (commit {run_config_commit(ROOT / cfg['gatys_source'])}); ratios are "
          "each style's mean style loss ÷ Gatys'; `edge contrast` is `border_line_contrast` (mean over styles and "
          "photos, worst output in brackets; about 1 is no line, `results/border`).\n",
          scores_table(rows, control_rows)]
    if cfg.get("curves"):
        md.append("\n## Johnson et al.'s Fig. 5 measure\n\nOne pass per committed `results/quality_vs_time` curve "
                  f"(commit {run_config_commit(ROOT / cfg['curves'])}): the training objective, the noise starts, "
                  "unseen photos; median (min–max) of the first L-BFGS iteration at or below the pass. `committed, "
                  "bare` is the committed network without the stylize border (`quality_vs_time`'s "
                  f"{' and '.join(f'`{b}`' for b in BARE.values())} passes); every other column is stylized with "
                  "its model's default border. Every pass is valued on the committed networks' objective (zero "
                  "padding), which `bordered_reflect` was not trained on.\n")
        md.append(fig5_medians(rows, cfg, control_rows))
    more, written = figures(rows, out, cfg)
    md += more
    if seconds:
        md.append(f"\nFine-tune time on this machine: {seconds}.\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def reads(cfg: dict) -> list[str]:
    """lr_decay's inputs, and its page: the control fine-tunes each bordered one is compared with."""
    return [*lr_decay.reads(cfg), cfg.get("control_source", CONTROL_SOURCE)]


EXPERIMENT = register(Experiment(
    name="train_border",
    description="train as you stylize: fine-tunes with the stylize border in the training forward pass",
    # lr_decay's presets with VARIANTS: every network fine-tuned with each border, read off the committed
    # Fig. 5 curves; quick: the Johnson Starry Night network for 2 iterations
    presets={name: {**preset, "variants": [] if name == "quick" else VARIANTS,
                    "johnson_variants": ["bordered"] if name == "quick" else VARIANTS, "same_objective": VARIANTS,
                    **({"johnson_models": lr_decay.JOHNSON[:1]} if name == "quick" else {})}
             for name, preset in lr_decay.EXPERIMENT.presets.items()},
    # its items are lr_decay's, and it reads the control page only in plots
    reads=reads, item_reads=lr_decay.item_reads, item_outputs=style_scales.item_outputs,
    items=items, run_item=run_item, plot=plot))
