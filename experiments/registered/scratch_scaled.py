"""Trained from scratch with per-style weights, relu4_1 and a decaying rate: issue #13's targets again.

Four CPU studies each moved the reference models some way towards Gatys' style: a style weight per
painting (`style_scales`, Magenta's ``--style_coefficients``), relu4_1 added to the style layers
(`scratch_relu4_1`, `style_balance`), and a learning rate that decays to 0 (`lr_decay`).  One GPU
session trained all three networks from scratch with the three together
(``experiments/scripts/gpu_reference_run.sh`` with ``RECIPE=dumoulin2017 TV=1e7 LR_SCHEDULE=linear
STYLE_LAYERS=relu1_2,relu2_2,relu3_3,relu4_3,relu4_1 STYLE_LAYER_WEIGHTS=1e-4,1e-4,1e-4,1e-4,1e-5``, and
for the Dumoulin network ``STYLE_SCALES`` = max(1, ratio ÷ 3) from the committed fidelity run; the
record of both device calls: ``results/models/scratch_scaled/gpu_run.txt``).

Each network is scored exactly as `fidelity` scores the reference models, on the same photos at the
same size, against the Gatys rows of the ``gatys_source`` run (``results/fidelity``: Gatys is not run
again), and beside that run's rows of the reference models.  ``interpolated_ratio`` says where the
straight line between a style's two networks in (SSIM, log ratio) crosses Gatys' SSIM: an estimate of
what a style weight between the two would reach, not a measured network.
"""

from __future__ import annotations

import math
from pathlib import Path

from experiments.registered import fidelity
from experiments.runner import ROOT, Experiment, markdown_table, read_rows, register, run_config, save_figure, subplots

MODELS_DIR = Path("results/models/scratch_scaled")
PHOTOS = ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea", "kodak_kodim08"]  # the fidelity run's


def source_rows(cfg: dict) -> list[dict]:
    """The rows of the ``gatys_source`` fidelity run on this preset's photos; its size must be this run's."""
    source = ROOT / cfg["gatys_source"]
    size = run_config(source).get("size")
    if size != cfg["size"]:
        raise ValueError(f"{source} was run at {size} px, this preset scores at {cfg['size']} px")
    return [r for r in read_rows(source / "raw.csv") if r["photo"] in cfg["photos"]]


def items(cfg: dict) -> list[dict]:
    source_rows(cfg)  # a source at another size fails here, before any network runs
    return [{"id": f"{m}-{k}-{p}", "method": "feedforward", "model": m, "style_index": k, "style": s, "photo": p}
            for m, k, s in fidelity.model_styles(cfg, MODELS_DIR) for p in cfg["photos"]]


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    return fidelity.run_item(item, cfg, cache, MODELS_DIR)


def interpolated_ratio(ssim_a: float, ratio_a: float, ssim_b: float, ratio_b: float, ssim_at: float) -> float | None:
    """The style ratio where the line through (SSIM, log ratio) of two networks meets ``ssim_at``:
    log r = log r_a + t (log r_b − log r_a), t = (s_a − s_at) ÷ (s_a − s_b); ``None`` unless ``ssim_at``
    lies between the two SSIMs (no extrapolation)."""
    if not min(ssim_a, ssim_b) <= ssim_at <= max(ssim_a, ssim_b) or ssim_a == ssim_b:
        return None
    t = (ssim_a - ssim_at) / (ssim_a - ssim_b)
    return math.exp(math.log(ratio_a) + t * (math.log(ratio_b) - math.log(ratio_a)))


