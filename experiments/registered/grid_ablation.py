"""Does a total-variation term remove the 4-px grid texture of the Johnson reference model?

The Starry Night network trained at the paper's settings with γ = 0 shows a dotted texture that
repeats every 4 px (results/reference_models: `grid` 0.11, against about 5e-4 for photos).  The
total-variation term of Johnson et al. (2016) penalises exactly such high frequencies.  Each item
fine-tunes the GPU-trained model (`nst.methods.training.train(init=...)`, as `nst train --from`) for the same
few iterations from the same seed with one TV weight γ — γ = 0 is the control that separates the
TV term from the extra iterations — and scores it on evaluation photos with the fixed evaluator
(`grid`, style and content losses, SSIM).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.runner import ROOT, Experiment, markdown_table, register, save_figure, subplots


def items(cfg: dict) -> list[dict]:
    return [{"id": "reference", "tv_weight": -1.0}] + [{"id": f"tv-{w:g}", "tv_weight": w} for w in cfg["tv_weights"]]


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    import nst
    from nst.evaluate import Evaluator
    from nst.io.images import load_image, save_image
    from nst.interface.feedforward import stylizer_from_training
    from nst.methods.training import TrainConfig, train

    ref = cache.setdefault("reference", nst.load(ROOT / cfg["model"]))
    style_path = ROOT / "data/styles" / f"{ref.styles[0]}.jpg"
    extra = {}
    model = ref
    if float(item["tv_weight"]) >= 0:  # the reference row scores the model as committed, untouched
        saved = ref.meta.get("init_from", {}).get("training") or ref.meta["training"]
        # the model's own training objective (its saved options), with the item's TV weight
        tc = TrainConfig.from_dict(saved, method="johnson", max_iterations=cfg["iterations"],
                                   batch_size=cfg["batch_size"], image_size=cfg["image_size"],
                                   tv_weight=float(item["tv_weight"]), learning_rate=cfg["learning_rate"], seed=0,
                                   checkpoint_every=10**9, time_limit=None)
        res = train([style_path], ROOT / "data/content/train", tc, init=(ref.model, ref.meta), verbose=False)
        model = stylizer_from_training(res.model, res.meta, res.history)
        tail = res.history[-min(20, len(res.history)):]
        extra = {"train_style": float(tail[:, 3].mean()), "train_content": float(tail[:, 2].mean()),
                 "train_tv": float(tail[:, 4].mean()), "train_seconds": res.meta["training_seconds"]}
    ev = cache.setdefault("evaluator", Evaluator.create())
    style = load_image(style_path)
    scores = []
    for k, name in enumerate(cfg["contents"]):
        photo = load_image(ROOT / "data/content/eval" / f"{name}.jpg", max_size=cfg["eval_size"])
        out = model.stylize(photo, style=0)
        scores.append(ev(out, photo, style))
        if k == 0:
            save_image(out, cache["out"] / "cells" / f"{item['id']}.png")
    return {"grid": float(np.mean([s["grid"] for s in scores])),
            "style_loss": float(np.mean([s["style"] for s in scores])),
            "content_loss": float(np.mean([s["content"] for s in scores])),
            "ssim": float(np.mean([s["ssim"] for s in scores])), **extra}


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, save_image

    fmt = lambda r, k: f"{float(r[k]):.4g}" if k in r else "—"  # noqa: E731
    md = ["`reference`: the model the preset names, untouched (cpu/gpu presets: the step-1 H100 Starry Night "
          "network, γ = 0); then that model fine-tuned with each TV weight γ (same iterations, same seed; "
          "γ = 0 is the control). Evaluator metrics averaged over the evaluation photos. `grid`: share of spectral "
          "power on a 4-px grid (photos: about 5e-4). Training losses: mean of the last 20 iterations, "
          "weighted as trained.\n",
          markdown_table(["variant", "grid", "style loss", "content loss", "SSIM", "train style", "train content",
                          "train TV"],
                         [[r["id"], f"{float(r['grid']):.4f}", fmt(r, "style_loss"), fmt(r, "content_loss"),
                           f"{float(r['ssim']):.3f}", fmt(r, "train_style"), fmt(r, "train_content"),
                           fmt(r, "train_tv")] for r in rows])]
    fig, ax = subplots(figsize=(6, 3.2), dpi=100)
    ax.bar([r["id"] for r in rows], [float(r["grid"]) for r in rows])
    ax.set_ylabel("4-px grid power share")
    ax.set_yscale("log")
    ax.set_title("4-px grid texture: reference model and TV fine-tuning")
    written = [save_figure(fig, out / "grid_by_variant.png")]
    cells = [load_image(out / "cells" / f"{r['id']}.png") for r in rows if (out / "cells" / f"{r['id']}.png").exists()]
    if cells:
        def zoom(im: np.ndarray) -> np.ndarray:  # a 64-px crop at 4x nearest-neighbour: the grid becomes visible
            s = min(64, *im.shape[:2])
            y, x = im.shape[0] // 3, im.shape[1] // 3
            return np.kron(im[y:y + s, x:x + s], np.ones((4, 4, 1), im.dtype))

        labels = [r["id"] for r in rows if (out / "cells" / f"{r['id']}.png").exists()]
        written.append(save_image(labelled_grid([cells, [zoom(c) for c in cells]], labels,
                                                ["output", "crop, 4x zoom"], cell=256), out / "outputs.png"))
    md.append("\n![grid by variant](grid_by_variant.png)\n\n![outputs, one column per variant; second row: "
              "a crop at 4x zoom](outputs.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def reads(cfg: dict) -> list[str]:
    return [cfg["model"]]


EXPERIMENT = register(Experiment(
    name="grid_ablation",
    description="does a TV term remove the 4-px grid texture? fine-tune the Johnson reference model per TV weight",
    presets={"quick": {"model": "results/models/johnson_great_wave.nst", "tv_weights": [0.0, 1e7], "iterations": 2,
                       "batch_size": 1, "image_size": 48, "learning_rate": 1e-3, "contents": ["skimage_chelsea"],
                       "eval_size": 64},
             "cpu": {"model": "results/grid_ablation/johnson_starry_night_gamma0.nst", "tv_weights": [0.0, 1e6, 1e7],
                     "iterations": 60, "batch_size": 1, "image_size": 256, "learning_rate": 1e-3,
                     "contents": ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea"], "eval_size": 384},
             "gpu": {"model": "results/grid_ablation/johnson_starry_night_gamma0.nst", "tv_weights": [0.0, 1e5, 1e6, 3e6, 1e7, 3e7],
                     "iterations": 500, "batch_size": 4, "image_size": 256, "learning_rate": 1e-3,
                     "contents": ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea"], "eval_size": 512}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
