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

Where a new network keeps SSIM to spare, ``push`` measures instead of interpolating: that network
fine-tuned on the CPU from where the GPU left it, with its own training settings (relu4_1, the
decaying rate, γ) but the style weight × K, for ``push_iterations`` at batch ``push_batch`` and rate
``push_lr`` (the fine-tunes of `lr_decay` start as low), and scored the same way.
"""

from __future__ import annotations

import math
from pathlib import Path

from experiments.registered import fidelity
from experiments.runner import ROOT, Experiment, markdown_table, read_rows, register, run_config, save_figure, subplots

MODELS_DIR = Path("results/models/scratch_scaled")
PHOTOS = ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea", "kodak_kodim08"]  # the fidelity run's
#: the one network this run left with SSIM above Gatys' (Great Wave, Johnson), pushed towards style on the CPU
PUSH = {"push": {"johnson_great_wave": [2, 4]}, "push_iterations": 300, "push_batch": 2, "push_image_size": 256,
        "push_lr": 2e-4}


def source_rows(cfg: dict) -> list[dict]:
    """The rows of the ``gatys_source`` fidelity run on this preset's photos; its size must be this run's."""
    source = ROOT / cfg["gatys_source"]
    size = run_config(source).get("size")
    if size != cfg["size"]:
        raise ValueError(f"{source} was run at {size} px, this preset scores at {cfg['size']} px")
    return [r for r in read_rows(source / "raw.csv") if r["photo"] in cfg["photos"]]


def pushed_name(model: str, factor: float) -> str:
    """The fine-tune of ``model`` with the style weight × ``factor`` (``johnson_great_wave_x2``: no glob
    characters, since the name becomes file names)."""
    return f"{model}_x{factor:g}"


def items(cfg: dict) -> list[dict]:
    source_rows(cfg)  # a source at another size fails here, before any network runs
    styles = fidelity.model_styles(cfg, MODELS_DIR)
    out = [{"id": f"{m}-{k}-{p}", "method": "feedforward", "model": m, "style_index": k, "style": s, "photo": p}
           for m, k, s in styles for p in cfg["photos"]]
    for base, factors in cfg.get("push", {}).items():
        out += [{"id": f"{pushed_name(m, f)}-{k}-{p}", "method": "feedforward", "model": pushed_name(m, f),
                 "base": m, "factor": f, "style_index": k, "style": s, "photo": p}
                for f in factors for m, k, s in styles if m == base for p in cfg["photos"]]
    return out


def pushed_file(out: Path, item: dict) -> Path:
    return out / "models" / f"{item['model']}.nst"


def pushed(item: dict, cfg: dict, cache: dict):
    """The fine-tune an item scores: loaded if an earlier item of the run saved it, else trained and saved."""
    import nst

    key = f"model:{item['model']}"
    if key not in cache:
        path = pushed_file(cache["out"], item)
        if path.exists():
            cache[key] = nst.load(path)
        else:
            base = nst.load(ROOT / MODELS_DIR / f"{item['base']}.nst")
            styles = [ROOT / "data/styles" / f"{s}.jpg" for s in base.styles]
            tuned = base.fine_tune(styles, None, cfg["push_iterations"], verbose=False,
                                   style_weight=base.meta["training"]["style_weight"] * float(item["factor"]),
                                   batch_size=cfg["push_batch"], image_size=cfg["push_image_size"],
                                   learning_rate=cfg["push_lr"], seed=0, checkpoint_every=10**9)
            tuned.save(path)
            cache[key] = tuned
    return cache[key]


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    if "base" not in item:
        return fidelity.run_item(item, cfg, cache, MODELS_DIR)
    model = pushed(item, cfg, cache)  # fidelity.run_item takes the network from the cache
    return {**fidelity.run_item(item, cfg, cache, MODELS_DIR), "train_seconds": model.meta["training_seconds"],
            "iterations": model.meta["iterations"]}


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
    recs = compared([r for r in rows if "base" not in r], source)
    gatys = [r for r in source if r["method"] == "gatys"]
    pushes = fidelity.per_style([r for r in rows if "base" in r] + gatys)
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
    if pushes:
        new = {(r["model"], r["style"]): r for r in recs}
        info = {r["model"]: r for r in rows if "base" in r}
        md.append(f"\n## Pushed further on the CPU\n\nThis run's network fine-tuned from where the GPU left it with "
                  f"the style weight × K ({cfg['push_iterations']} iterations, batch {cfg['push_batch']}, "
                  f"{cfg['push_image_size']}-px crops, learning rate {cfg['push_lr']:g} decaying linearly to 0, "
                  "its other training settings unchanged), scored the same way:\n")
        lines = []
        for r in pushes:
            base = new.get((info[r["model"]]["base"], r["style"]), {})
            lines.append([r["model"], r["style"], f"{r.get('gatys_ssim', float('nan')):.3f}",
                          f"{base.get('ratio', float('nan')):.2f}", f"{base.get('ff_ssim', float('nan')):.3f}",
                          f"{r.get('ratio', float('nan')):.2f}", f"{r['ff_ssim']:.3f}",
                          f"{r['ff_grid']:.4f} ({r['ff_grid_max']:.4f})",
                          f"{float(info[r['model']]['train_seconds']):.0f}"])
        md.append(markdown_table(["network", "style", "Gatys SSIM", "new ÷ Gatys", "new SSIM", "pushed ÷ Gatys",
                                  "pushed SSIM", "pushed grid (worst)", "CPU fine-tune s"], lines))
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
        if pushes:
            ax.scatter([r["ff_ssim"] - r["gatys_ssim"] for r in pushes], [r["ratio"] for r in pushes], marker="s",
                       color="tab:green", label="this run's network pushed on the CPU (style weight × K)")
            for r in pushes:
                ax.annotate(f"×{float(info[r['model']]['factor']):g}", (r["ff_ssim"] - r["gatys_ssim"], r["ratio"]),
                            fontsize=6, xytext=(3, -9), textcoords="offset points")
        fidelity.ratio_margin_axes(ax, "each style, reference model → this run")
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
                      f"`{name}.loss.png`"])
    return ("\n## How each network was trained\n\nFrom the model files' metadata (the device calls' record: "
            f"`{MODELS_DIR.as_posix()}/gpu_run.txt`; each training loss curve beside its model there).\n\n" +
            markdown_table(["model", "iterations", "batch", "backend", "learning rate", "style layers (w_ℓ)", "γ",
                            "style scales", "training s", "loss curve"], lines))


def reads(cfg: dict) -> list[str]:
    return [*(str(MODELS_DIR / f"{m}.nst") for m in cfg["models"]), cfg["gatys_source"]]


def item_reads(item: dict, cfg: dict) -> list[str]:
    return [str(MODELS_DIR / f"{item.get('base', item['model'])}.nst")]


def item_outputs(item: dict, cfg: dict, out: Path) -> list[Path]:
    """A pushed network's file (git-ignored), which the run's later items of that network load."""
    return [pushed_file(out, item)] if "base" in item else []


EXPERIMENT = register(Experiment(
    name="scratch_scaled",
    description="the three networks trained from scratch with per-style weights, relu4_1 and a decaying rate, "
                "scored as fidelity scores the reference models",
    presets={"quick": {"models": ["johnson_great_wave"], "photos": ["skimage_chelsea"], "size": 64,
                       "gatys_source": "results/fidelity", "push": {"johnson_great_wave": [2]},
                       "push_iterations": 2, "push_batch": 1, "push_image_size": 32, "push_lr": 2e-4},
             "cpu": {"models": list(fidelity.MODELS), "photos": PHOTOS, "size": 256,
                     "gatys_source": "results/fidelity", **PUSH},
             "gpu": {"models": list(fidelity.MODELS), "photos": PHOTOS, "size": 256,
                     "gatys_source": "results/fidelity", **PUSH}},
    reads=reads, item_reads=item_reads, item_outputs=item_outputs,
    items=items, run_item=run_item, plot=plot))
