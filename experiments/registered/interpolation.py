"""Experiment 5 — style interpolation with the Dumoulin reference model (Dumoulin et al. 2017, Fig. 7).

A row blending two styles in ``steps`` steps, and a square grid blending four styles bilinearly
(corner (i, j) weights (1-u)(1-v), u(1-v), (1-u)v, uv).  Each cell also gets the evaluator's
style loss against each corner style, so the figure's claim — the blend moves smoothly from one
style to the other — is measured, not only shown.
"""

from __future__ import annotations

from pathlib import Path

from experiments.runner import ROOT, Experiment, markdown_table, painting, register, run_config

MODEL = "results/models/dumoulin_8styles.nst"


def items(cfg: dict) -> list[dict]:
    n = cfg["steps"]
    out = [{"id": f"pair-{k}", "grid": "pair", "u": k / (n - 1), "v": 0.0} for k in range(n)]
    out += [{"id": f"quad-{i}-{j}", "grid": "quad", "u": j / (n - 1), "v": i / (n - 1)}
            for i in range(n) for j in range(n)]
    return out


def _weights(item: dict, cfg: dict, num_styles: int) -> dict[int, float]:
    u, v = float(item["u"]), float(item["v"])
    if item["grid"] == "pair":
        a, b = cfg["pair"]
        return {a: 1 - u, b: u}
    a, b, c, d = cfg["quad"]
    return {a: (1 - u) * (1 - v), b: u * (1 - v), c: (1 - u) * v, d: u * v}


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    import nst
    from nst.evaluate import Evaluator
    from nst.io.images import load_image, save_image

    model = cache.setdefault("model", nst.load(ROOT / MODEL))
    ev = cache.setdefault("evaluator", Evaluator.create())
    content = cache.setdefault("content", load_image(ROOT / "data/content/eval" / f"{cfg['content']}.jpg",
                                                     size=cfg["size"]))
    w = {k: v for k, v in _weights(item, cfg, model.num_styles).items() if v > 0}
    image = model.stylize(content, style=w)
    cells = cache["out"] / "cells"
    save_image(image, cells / f"{item['id']}.png")
    corners = cfg["pair"] if item["grid"] == "pair" else cfg["quad"]
    metrics = {}
    for k in corners:
        style = load_image(ROOT / "data/styles" / f"{model.styles[k]}.jpg")
        metrics[f"style_loss_{k}"] = ev(image, content, style)["style"]
    return metrics


def _style_names() -> list[str]:
    """The reference model's styles, read from its file's metadata (no network is built)."""
    from nst.io.modelfile import load_tensors

    path = ROOT / MODEL
    return list(load_tensors(path)[1]["styles"]) if path.exists() else []


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    pair = sorted((r for r in rows if r["grid"] == "pair"), key=lambda r: float(r["u"]))
    quad = sorted((r for r in rows if r["grid"] == "quad"), key=lambda r: (float(r["v"]), float(r["u"])))
    cfg = run_config(out)
    styles = _style_names()
    name = lambda k: painting_name(styles[k]) if styles else f"style {k}"  # noqa: E731
    written = []
    if pair:
        a, b = cfg.get("pair", (0, 1))
        labels = [f"{1 - float(r['u']):.0%} {name(a)} + {float(r['u']):.0%} {name(b)}" for r in pair]
        thumbs = [painting(styles[a]) if styles else None] + [None] * (len(pair) - 2) + \
                 [painting(styles[b]) if styles else None]
        written.append(save_image(labelled_grid([[load_image(out / "cells" / f"{r['id']}.png") for r in pair]],
                                                labels, cell=256, column_images=thumbs), out / "interpolation_pair.png"))
    if quad:
        n = int(round(len(quad) ** 0.5))
        a, b, c, d = cfg.get("quad", (0, 1, 2, 3))
        grid = [[load_image(out / "cells" / f"{r['id']}.png") for r in quad[i * n:(i + 1) * n]] for i in range(n)]
        cols = [f"u = {float(r['u']):.2f}" for r in quad[:n]]
        title = lambda k: name(k).split(" ", 1)[-1]  # noqa: E731 - the painting without the painter
        cols[0], cols[-1] = f"top {title(a)}, bottom {title(c)}", f"top {title(b)}, bottom {title(d)}"
        rows_l = [f"v = {float(quad[i * n]['v']):.2f}" for i in range(n)]
        thumbs = [painting(styles[a]) if styles else None] + [None] * (n - 2) + [painting(styles[b]) if styles else None]
        written.append(save_image(labelled_grid(grid, cols, rows_l, cell=192, column_images=thumbs),
                                  out / "interpolation_quad.png"))
    keys = [k for k in (pair[0] if pair else {}) if str(k).startswith("style_loss_")]
    table = [[f"{float(r['u']):.2f}"] + [f"{float(r[k]):.4g}" for k in keys] for r in pair]
    md = out / "summary.md"
    md.write_text("Two-style blend (weight u on the second style): evaluator style loss against each end "
                  "style (lower = closer).\n\n" + markdown_table(["u"] + [k.replace("style_loss_", "style loss vs #")
                                                                          for k in keys], table))
    return [md, *written]


def reads(cfg: dict) -> list[str]:
    return [MODEL]


EXPERIMENT = register(Experiment(
    name="interpolation",
    description="blend two and four styles of the Dumoulin reference model (grids + measured style losses)",
    presets={"quick": {"content": "skimage_chelsea", "size": 64, "steps": 2, "pair": [0, 1], "quad": [0, 1, 2, 3]},
             "cpu": {"content": "kodak_kodim23", "size": 256, "steps": 5, "pair": [0, 1], "quad": [0, 1, 2, 3]},
             "gpu": {"content": "kodak_kodim23", "size": 512, "steps": 7, "pair": [0, 1], "quad": [0, 1, 2, 3]}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
