"""Experiment 6 — teaching ablations of the Gatys method.

One content image and each style, optimised with the defaults except for one choice at a time:

* ``ratio``: the style/content weight ratio β/α;
* ``layers``: which VGG19 layers carry the style;
* ``gram``: how Gram matrices are normalised.  A normalisation changes (a) the overall scale of the
  style loss, which β absorbs, and (b) the *relative weight of the layers*.  With MSE over Grams, ours
  (FᵀF/N, N = H·W) equals Gatys et al.'s E_l = Σ(G−A)²/(4N²M²) up to a constant 4 (same layer
  weighting); dividing by C·H·W (Johnson et al.'s and pytorch/examples' convention) scales layer l's
  term by 1/C_l²; the raw FᵀF by N_l².  We show (b): β fixed, layer weights renormalised to sum 1.
* ``optimizer``: L-BFGS against Adam for the same number of steps;
* ``color``: colour preservation off / luminance-only / histogram matching.

Each output gets the evaluator's fixed metrics and the Gatys objective of the default setting, so
the grids come with numbers.
"""

from __future__ import annotations

from pathlib import Path

from experiments.runner import ROOT, Experiment, markdown_table, register

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CHANNELS = {"relu1_1": 64, "relu2_1": 128, "relu3_1": 256, "relu4_1": 512, "relu5_1": 512}
DOWNSAMPLE = {"relu1_1": 1, "relu2_1": 2, "relu3_1": 4, "relu4_1": 8, "relu5_1": 16}

# (group, variant label, GatysConfig overrides); "default" rows are shared by every group.
VARIANTS: list[tuple[str, str, dict]] = [
    ("ratio", "1e-05", {"style_weight": 1e-5}),
    ("ratio", "1e-04", {"style_weight": 1e-4}),
    ("ratio", "1e-03 (default)", {}),
    ("ratio", "1e-02", {"style_weight": 1e-2}),
    ("layers", "relu1_1", {"style_layers": ("relu1_1",)}),
    ("layers", "relu1_1..relu3_1", {"style_layers": ("relu1_1", "relu2_1", "relu3_1")}),
    ("layers", "relu1_1..relu5_1 (default)", {}),
    ("layers", "relu3_1..relu5_1", {"style_layers": ("relu3_1", "relu4_1", "relu5_1")}),
    ("gram", "FᵀF/HW = Gatys (default)", {}),
    ("gram", "FᵀF/(C·H·W)", {"gram": "chw"}),
    ("gram", "FᵀF raw", {"gram": "raw"}),
    ("optimizer", "L-BFGS (default)", {}),
    ("optimizer", "Adam lr 0.02", {"optimizer": "adam"}),
    ("color", "off (default)", {}),
    ("color", "luminance-only", {"preserve_color": "luminance"}),
    ("color", "histogram matching", {"preserve_color": "histogram"}),
]


def _key(overrides: dict) -> str:
    return "default" if not overrides else "-".join(f"{k}={v}" for k, v in sorted(overrides.items())).replace(
        "(", "").replace(")", "").replace("'", "").replace(", ", "+").replace(",", "")


def items(cfg: dict) -> list[dict]:
    out, seen = [], set()
    for style in cfg["styles"]:
        for group, label, overrides in VARIANTS:
            if group not in cfg["groups"]:
                continue
            iid = f"{style}-{_key(overrides)}"
            if iid in seen:
                continue
            seen.add(iid)
            out.append({"id": iid, "style": style, "variant": _key(overrides)})
    return out


