"""Experiment 3 — one network, many styles (Dumoulin et al. 2017) against one network per style.

* ``size-S``: parameters, parameters per style and model file size of an S-style network
  (S = 1, 8, 32) — what a style costs.
* ``budget-*``: at an equal training budget (the same number of training images in total), two
  one-style Johnson networks trained for I iterations each against one two-style Dumoulin network
  trained for 2·I iterations; each style scored with the fixed evaluator on evaluation photos.
* ``reference-*``: the same scores for the committed reference models (their training budgets differ and
  are listed next to them).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from experiments.runner import ROOT, Experiment, markdown_table, register, save_figure, subplots

REF = {"johnson": {"vangogh_starry_night": "results/models/johnson_starry_night.nst",
                   "hokusai_great_wave": "results/models/johnson_great_wave.nst"},
       "dumoulin": "results/models/dumoulin_8styles.nst"}


def items(cfg: dict) -> list[dict]:
    out = [{"id": f"size-{s}", "kind": "size", "num_styles": s} for s in cfg["sizes"]]
    for style in cfg["styles"]:
        for approach in ("johnson", "dumoulin"):
            out.append({"id": f"budget-{approach}-{style}", "kind": "budget", "approach": approach, "style": style})
    if cfg.get("reference"):
        for style in cfg["styles"]:
            for approach in ("johnson", "dumoulin"):
                out.append({"id": f"reference-{approach}-{style}", "kind": "reference", "approach": approach,
                            "style": style})
    return out


def _size_item(num_styles: int) -> dict:
    from flax import nnx

    from nst.interface.feedforward import DumoulinStylizer
    from nst.core.networks import NetworkConfig, TransformerNet

    cfg = NetworkConfig(num_styles=num_styles)
    model = DumoulinStylizer(TransformerNet(cfg, nnx.Rngs(0)), {
        "method": "dumoulin", "network": cfg.to_dict(), "styles": [f"s{i}" for i in range(num_styles)]})
    with tempfile.TemporaryDirectory() as tmp:
        size = model.save(Path(tmp) / "m.nst").stat().st_size
    c = model.parameter_counts()
    return {"parameters": c["total"], "per_style": c["per_style"], "file_bytes": size}


def _train_budget(approach: str, style: str, cfg: dict, out: Path):
    """Train (or reload) the budget model that covers ``style``; saved under out/budget_models."""
    import nst
    from nst.methods.training import TrainConfig, train
    from nst.recipes import with_recipe
    from nst.interface.feedforward import stylizer_from_training

    name = f"johnson_{style}" if approach == "johnson" else "dumoulin_" + "+".join(cfg["styles"])
    path = out / "budget_models" / f"{name}.nst"
    if path.exists():
        return nst.load(path)
    styles = [style] if approach == "johnson" else cfg["styles"]
    iterations = cfg["iterations"] * len(styles)  # equal budget: I iterations per style
    # the loss these results were measured with: the first default (recipe nst2026)
    tc = TrainConfig(**{**with_recipe({"recipe": cfg.get("recipe", "nst2026")}, "train"), "method": approach,
                        "max_iterations": iterations, "batch_size": cfg["batch_size"], "image_size": cfg["image_size"],
                        "style_size": cfg["style_size"], "width": cfg["width"], "seed": 0, "checkpoint_every": 10**9})
    res = train([ROOT / "data/styles" / f"{s}.jpg" for s in styles], ROOT / "data/content/train", tc, verbose=False)
    model = stylizer_from_training(res.model, res.meta, res.history)
    model.save(path)
    return model


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    import nst
    from nst.evaluate import Evaluator
    from nst.io.images import load_image, save_image

    if item["kind"] == "size":
        return _size_item(int(item["num_styles"]))
    if item["kind"] == "budget":
        model = _train_budget(item["approach"], item["style"], cfg, cache["out"])
    else:
        path = REF["johnson"][item["style"]] if item["approach"] == "johnson" else REF["dumoulin"]
        model = nst.load(ROOT / path)
    style_index = model.styles.index(item["style"])
    ev = cache.setdefault("evaluator", Evaluator.create())
    style = load_image(ROOT / "data/styles" / f"{item['style']}.jpg")
    scores = []
    for k, name in enumerate(cfg["contents"]):
        photo = load_image(ROOT / "data/content/eval" / f"{name}.jpg", max_size=cfg["eval_size"])
        out = model.stylize(photo, style=style_index)
        scores.append(ev(out, photo, style))
        if k == 0:
            save_image(out, cache["out"] / "cells" / f"{item['id']}.png")
    from nst.methods.training import training_stages

    stages = training_stages(model.meta)  # a fine-tuned reference model: "10000+200" iterations, etc.
    joined = lambda f: "+".join(str(f(st)) for st in stages)  # noqa: E731
    meta = model.meta
    return {"content_loss": float(np.mean([s["content"] for s in scores])),
            "style_loss": float(np.mean([s["style"] for s in scores])),
            "ssim": float(np.mean([s["ssim"] for s in scores])),
            "model_styles": model.num_styles, "iterations": joined(lambda st: st.get("iterations")),
            "batch_size": joined(lambda st: st.get("training", {}).get("batch_size")),
            "image_size": joined(lambda st: st.get("training", {}).get("image_size")),
            "width": meta.get("network", {}).get("width")}


def _ints(v) -> str:
    """A CSV cell that is a number (3 or 3.0) or stages joined by "+" ("20000+200"), printed as integers."""
    return "+".join(str(int(float(x))) for x in str(v).split("+"))


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    sizes = [r for r in rows if r["kind"] == "size"]
    md = ["## What a style costs\n", markdown_table(
        ["styles", "parameters", "parameters per style", "model file"],
        [[int(r["num_styles"]), f"{int(r['parameters']):,}", f"{int(r['per_style']):,}",
          f"{float(r['file_bytes']) / 1e6:.2f} MB"] for r in sizes])]
    written: list[Path] = []
    for kind, title in (("budget", "Equal training budget"), ("reference", "Committed reference models")):
        sel = [r for r in rows if r["kind"] == kind]
        if not sel:
            continue
        styles = list(dict.fromkeys(r["style"] for r in sel))
        md.append(f"\n## {title}\n")
        if kind == "budget":
            md.append("Two one-style networks (I iterations each) against one two-style network (2·I iterations): "
                      "the same number of training images in total. Evaluator losses averaged over the evaluation "
                      "photos (lower = closer to the painting's Grams / the photo's features).\n")
        md.append(markdown_table(
            ["style", "approach", "styles in model", "iterations", "batch", "crop", "width", "style loss",
             "content loss", "SSIM"],
            [[r["style"], r["approach"], int(r["model_styles"]), _ints(r["iterations"]), _ints(r["batch_size"]),
              _ints(r["image_size"]), r["width"], f"{float(r['style_loss']):.4g}", f"{float(r['content_loss']):.4g}",
              f"{float(r['ssim']):.3f}"] for r in sel]))
        fig, ax = subplots(figsize=(6, 3.4), dpi=100)
        x = np.arange(len(styles))
        for k, approach in enumerate(("johnson", "dumoulin")):
            vals = [next((float(r["style_loss"]) for r in sel if r["style"] == s and r["approach"] == approach),
                         np.nan) for s in styles]
            ax.bar(x + (k - 0.5) * 0.38, vals, 0.38, label="one network per style" if approach == "johnson"
                   else "one network, all styles")
        ax.set_xticks(x, [s.split("_", 1)[1].replace("_", " ") for s in styles])
        ax.set_ylabel("evaluator style loss")
        ax.set_title(title)
        ax.legend()
        written.append(save_figure(fig, out / f"{kind}_style_loss.png"))
        cell = lambda a, s: out / "cells" / f"{kind}-{a}-{s}.png"  # noqa: E731
        grid = [[load_image(cell(a, s)) if cell(a, s).exists() else None for a in ("johnson", "dumoulin")]
                for s in styles]
        if any(c is not None for row in grid for c in row):
            written.append(save_image(labelled_grid(grid, ["one network per style", "one network, all styles"],
                                                    [painting_name(s) for s in styles], cell=224),
                                      out / f"{kind}_outputs.png"))
        md.append(f"\n![style loss]({kind}_style_loss.png)\n\n![outputs: rows = styles; columns = one network per "
                  f"style, one network for all]({kind}_outputs.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def reads(cfg: dict) -> list[str]:
    return [*REF["johnson"].values(), REF["dumoulin"]] if cfg.get("reference") else []


EXPERIMENT = register(Experiment(
    name="many_styles",
    description="one network for many styles vs one per style: parameters, file sizes, per-style losses",
    presets={"quick": {"sizes": [1, 8], "styles": ["vangogh_starry_night", "hokusai_great_wave"], "iterations": 2,
                       "batch_size": 1, "image_size": 64, "style_size": 64, "width": 0.25,
                       "contents": ["skimage_chelsea"], "eval_size": 64, "reference": False},
             "cpu": {"sizes": [1, 8, 32], "styles": ["vangogh_starry_night", "hokusai_great_wave"],
                     "iterations": 200, "batch_size": 2, "image_size": 128, "style_size": 192, "width": 0.5,
                     "contents": ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea"], "eval_size": 256,
                     "reference": True},
             "gpu": {"sizes": [1, 8, 32], "styles": ["vangogh_starry_night", "hokusai_great_wave"],
                     "iterations": 5000, "batch_size": 8, "image_size": 256, "style_size": 256, "width": 1.0,
                     "contents": ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea"], "eval_size": 512,
                     "reference": True}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
