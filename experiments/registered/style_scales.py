"""Do the styles that come out as a tint take a larger style weight?  Per-style β for the Dumoulin model.

`results/fidelity` finds the Dumoulin model's worst ratios to Gatys on the paintings that come out as
a tint (Olive Orchard, Turner, Cézanne), and `results/fidelity_layers` shows why: the network lowers
every painting's style loss by a similar factor, Gatys lowers those far more.  Those styles also keep
the most SSIM above Gatys'.  Dumoulin et al. (2017) weight every style alike, and so does Magenta's
trainer by default; its ``--style_coefficients`` flag gives style k its own multiplier s_k of β, which is
`TrainConfig.style_scales` here (``nst train --style-scales``).

The ``scaled`` variant sets s_k = max(1, r_k / 3), r_k being style k's ratio in the committed
``results/fidelity`` run: each style is pushed by the factor by which it misses issue #13's ≤ 3.  The
``control`` variant fine-tunes with every s_k = 1 for the same iterations from the same seed, which
separates the scales from the extra training.  Both fine-tune the committed model (γ = 1e7, as it was
trained); the reference rows score it as committed.  Every style is scored on the fidelity run's
photos and size with the fixed evaluator, against that run's Gatys results (read from its
``raw.csv``: the same photos, painting, size and steps).
"""

from __future__ import annotations

import functools
import statistics
from pathlib import Path
from typing import Callable

import numpy as np

from experiments.provenance import rows_of
from experiments.registered import fidelity, recipe_study
from experiments.runner import (ROOT, Experiment, markdown_table, read_rows, register, run_config, run_config_commit,
                                save_figure, subplots)

MODEL = "results/models/dumoulin_8styles.nst"
METRICS = {"style": "style_loss", "ssim": "ssim", "color_swd": "color_swd", "grid": "grid"}  # evaluator key -> column
# (the item's own "style" is the painting's name)
TARGET = 3.0  # issue #13: style loss ≤ 3× Gatys' per style


def gatys_rows(cfg: dict) -> dict[tuple[str, str], dict]:
    """The Gatys rows of the source fidelity run, by (painting, photo); its size must be this run's."""
    source = ROOT / cfg["gatys_source"]
    size = run_config(source).get("size")
    if size != cfg["size"]:
        raise ValueError(f"{source} was run at {size} px, this preset scores at {cfg['size']} px")
    return {(r["style"], r["photo"]): r for r in read_rows(source / "raw.csv") if r["method"] == "gatys"}


def scales_from_ratios(styles: list[str], rows: list[dict], model: str, target: float = TARGET) -> list[float]:
    """s_k = max(1, r_k / target), r_k = mean network style loss ÷ mean Gatys' over the photos both have."""
    gatys = {(r["style"], r["photo"]): float(r["style_loss"]) for r in rows if r["method"] == "gatys"}
    out = []
    for style in styles:
        mine = [r for r in rows if r["model"] == model and r["style"] == style and (style, r["photo"]) in gatys]
        if not mine:
            out.append(1.0)
            continue
        ratio = np.mean([float(r["style_loss"]) for r in mine]) / np.mean([gatys[(style, r["photo"])] for r in mine])
        out.append(round(max(1.0, float(ratio) / target), 2))
    return out


@functools.lru_cache(maxsize=None)  # items, curves and plots ask again for the same committed file
def model_styles(model: str = MODEL) -> tuple[str, ...]:
    import nst

    return tuple(nst.load(ROOT / model).styles)


# Each variant fine-tunes the committed model with these changes to the preset's options: ``scales``
# sets s_k from the ratios (`scales_from_ratios`); the other keys are TrainConfig fields.  results/lr_decay
# runs the decaying ones.
#: the default recipe's four style layers plus relu4_1, the layer the evaluator's style loss is made of
WITH_RELU4_1 = {"style_layers": ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu4_1"),
                "style_layer_weights": (1e-4, 1e-4, 1e-4, 1e-4, 1e-5)}
