"""Issue #13's targets: does every style of every reference model come close to a Gatys result?

For each style of each committed reference model and each of ``photos`` evaluation photos (long
side ``size`` px): the network's output and a Gatys result on the same photo and painting (default
`GatysConfig` settings, ``gatys_steps`` L-BFGS steps), both scored by the fixed evaluator (style and
content loss, SSIM to the photo, palette distance, 4-px grid share) and by `border_line_contrast`
(a line along the edges scores well above the photos' own edge rows).

Targets (issue #13): per style, feedforward style loss ≤ 3× Gatys' (≤ 2× for the median style),
while the mean SSIM against the photo is at least Gatys'; grid share ≤ 0.005 for every style.
One Gatys item per (painting, photo) serves every model that has that painting.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from experiments.provenance import reference_model
from experiments.runner import ROOT, Experiment, markdown_table, painting, register, run_config, save_figure, subplots

MODELS = ("johnson_starry_night", "johnson_great_wave", "dumoulin_8styles")
METRICS = {"style": "style_loss", "content": "content_loss", "ssim": "ssim", "color_swd": "color_swd",
           "grid": "grid"}  # evaluator key -> column (the item's own "style" is the painting's name)
STYLE_RATIO_MAX, MEDIAN_RATIO_MAX, GRID_MAX = 3.0, 2.0, 0.005  # issue #13, "Done when"
MODELS_DIR = Path("results/models")


def model_styles(cfg: dict, models_dir: Path = MODELS_DIR) -> list[tuple[str, int, str]]:
    """(model, style index, painting) for every style of every network ``models_dir/MODEL.nst`` in ``cfg["models"]``."""
    import nst

    out = []
    for name in cfg["models"]:
        model = nst.load(ROOT / models_dir / f"{name}.nst")
        out += [(name, k, s) for k, s in enumerate(model.styles)]
    return out


def items(cfg: dict) -> list[dict]:
    pairs = model_styles(cfg)
    out = [{"id": f"gatys-{s}-{p}", "method": "gatys", "model": "gatys", "style_index": -1, "style": s, "photo": p}
           for s in dict.fromkeys(s for _, _, s in pairs) for p in cfg["photos"]]
    out += [{"id": f"{m}-{k}-{p}", "method": "feedforward", "model": m, "style_index": k, "style": s, "photo": p}
            for m, k, s in pairs for p in cfg["photos"]]
    return out


def run_item(item: dict, cfg: dict, cache: dict, models_dir: Path = MODELS_DIR) -> dict:
    """One output scored: a Gatys result, or style ``style_index`` of the network ``models_dir/MODEL.nst``."""
    import time

    import nst
    from nst.evaluate import Evaluator, border_line_contrast
    from nst.io.images import load_image, save_image

    ev = cache.setdefault("evaluator", Evaluator.create())
    photo = load_image(ROOT / "data/content/eval" / f"{item['photo']}.jpg", max_size=cfg["size"])
    style_path = ROOT / "data/styles" / f"{item['style']}.jpg"
    t0 = time.perf_counter()
    if item["method"] == "gatys":
        gatys = nst.create("gatys", [style_path], steps=cfg["gatys_steps"], size=cfg["size"], verbose=False)
        out = gatys.stylize(photo, style=0)
    else:
        key = f"model:{item['model']}"
        if key not in cache:
            cache[key] = nst.load(ROOT / models_dir / f"{item['model']}.nst")
        out = cache[key].stylize(photo, style=int(item["style_index"]))
    seconds = time.perf_counter() - t0
    save_image(out, cache["out"] / "cells" / f"{item['id']}.png")
    scores = ev(out, photo, load_image(style_path))
    return {**{col: float(scores[m]) for m, col in METRICS.items()}, "edge_contrast": float(border_line_contrast(out)),
            "seconds": seconds}


def per_style(rows: list[dict]) -> list[dict]:
    """One record per (model, style): means over the photos, next to Gatys' on the same photos."""
    gatys = {(r["style"], r["photo"]): r for r in rows if r["method"] == "gatys"}
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        if r["method"] == "feedforward":
            groups.setdefault((r["model"], r["style"]), []).append(r)
    out = []
    for (model, style), rs in groups.items():
        g = [gatys[(style, r["photo"])] for r in rs if (style, r["photo"]) in gatys]
        rec = {"model": model, "style": style, "photos": len(rs)}
        rec.update({f"ff_{m}": float(np.mean([float(r[col]) for r in rs]))
                    for m, col in (*METRICS.items(), ("edge_contrast", "edge_contrast"))})
        rec["ff_grid_max"] = max(float(r["grid"]) for r in rs)
        if len(g) == len(rs):
            rec.update({f"gatys_{m}": float(np.mean([float(r[col]) for r in g])) for m, col in METRICS.items()})
            rec["ratio"] = rec["ff_style"] / rec["gatys_style"]
        out.append(rec)
    return out