def layer_weights(gram: str, size_hw: tuple[int, int]) -> tuple[float, ...] | None:
    """Per-layer style weights that a Gram normalisation amounts to, relative to ours, summing to 1."""
    if gram == "hw":
        return None
    h, w = size_hw
    if gram == "chw":
        raw = [1.0 / CHANNELS[n] ** 2 for n in STYLE_LAYERS]
    elif gram == "raw":
        raw = [float((h // DOWNSAMPLE[n]) * (w // DOWNSAMPLE[n])) ** 2 for n in STYLE_LAYERS]
    else:
        raise ValueError(f"unknown Gram normalisation {gram!r}")
    return tuple(r / sum(raw) for r in raw)


def _overrides(variant: str) -> dict:
    return next(o for _, _, o in VARIANTS if _key(o) == variant)


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    from nst.evaluate import Evaluator
    from nst.methods.gatys import gatys_loss, gatys_transfer
    from nst.io.images import load_image, save_image
    from nst.core.vgg import VGG19

    vgg = cache.setdefault("vgg", VGG19.pretrained())
    ev = cache.setdefault("evaluator", Evaluator.create())
    content = load_image(ROOT / "data/content/eval" / f"{cfg['content']}.jpg", max_size=cfg["size"])
    style = load_image(ROOT / "data/styles" / f"{item['style']}.jpg")
    overrides = dict(_overrides(item["variant"]))
    gram = overrides.pop("gram", "hw")
    weights = layer_weights(gram, content.shape[:2])
    if weights is not None:
        overrides["style_layer_weights"] = weights
    res = gatys_transfer(content, style, size=cfg["size"], steps=cfg["steps"], vgg=vgg, verbose=False, **overrides)
    save_image(res.image, cache["out"] / "cells" / f"{item['id']}.png")
    metrics = ev(res.image, content, load_image(style, max_size=cfg["size"]))
    default_objective = gatys_loss(res.image, content, style, vgg=vgg)["total"]
    return {**{f"eval_{k}": v for k, v in metrics.items()}, "default_objective": default_objective,
            "seconds": res.seconds, "steps": cfg["steps"]}


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    by_id = {r["id"]: r for r in rows}
    styles = list(dict.fromkeys(r["style"] for r in rows))
    written: list[Path] = []
    md = ["Each group changes one choice of the Gatys method from the defaults (β/α = 1e-3, style layers "
          "relu1_1..relu5_1, Gram FᵀF/HW, L-BFGS, no colour preservation). Metrics from the fixed "
          "evaluator (`nst.evaluate`; lower content/style loss = closer to the photo/painting, SSIM of the "
          "luminance with the photo, sliced Wasserstein distance of RGB to the painting) and the default "
          "Gatys objective of each output. Image grids: one row per style, columns as in the table. (Wall "
          "times are in raw.csv but not compared here: other work shared the machine during this run; "
          "results/bench_gatys times L-BFGS against Adam per step.)\n"]
    for group in dict.fromkeys(g for g, _, _ in VARIANTS):
        variants = [(label, _key(o)) for g, label, o in VARIANTS if g == group]
        present = [(label, v) for label, v in variants if any(f"{s}-{v}" in by_id for s in styles)]
        if not present:
            continue
        grid = [[load_image(out / "cells" / f"{s}-{v}.png") if f"{s}-{v}" in by_id else None for _, v in present]
                for s in styles]
        written.append(save_image(labelled_grid(grid, [label for label, _ in present],
                                                [painting_name(s) for s in styles], cell=192), out / f"{group}.png"))
        table = []
        for s in styles:
            for label, v in present:
                r = by_id.get(f"{s}-{v}")
                if r:
                    table.append([s, label, f"{float(r['eval_content']):.3g}", f"{float(r['eval_style']):.3g}",
                                  f"{float(r['eval_ssim']):.3f}", f"{float(r['eval_color_swd']):.3f}",
                                  f"{float(r['default_objective']):.3g}"])
        md.append(f"\n## {group}\n\n![{group}]({group}.png)\n\n" + markdown_table(
            ["style", group, "content loss", "style loss", "SSIM", "colour SWD", "Gatys objective"], table))
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


EXPERIMENT = register(Experiment(
    name="gatys_ablations",
    description="Gatys teaching ablations: weight ratio, style layers, Gram normalisation, L-BFGS vs Adam, colour",
    presets={"quick": {"content": "skimage_chelsea", "styles": ["vangogh_starry_night"], "size": 48, "steps": 3,
                       "groups": ["ratio", "gram"]},
             "cpu": {"content": "kodak_kodim23", "styles": ["vangogh_starry_night", "hokusai_great_wave"],
                     "size": 192, "steps": 100,
                     "groups": ["ratio", "layers", "gram", "optimizer", "color"]},
             "gpu": {"content": "kodak_kodim23", "styles": ["vangogh_starry_night", "hokusai_great_wave"],
                     "size": 512, "steps": 500,
                     "groups": ["ratio", "layers", "gram", "optimizer", "color"]}},
    items=items, run_item=run_item, plot=plot))