VARIANTS: dict[str, dict] = {
    "control": {},
    "scaled": {"scales": True},
    "decayed": {"lr_schedule": "linear"},
    "decayed_low": {"lr_schedule": "linear", "learning_rate": 2e-4},
    "scaled_decayed": {"scales": True, "lr_schedule": "linear"},
    # ``decayed`` trained with the border `stylize` adds (results/train_border; resolved in `run_item`)
    "bordered": {"lr_schedule": "linear", "train_border": "stylize"},
    # ... and with a border around the whole picture: 16 px is the input border that hid the bare
    # networks' edge line where 4 and 8 left traces (results/border)
    "bordered_input": {"lr_schedule": "linear", "train_border": 16, "train_border_stage": "input"},
    # ``bordered`` with a loss network that reflects at every conv instead of padding zeros, so that a line
    # along the edge no longer buys style loss from the frame of the mean colour (results/vgg_padding)
    "bordered_reflect": {"lr_schedule": "linear", "train_border": "stylize", "vgg_padding": "reflect"},
    # ``scaled_decayed`` with twice the TV weight: TV moves the shallow layers' terms and the 4-px grid but
    # hardly the relu4_1 term that makes up the ratio to Gatys (results/style_balance, ``~G`` variants),
    # so it is the knob for ``scaled_decayed``'s grid share, over its target on some styles
    "scaled_decayed_tv2e7": {"scales": True, "lr_schedule": "linear", "tv_weight": 2e7},
    # ``decayed`` with a tenth of the TV weight: on the Johnson networks less TV brought the shallow layers'
    # terms (the fine strokes) close to Gatys' and left the ratio; does the Dumoulin model's grid allow it?
    "decayed_tv1e6": {"lr_schedule": "linear", "tv_weight": 1e6},
    # ``scaled_decayed`` with relu4_1 (w = 1e-5) added to the recipe's four style layers: relu4_1 is nearly all of
    # the evaluator's style loss and bought the Johnson networks the most style per SSIM (results/style_balance),
    # and the Dumoulin model's tint styles keep the largest SSIM margins over Gatys'
    "scaled_decayed_relu4_1": {"scales": True, "lr_schedule": "linear", **WITH_RELU4_1},
    # ... and without the per-style β, which separates what relu4_1 buys from what the scales buy
    "decayed_relu4_1": {"lr_schedule": "linear", **WITH_RELU4_1},
}


def items(cfg: dict) -> list[dict]:
    out = [{"id": f"train/{v}", "kind": "train", "variant": v} for v in cfg["variants"]]
    out += [{"id": f"{v}/{s}", "kind": "score", "variant": v, "style": s, "style_index": k}
            for v in ["reference", *cfg["variants"]] for k, s in enumerate(model_styles())]
    return out


def model_file(out: Path, variant: str, model: str = MODEL) -> Path:
    """Where a fine-tune of ``model`` is saved: ``models/STEM_VARIANT.nst``."""
    return out / "models" / f"{Path(model).stem}_{variant}.nst"


def history_name(variant: str, model: str = MODEL) -> str:
    """A fine-tune's history file stem: the variant's name for the Dumoulin model, ``STEM_VARIANT`` for others."""
    return variant if model == MODEL else f"{Path(model).stem}_{variant}"