def targets_table(recs: list[dict]) -> str:
    """Issue #13's four targets against `per_style` records, as a markdown table ("" if no style has Gatys rows)."""
    ratios = [r["ratio"] for r in recs if "ratio" in r]
    if not ratios:
        return ""
    worst = max(recs, key=lambda r: r.get("ratio", 0))
    ssim_ok = [r["ff_ssim"] >= r["gatys_ssim"] for r in recs if "ratio" in r]
    grid_ok = [r["ff_grid"] <= GRID_MAX for r in recs]
    return ("\n| target (issue #13) | measured | met |\n|---|---|---|\n"
            f"| style ÷ Gatys ≤ {STYLE_RATIO_MAX:g} for every style | worst {max(ratios):.2f} "
            f"({worst['model']}, {worst['style']}) | {'yes' if max(ratios) <= STYLE_RATIO_MAX else 'no'} |\n"
            f"| median style ÷ Gatys ≤ {MEDIAN_RATIO_MAX:g} | {statistics.median(ratios):.2f} | "
            f"{'yes' if statistics.median(ratios) <= MEDIAN_RATIO_MAX else 'no'} |\n"
            f"| SSIM ≥ Gatys' on the same photos | {sum(ssim_ok)} of {len(ssim_ok)} styles | "
            f"{'yes' if all(ssim_ok) else 'no'} |\n"
            f"| grid ≤ {GRID_MAX:g} for every style | worst {max(r['ff_grid'] for r in recs):.4f}, "
            f"{sum(grid_ok)} of {len(grid_ok)} styles | {'yes' if all(grid_ok) else 'no'} |\n")


RATIO_TICKS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)


def ratio_margin_limits(ax, ticks: tuple[float, ...] = RATIO_TICKS, show_limit: bool = False) -> None:
    """Issue #13's two limits on ``ax`` (dashed: the style ratio; dotted: Gatys' SSIM at x = 0), a log y
    axis labelled at those of ``ticks`` in view (``show_limit``: first widened so the dashed line shows)."""
    ax.axhline(STYLE_RATIO_MAX, color="0.5", ls="--", lw=0.8)
    ax.axvline(0, color="0.5", ls=":", lw=0.8)
    ax.set_yscale("log")
    if show_limit:
        low, high = ax.get_ylim()
        ax.set_ylim(min(low, STYLE_RATIO_MAX * 0.85), max(high, STYLE_RATIO_MAX * 1.15))
    low, high = ax.get_ylim()
    shown = [t for t in ticks if low <= t <= high]
    ax.set_yticks(shown, [f"{t:g}" for t in shown])
    ax.set_yticks([], minor=True)


def ratio_margin_axes(ax, subject: str) -> None:
    """Style ÷ Gatys' (log) against SSIM − Gatys' SSIM on ``ax``, with issue #13's two limits drawn: the
    target region lies below the dashed line and right of the dotted one; ``subject`` heads the title."""
    ratio_margin_limits(ax)
    ax.set_xlabel("SSIM − Gatys' SSIM (≥ 0 keeps as much of the photo as Gatys)")
    ax.set_ylabel("style loss ÷ Gatys'")
    ax.set_title(f"{subject} (target: below the dashed line, right of the dotted one)", fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))


def style_panels(n: int, cols: int = 5):
    """(figure, axes) with one panel per style for ``n`` styles, at most ``cols`` to a row (`finish_style_panels`)."""
    import math

    cols = min(cols, n)
    rows = math.ceil(n / cols)
    return subplots(rows, cols, figsize=(max(3.1 * cols, 9), 2.9 * rows + 0.6), dpi=100, squeeze=False)


def style_panel(ax, title: str, ticks: tuple[float, ...]) -> None:
    """One style's panel: issue #13's limits (`ratio_margin_limits`, widened to show the dashed line), ``title``."""
    from matplotlib.ticker import MaxNLocator

    ratio_margin_limits(ax, ticks, show_limit=True)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=8)