def compared(rows: list[dict], source: list[dict]) -> list[dict]:
    """Per (model, style): this run's `fidelity.per_style` record, with the reference model's ratio and SSIM
    from ``source`` and the interpolated ratio at Gatys' SSIM."""
    gatys = [r for r in source if r["method"] == "gatys"]
    reference = {(r["model"], r["style"]): r for r in fidelity.per_style(source)}
    out = []
    for rec in fidelity.per_style(rows + gatys):
        ref = reference.get((rec["model"], rec["style"]))
        if ref is not None and "ratio" in ref and "ratio" in rec:
            rec = {**rec, "ref_ratio": ref["ratio"], "ref_ssim": ref["ff_ssim"],
                   "at_gatys_ssim": interpolated_ratio(ref["ff_ssim"], ref["ratio"], rec["ff_ssim"], rec["ratio"],
                                                       rec["gatys_ssim"])}
        out.append(rec)
    return out


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    cfg = run_config(out)
    source = source_rows(cfg)
    recs = compared(rows, source)
    md = [f"Each network {MODELS_DIR.as_posix()}/ holds (trained from scratch on a GPU: relu4_1 added at w = 1e-5, "
          "a learning rate decaying linearly to 0, γ = 1e7, and for the Dumoulin network a style weight per painting) "
          f"scored as `results/fidelity` scores the reference models, against that run's Gatys rows on the same "
          f"photos ({', '.join(cfg['photos'])}; {cfg['size']} px), means over the photos. `reference` is the "
          f"committed model's row in `{cfg['gatys_source']}`. `at Gatys' SSIM` is where the line between the two "
          "networks in (SSIM, log ratio) crosses Gatys' SSIM: an estimate of what a style weight between them "
          "would give, not a network anyone trained (— where Gatys' SSIM is not between the two). "
          "Regenerate with `python -m experiments run scratch_scaled --preset cpu`.\n"]
    table = []
    for r in recs:
        est = r.get("at_gatys_ssim")
        table.append([r["model"], r["style"], f"{r.get('gatys_ssim', float('nan')):.3f}",
                      f"{r.get('ref_ratio', float('nan')):.2f}", f"{r.get('ref_ssim', float('nan')):.3f}",
                      f"{r.get('ratio', float('nan')):.2f}", f"{r['ff_ssim']:.3f}",
                      f"{r['ff_grid']:.4f} ({r['ff_grid_max']:.4f})", f"{r['ff_edge_contrast']:.2f}",
                      "—" if est is None else f"{est:.2f}"])
    md.append(markdown_table(["model", "style", "Gatys SSIM", "reference ÷ Gatys", "reference SSIM", "new ÷ Gatys",
                              "new SSIM", "new grid (worst)", "new edge", "÷ Gatys at Gatys' SSIM (interpolated)"],
                             table))
    targets = fidelity.targets_table(recs)
    if targets:
        md.append("\nIssue #13's targets, this run's networks:\n" + targets)
    reference = fidelity.targets_table(fidelity.per_style(source))
    if reference:
        md.append(f"\nThe same targets, the reference models (`{cfg['gatys_source']}`):\n" + reference)
    written: list[Path] = []
    pairs = [r for r in recs if "ref_ratio" in r]
    if pairs:
        fig, ax = subplots(figsize=(9, 4.6), dpi=100)
        for r in pairs:
            x0, y0 = r["ref_ssim"] - r["gatys_ssim"], r["ref_ratio"]
            x1, y1 = r["ff_ssim"] - r["gatys_ssim"], r["ratio"]
            ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "color": "0.6", "lw": 0.8})
            ax.annotate(f"{r['model'].split('_')[0]}: {r['style']}", (x1, y1), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")
        ax.scatter([r["ref_ssim"] - r["gatys_ssim"] for r in pairs], [r["ref_ratio"] for r in pairs], marker="D",
                   color="k", label="reference model")
        ax.scatter([r["ff_ssim"] - r["gatys_ssim"] for r in pairs], [r["ratio"] for r in pairs], marker="o",
                   color="tab:blue", label="trained from scratch, this run")
        ax.axhline(fidelity.STYLE_RATIO_MAX, color="0.5", ls="--", lw=0.8)
        ax.axvline(0, color="0.5", ls=":", lw=0.8)
        ax.set_yscale("log")
        low, high = ax.get_ylim()
        ticks = [t for t in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32) if low <= t <= high]
        ax.set_yticks(ticks, [str(t) for t in ticks])
        ax.set_yticks([], minor=True)
        ax.set_xlabel("SSIM − Gatys' SSIM (≥ 0 keeps as much of the photo as Gatys)")
        ax.set_ylabel("style loss ÷ Gatys'")
        ax.set_title("each style, reference model → this run (target: below the dashed line, right of the dotted one)",
                     fontsize=9)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        written.append(save_figure(fig, out / "trade_off.png"))
        md.append("\n![each style: style ÷ Gatys against the SSIM margin, reference → this run](trade_off.png)\n")
    source_cells = ROOT / cfg["gatys_source"] / "cells"
    for photo_name in cfg["photos"][:2]:  # two sheets: `results/fidelity` has every photo, one sheet per painting
        photo = load_image(ROOT / "data/content/eval" / f"{photo_name}.jpg", max_size=cfg["size"])
        grid, labels = [], []
        for r in recs:
            k = next(int(x["style_index"]) for x in rows if x["model"] == r["model"] and x["style"] == r["style"])
            cells = [source_cells / f"gatys-{r['style']}-{photo_name}.png",
                     source_cells / f"{r['model']}-{k}-{photo_name}.png", out / "cells" / f"{r['model']}-{k}-{photo_name}.png"]
            grid.append([photo] + [load_image(c) if c.exists() else None for c in cells])
            labels.append(f"{r['model'].split('_')[0]}: {painting_name(r['style'])}")
        sheet = labelled_grid(grid, ["photo", "Gatys", "reference", "this run"], labels, cell=160)
        written.append(save_image(sheet, out / f"outputs_{photo_name}.png"))
        md.append(f"\n![{photo_name} in every style: Gatys, the reference model, this run's network]"
                  f"(outputs_{photo_name}.png)\n")
    md.append(training_table(cfg))
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def training_table(cfg: dict) -> str:
    """How each network was trained, from its model file's metadata (and the loss curves beside it)."""
    import nst

    lines = []
    for name in cfg["models"]:
        model = nst.load(ROOT / MODELS_DIR / f"{name}.nst")
        t = model.meta["training"]
        scales = t.get("style_scales") or []
        lines.append([name, str(model.meta["iterations"]), str(t["batch_size"]), model.meta["backend"],
                      t.get("lr_schedule", "constant"),
                      ", ".join(f"{n} ({w:g})" for n, w in zip(t["style_layers"], t["style_layer_weights"])),
                      f"{t['tv_weight']:g}", " ".join(f"{s:g}" for s in scales) or "1",
                      f"{float(model.meta['training_seconds']):.0f}",
                      f"[curve](../../{MODELS_DIR.as_posix()}/{name}.loss.png)"])
    return ("\n## How each network was trained\n\nFrom the model files' metadata (the device calls' record: "
            f"`{MODELS_DIR.as_posix()}/gpu_run.txt`).\n\n" +
            markdown_table(["model", "iterations", "batch", "backend", "learning rate", "style layers (w_ℓ)", "γ",
                            "style scales", "training s", "loss"], lines))


def reads(cfg: dict) -> list[str]:
    return [*(str(MODELS_DIR / f"{m}.nst") for m in cfg["models"]), cfg["gatys_source"]]


def item_reads(item: dict, cfg: dict) -> list[str]:
    return [str(MODELS_DIR / f"{item['model']}.nst")]


EXPERIMENT = register(Experiment(
    name="scratch_scaled",
    description="the three networks trained from scratch with per-style weights, relu4_1 and a decaying rate, "
                "scored as fidelity scores the reference models",
    presets={"quick": {"models": ["johnson_great_wave"], "photos": ["skimage_chelsea"], "size": 64,
                       "gatys_source": "results/fidelity"},
             "cpu": {"models": list(fidelity.MODELS), "photos": PHOTOS, "size": 256,
                     "gatys_source": "results/fidelity"},
             "gpu": {"models": list(fidelity.MODELS), "photos": PHOTOS, "size": 256,
                     "gatys_source": "results/fidelity"}},
    reads=reads, item_reads=item_reads,
    items=items, run_item=run_item, plot=plot))