def load_variant(cache: dict, variant: str, model: str = MODEL):
    """The committed ``model`` (``reference``) or its ``variant`` fine-tune from this run, loaded once."""
    import nst

    key = f"model:{model}:{variant}"
    if key not in cache:
        cache[key] = nst.load(ROOT / model if variant == "reference" else model_file(cache["out"], variant, model))
    return cache[key]


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    out = cache["out"]
    model = item.get("model", MODEL)  # the Dumoulin model's items name none
    if item["kind"] == "train":
        ref = load_variant(cache, "reference", model)
        changes = dict(VARIANTS[item["variant"]])
        scales = (scales_from_ratios(ref.styles, read_rows(ROOT / cfg["gatys_source"] / "raw.csv"), Path(model).stem)
                  if changes.pop("scales", False) else [1.0] * ref.num_styles)
        options = {"learning_rate": cfg["learning_rate"], "lr_schedule": "constant", "tv_weight": cfg["tv_weight"],
                   **changes}
        if options.get("train_border") == "stylize":
            from nst.core.networks import STYLIZE_BORDER, STYLIZE_BORDER_STAGE

            options.update(train_border=STYLIZE_BORDER, train_border_stage=STYLIZE_BORDER_STAGE)
        styles = [ROOT / "data" / "styles" / f"{s}.jpg" for s in ref.styles]
        tuned = ref.fine_tune(styles, ROOT / "data" / "content" / "train", cfg["iterations"], verbose=False,
                              style_scales=tuple(scales), batch_size=cfg["batch_size"], image_size=cfg["image_size"],
                              seed=0, checkpoint_every=10**9, **options)
        tuned.save(model_file(out, item["variant"], model))
        from nst.methods.training import write_history_csv

        write_history_csv(tuned.history, out / "histories" / history_name(item["variant"], model))  # NAME.loss.csv
        return {"style_scales": " ".join(f"{s:g}" for s in scales), "lr_schedule": options["lr_schedule"],
                "learning_rate": options["learning_rate"], **recipe_study.training_columns(tuned)}
    from nst.evaluate import Evaluator
    from nst.io.images import load_image, save_image

    ev = cache.setdefault("evaluator", Evaluator.create())
    stylizer = load_variant(cache, item["variant"], model)
    gatys = cache.setdefault("gatys", gatys_rows(cfg))
    style = load_image(ROOT / "data" / "styles" / f"{item['style']}.jpg")
    scores, ratios_of = [], []
    for photo_name in cfg["photos"]:
        photo = load_image(ROOT / "data/content/eval" / f"{photo_name}.jpg", max_size=cfg["size"])
        result = stylizer.stylize(photo, style=int(item["style_index"]))
        save_image(result, out / "cells" / f"{history_name(item['variant'], model)}-{item['style']}-{photo_name}.png")
        scores.append(ev(result, photo, style))
        ratios_of.append(gatys.get((item["style"], photo_name)))
    row = {col: float(np.mean([s[m] for s in scores])) for m, col in METRICS.items()}
    if all(g is not None for g in ratios_of):
        row["gatys_style"] = float(np.mean([float(g["style_loss"]) for g in ratios_of]))
        row["gatys_ssim"] = float(np.mean([float(g["ssim"]) for g in ratios_of]))
        row["ratio"] = row["style_loss"] / row["gatys_style"]
    return row


def training_curves(out: Path, variants: list[str], window: int, filename: str = "training_loss.png",
                    title: str = "training loss on the same batches (scaled variants weight the style term more)",
                    ) -> Path | None:
    """Each variant's training loss against iteration, a running mean over ``window`` iterations (log scale).

    ``variants`` are history names (`history_name`).  Every variant of one model draws the same photos, crops
    and styles at each iteration (the same seed), so its curves differ only by the variant's options.
    """
    from nst.methods.training import read_history

    found = [(v, read_history(out / "histories" / v)) for v in variants
             if (out / "histories" / f"{v}.loss.csv").exists()]
    if not found:
        return None
    fig, ax = subplots(figsize=(8, 3.6), dpi=100)
    window = min([window] + [len(h) for _, h in found])
    kernel = np.ones(window) / window
    for v, h in found:
        ax.plot(h[window - 1:, 0], np.convolve(h[:, 1], kernel, mode="valid"), label=v, lw=1.2)
    ax.set_yscale("log")
    ax.set_xlabel("fine-tune iteration")
    ax.set_ylabel(f"training loss, mean of {window}")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return save_figure(fig, out / filename)


def schedule(row: dict | None, cfg: dict) -> str:
    """A fine-tune's learning rate as the summary shows it: ``0.001``, ``0.001 → 0 (linear)``.

    Rows written before the variants could change it ran the preset's constant rate."""
    if not row:
        return "—"
    eta = float(row.get("learning_rate") or cfg["learning_rate"])
    kind = row.get("lr_schedule") or "constant"
    return f"{eta:g}" if kind == "constant" else f"{eta:g} → 0 ({kind})"


def rated(scored: dict, variant: str, styles: list[str]) -> list[tuple[str, dict]]:
    """``(style, row)`` for each style of ``variant`` that has a ratio to Gatys, in ``styles`` order."""
    return [(s, scored[(variant, s)]) for s in styles
            if (variant, s) in scored and scored[(variant, s)].get("ratio") not in (None, "")]