def finish_style_panels(fig, axes, used: int, handles: list, path: Path) -> Path:
    """Axis labels on the outer panels, the panels past ``used`` hidden, one legend of ``handles`` under them all,
    the targets in the title; saved to ``path``."""
    for ax in axes.flat[used:]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("style loss ÷ Gatys'", fontsize=8)
    for ax in axes[-1, :]:
        ax.set_xlabel("SSIM − Gatys' SSIM", fontsize=8)
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
    fig.suptitle("Each style: issue #13's target lies below the dashed line (ratio 3) and right of the dotted one "
                 "(Gatys' SSIM)", fontsize=9)
    return save_figure(fig, path, rect=(0, 0.5 / fig.get_figheight(), 1, 0.96))  # the legend under the x labels


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    recs = per_style(rows)
    photo_rows = [r for r in rows if r["method"] == "gatys"]
    md = ["Each reference model's output against a Gatys result on the same photo and painting (default "
          "Gatys settings; steps and size in `run.json`), means over the photos. `style ÷ Gatys` is the "
          "issue's ratio (target ≤ 3 per style, ≤ 2 for the median style, at an SSIM ≥ Gatys'); `grid` is the "
          "4-px grid share (target ≤ 0.005; worst photo in brackets); `edge` is `border_line_contrast` "
          "(a line along the edges scores well above the photos' own rows).\n"]
    table = []
    for r in recs:
        ratio = r.get("ratio", float("nan"))
        table.append([r["model"], r["style"], f"{r['ff_style']:.3g}", f"{r.get('gatys_style', float('nan')):.3g}",
                      f"{ratio:.2f}", f"{r['ff_ssim']:.3f}", f"{r.get('gatys_ssim', float('nan')):.3f}",
                      f"{r['ff_color_swd']:.3f}", f"{r.get('gatys_color_swd', float('nan')):.3f}",
                      f"{r['ff_grid']:.4f} ({r['ff_grid_max']:.4f})", f"{r['ff_edge_contrast']:.2f}"])
    md.append(markdown_table(["model", "style", "style loss", "Gatys style loss", "style ÷ Gatys", "SSIM",
                              "Gatys SSIM", "palette SWD", "Gatys palette SWD", "grid (worst)", "edge"], table))
    targets = targets_table(recs)
    if targets:
        md.append(targets)
        if photo_rows:
            gatys_edge = np.mean([float(r["edge_contrast"]) for r in photo_rows])
            md.append(f"Gatys' own edge contrast on these photos: {gatys_edge:.2f}.\n")
    written: list[Path] = []
    photos = list(dict.fromkeys(r["photo"] for r in rows))
    size = int(run_config(out).get("size", 256))
    originals = {p: load_image(ROOT / "data/content/eval" / f"{p}.jpg", max_size=size) for p in photos}
    for style in dict.fromkeys(r["style"] for r in recs):
        models = [r["model"] for r in recs if r["style"] == style]
        index = {r["model"]: int(r["style_index"]) for r in rows if r["style"] == style and r["method"] != "gatys"}
        grid = []
        for p in photos:
            cells = [out / "cells" / f"{m}-{index[m]}-{p}.png" for m in models] + \
                [out / "cells" / f"gatys-{style}-{p}.png"]
            grid.append([originals[p]] + [load_image(c) if c.exists() else None for c in cells])
        if not any(c is not None for row in grid for c in row):
            continue
        sheet = labelled_grid(grid, ["photo", *models, "Gatys"], photos, cell=192,
                              column_images=[None] + [painting(style)] * (len(models) + 1))
        written.append(save_image(sheet, out / f"{style}.png"))
        md.append(f"\n### {painting_name(style)}\n\n![{painting_name(style)}: rows = photos; columns = each "
                  f"network's output, then Gatys']({style}.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def reads(cfg: dict) -> list[str]:
    return [reference_model(m) for m in cfg["models"]]


def item_reads(item: dict, cfg: dict) -> list[str]:
    """A network's rows read its model; Gatys' rows read none (a new model leaves them as they are)."""
    return [] if item["method"] == "gatys" else [reference_model(item["model"])]


EXPERIMENT = register(Experiment(
    name="fidelity",
    description="issue #13's targets: each reference model's styles against Gatys on the same photos",
    presets={"quick": {"models": ["johnson_great_wave"], "photos": ["skimage_chelsea"], "size": 64,
                       "gatys_steps": 2},
             "cpu": {"models": list(MODELS),
                     "photos": ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea", "kodak_kodim08"],
                     "size": 256, "gatys_steps": 300},
             "gpu": {"models": list(MODELS),
                     "photos": ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea", "kodak_kodim08",
                                "kodak_kodim13", "kodak_kodim22", "classic_boston",
                                "coco_val2017_000000000285"],
                     "size": 512, "gatys_steps": 300}},
    reads=reads, item_reads=item_reads,
    items=items, run_item=run_item, plot=plot))
