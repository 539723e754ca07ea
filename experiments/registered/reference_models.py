"""The committed reference models on every evaluation photo: does each style carry, and how clean is it?

One item per (model, style): the model stylizes every evaluation photo at ``size`` px (long side),
and the fixed evaluator scores each output (style and content losses, luminance SSIM, palette
distance) together with ``grid``, the share of the output's spectral power on a 4-px grid
(`nst.evaluate.grid_artifact_energy`) — the dotted texture the issue asks the models to be free of.
A ``photo`` item scores the photos themselves, the baseline for ``grid``.  Writes one contact
sheet per model (rows = photos, columns = styles).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.provenance import reference_model
from experiments.runner import ROOT, Experiment, markdown_table, painting, register

MODELS = ("johnson_starry_night", "johnson_great_wave", "dumoulin_8styles")
METRICS = {"style": "style_loss", "content": "content_loss", "ssim": "ssim", "color_swd": "color_swd",
           "grid": "grid"}  # evaluator key -> column (the item's own "style" is the style's name)


def _contents(cfg: dict) -> list[Path]:
    files = sorted((ROOT / "data/content/eval").glob("*.jpg"))
    return files[: cfg["max_contents"]] if cfg.get("max_contents") else files


def items(cfg: dict) -> list[dict]:
    import nst

    out = [{"id": "photo", "model": "photo", "style_index": -1, "style": "none"}]
    for name in cfg["models"]:
        model = nst.load(ROOT / "results/models" / f"{name}.nst")
        out += [{"id": f"{name}-{k}", "model": name, "style_index": k, "style": s}
                for k, s in enumerate(model.styles)]
    return out


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    import nst
    from nst.evaluate import Evaluator, grid_artifact_energy
    from nst.io.images import load_image, save_image

    ev = cache.setdefault("evaluator", Evaluator.create())
    photos = cache.setdefault("photos", [load_image(p, max_size=cfg["size"]) for p in _contents(cfg)])
    if item["model"] == "photo":
        return {"grid": float(np.mean([grid_artifact_energy(p) for p in photos])), "photos": len(photos)}
    key = f"model:{item['model']}"
    if key not in cache:
        cache[key] = nst.load(ROOT / "results/models" / f"{item['model']}.nst")
    model = cache[key]
    style = load_image(ROOT / "data/styles" / f"{item['style']}.jpg")
    scores = []
    for k, photo in enumerate(photos):
        out = model.stylize(photo, style=int(item["style_index"]))
        scores.append(ev(out, photo, style))
        save_image(out, cache["out"] / "cells" / f"{item['id']}-{k}.png")
    from nst.methods.training import describe_training, training_stages

    stages = training_stages(model.meta)
    return {**{col: float(np.mean([s[m] for s in scores])) for m, col in METRICS.items()},
            "grid_max": float(np.max([s["grid"] for s in scores])), "photos": len(photos),
            "iterations": sum(int(st.get("iterations") or 0) for st in stages),
            "training": describe_training(model.meta),
            "training_seconds": sum(float(st.get("training_seconds", 0)) for st in stages)}


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    photo = next((r for r in rows if r["model"] == "photo"), None)
    sel = [r for r in rows if r["model"] != "photo"]
    md = ["Every style of every committed reference model on the evaluation photos; evaluator metrics "
          "averaged over the photos (style/content: lower is closer to the painting / the photo; SSIM: "
          "1 = the photo's structure). `grid` is the share of the output's spectral power on a 4-px grid "
          "(mean and worst photo); "
          + (f"the photos themselves score {float(photo['grid']):.2g}." if photo else "") + "\n",
          markdown_table(["model", "style", "training", "style loss", "content loss", "SSIM", "palette SWD",
                          "grid (mean)", "grid (worst)"],
                         [[r["model"], r["style"], r.get("training", r["iterations"]), f"{float(r['style_loss']):.4g}",
                           f"{float(r['content_loss']):.4g}",
                           f"{float(r['ssim']):.3f}", f"{float(r['color_swd']):.3f}", f"{float(r['grid']):.3f}",
                           f"{float(r['grid_max']):.3f}"] for r in sel])]
    written: list[Path] = []
    for name in dict.fromkeys(r["model"] for r in sel):
        cols = [r for r in sel if r["model"] == name]
        n = int(cols[0]["photos"])
        cell = lambda r, k: out / "cells" / f"{r['id']}-{k}.png"  # noqa: E731
        grid = [[load_image(cell(r, k)) if cell(r, k).exists() else None for r in cols] for k in range(n)]
        photos = [p.stem for p in sorted((ROOT / "data/content/eval").glob("*.jpg"))][:n]
        if len(cols) == 1:  # one style: one row of photos under the painting's name
            sheet = labelled_grid([[row[0] for row in grid]], photos, [painting_name(cols[0]["style"])], cell=160)
        else:  # rows = photos, columns = styles, each painting over its column
            sheet = labelled_grid(grid, [painting_name(r["style"]) for r in cols], photos, cell=160,
                                  column_images=[painting(r["style"]) for r in cols])
        if any(c is not None for row in grid for c in row):
            written.append(save_image(sheet, out / f"{name}.png"))
            md.append(f"\n![{name}: rows = photos, columns = styles]({name}.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def reads(cfg: dict) -> list[str]:
    return [reference_model(m) for m in cfg["models"]]


EXPERIMENT = register(Experiment(
    name="reference_models",
    description="every style of the committed reference models on the evaluation photos (quality + 4-px grid)",
    presets={"quick": {"models": ["johnson_great_wave"], "size": 64, "max_contents": 1},
             "cpu": {"models": list(MODELS), "size": 384},
             "gpu": {"models": list(MODELS), "size": 768}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