def intro(cfg: dict) -> str:
    source = cfg.get("gatys_source", "results/fidelity")
    return (f"The committed Dumoulin model (`reference`) and two fine-tunes of it for {cfg.get('iterations')} iterations "
            f"(batch {cfg.get('batch_size')}, same seed, γ = {cfg.get('tv_weight'):g}): `control` with every style's β as "
            "trained, `scaled` with β × s_k for style k, s_k = max(1, ratio ÷ 3) from the committed fidelity run. "
            f"Scored on {', '.join(cfg.get('photos', []))} at {cfg.get('size')} px against the Gatys results of "
            f"`{source}` (commit {run_config_commit(ROOT / source)}). Regenerate with "
            "`python -m experiments run style_scales --preset cpu`.\n")


def plot(rows: list[dict], out: Path, describe: Callable[[dict], str] = intro) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    cfg = run_config(out)
    variants = ["reference", *[r["variant"] for r in rows if r.get("kind") == "train"]]
    trained = {r["variant"]: r for r in rows if r.get("kind") == "train"}
    scored = {(r["variant"], r["style"]): r for r in rows if r.get("kind") == "score"}
    styles = list(dict.fromkeys(r["style"] for r in rows if r.get("kind") == "score"))
    source = cfg.get("gatys_source", "results/fidelity")
    md = [describe(cfg)]
    if "scaled" in trained:
        scales = trained["scaled"]["style_scales"].split()
        md.append("s_k per style: " + ", ".join(f"{s} {v}" for s, v in zip(styles, scales)) + ".\n")
    header = ["style", "Gatys SSIM"] + [f"{v} {c}" for v in variants for c in ("÷ Gatys", "SSIM")] + \
        [f"{v} grid" for v in variants]
    table = []
    for s in styles:
        first = scored.get((variants[0], s), {})
        line = [s, f"{float(first['gatys_ssim']):.3f}" if first.get("gatys_ssim") not in (None, "") else "—"]
        for v in variants:
            r = scored.get((v, s), {})
            line += [f"{float(r['ratio']):.2f}" if r.get("ratio") not in (None, "") else "—",
                     f"{float(r['ssim']):.3f}" if r else "—"]
        line += [f"{float(scored[(v, s)]['grid']):.4f}" if (v, s) in scored else "—" for v in variants]
        table.append(line)
    md.append(markdown_table(header, table))
    summary_rows = []
    for v in variants:
        mine = [r for _, r in rated(scored, v, styles)]
        if not mine:
            continue
        ratios = [float(r["ratio"]) for r in mine]
        summary_rows.append([v, f"{max(ratios):.2f}", f"{statistics.median(ratios):.2f}",
                             f"{sum(float(r['ssim']) >= float(r['gatys_ssim']) for r in mine)} of {len(mine)}",
                             f"{max(float(r['grid']) for r in mine):.4f}",
                             schedule(trained.get(v), cfg),
                             f"{float(trained[v]['train_loss']):.4g}" if v in trained else "—",
                             f"{float(trained[v]['train_seconds']):.0f}" if v in trained else "—"])
    if summary_rows:
        md += ["\nIssue #13's targets per variant (≤ 3 per style, median ≤ 2, SSIM ≥ Gatys', grid ≤ 0.005):\n",
               markdown_table(["variant", "worst ÷ Gatys", "median ÷ Gatys", "styles with SSIM ≥ Gatys'",
                               "worst grid", "learning rate", "training loss, last 20", "fine-tune s"],
                              summary_rows)]
    written: list[Path] = []
    if styles and any(scored.get((v, styles[0])) for v in variants):
        fig, ax = subplots(figsize=(9, 4.2), dpi=100)
        for s in styles:  # each style's path from the reference model through the fine-tunes
            path = [r for v in variants for _, r in rated(scored, v, [s])]
            ax.plot([float(r["ssim"]) - float(r["gatys_ssim"]) for r in path], [float(r["ratio"]) for r in path],
                    color="0.8", lw=0.8, zorder=0)
        for v, marker in zip(variants, "Dos^vPX"):
            pts = [(float(r["ssim"]) - float(r["gatys_ssim"]), float(r["ratio"]), s) for s, r in rated(scored, v, styles)]
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, label=v)
            if v == variants[-1]:
                for x, y, s in pts:
                    ax.annotate(s, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        fidelity.ratio_margin_axes(ax, "each style of the Dumoulin model")
        written.append(save_figure(fig, out / "trade_off.png"))
        md.append("\n![each style: style ÷ Gatys against the SSIM margin](trade_off.png)\n")
        photo_name = cfg["photos"][0]
        photo = load_image(ROOT / "data/content/eval" / f"{photo_name}.jpg", max_size=cfg["size"])
        grid = []
        for s in styles:
            g = ROOT / source / "cells" / f"gatys-{s}-{photo_name}.png"
            cells = [out / "cells" / f"{v}-{s}-{photo_name}.png" for v in variants]
            grid.append([photo, load_image(g) if g.exists() else None] +
                        [load_image(c) if c.exists() else None for c in cells])
        sheet = labelled_grid(grid, ["photo", "Gatys", *variants], [painting_name(s) for s in styles], cell=160)
        written.append(save_image(sheet, out / "outputs.png"))
        md.append(f"\n![{photo_name} in every style: Gatys, then each variant](outputs.png)\n")
    curves = training_curves(out, variants, window=25)
    if curves is not None:
        written.append(curves)
        md.append("\n![training loss of each fine-tune, on the same batches](training_loss.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


PHOTOS = ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea", "kodak_kodim08"]  # the fidelity run's

def reads(cfg: dict) -> list[str]:
    return [MODEL, cfg["gatys_source"]]


def variant_reads(variant: str, model: str, cfg: dict) -> list[str]:
    """What a fine-tune of ``model`` (``reference``: the model as committed) depends on: the model, and for the
    ``scales`` variants the Gatys and ``model`` rows of the fidelity run its s_k come from."""
    if variant == "reference":
        return [model]
    source = cfg.get("gatys_source", "results/fidelity")
    scaled = [rows_of(source, method="gatys"), rows_of(source, model=Path(model).stem)]
    return [model, *(scaled if VARIANTS[variant].get("scales") else [])]


def item_outputs(item: dict, cfg: dict, out: Path) -> list[Path]:
    """A fine-tune's model file, which its scores and other pages' passes load (git ignores it)."""
    return [model_file(out, item["variant"], item.get("model", MODEL))] if item["kind"] == "train" else []


def item_reads(item: dict, cfg: dict) -> list[str]:
    """A fine-tune reads its model (`variant_reads`); a score reads its fine-tune's inputs and the Gatys rows of its
    painting.  So a new Dumoulin model leaves the Johnson networks' rows of `lr_decay` and `train_border` as
    they are, and the other way round."""
    model = item.get("model", MODEL)
    own = variant_reads(item["variant"], model, cfg)
    if item["kind"] == "score":
        return [*own, rows_of(cfg.get("gatys_source", "results/fidelity"), method="gatys", style=item["style"])]
    return own


EXPERIMENT = register(Experiment(
    name="style_scales",
    description="a β multiplier per style for the Dumoulin model: do the tint styles take more style?",
    presets={"quick": {"variants": ["control", "scaled"], "iterations": 1, "batch_size": 1, "image_size": 32,
                       "tv_weight": 1e7, "learning_rate": 1e-3, "photos": ["skimage_chelsea"], "size": 64,
                       "gatys_source": "results/fidelity"},
             "cpu": {"variants": ["control", "scaled"], "iterations": 300, "batch_size": 2, "image_size": 256,
                     "tv_weight": 1e7, "learning_rate": 1e-3, "photos": PHOTOS, "size": 256,
                     "gatys_source": "results/fidelity"},
             "gpu": {"variants": ["control", "scaled"], "iterations": 4000, "batch_size": 8, "image_size": 256,
                     "tv_weight": 1e7, "learning_rate": 1e-3, "photos": PHOTOS, "size": 256,
                     "gatys_source": "results/fidelity"}},
    reads=reads, item_reads=item_reads, item_outputs=item_outputs,
    items=items, run_item=run_item, plot=plot))
