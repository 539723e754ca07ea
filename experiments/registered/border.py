"""Does a reflection border at stylize time remove the coloured line some models draw along the image edge?

The reference models, run on a bare picture, draw a 1–2 px line along the top and bottom edges
(Starry Night: blue along the top, orange dashes along the bottom).  `nst` stylizes with a
reflection border (`nst.core.networks.STYLIZE_BORDER` px padded on every side and cropped off the
output).  One item per (model, style, border width): every evaluation photo is stylized with that
border and scored by `nst.evaluate.border_line_contrast` — the largest difference between the two
outermost rows or columns and their neighbours, over the same difference inside the picture
(about 1: no line).  A 4-px margin is first cut off each photo: several have a dark or sharpened
edge row of their own.  A ``photo`` row scores the photos, the baseline.  The evaluator's style
and content losses are recorded for the whole output and for its interior (a 12-px margin cut
off), because the line itself moves the whole-image numbers.  The last column is the extra time
the border costs (its area share at the evaluation size).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.provenance import reference_model
from experiments.runner import ROOT, Experiment, markdown_table, register, run_config_commit, save_figure, subplots


def _photos(cfg: dict, cache: dict) -> list[np.ndarray]:
    from nst.io.images import load_image

    if "photos" not in cache:
        files = sorted((ROOT / "data/content/eval").glob("*.jpg"))[: cfg["max_contents"]]
        cache["photos"] = [load_image(f, max_size=cfg["size"] + 8)[4:-4, 4:-4] for f in files]
    return cache["photos"]


def items(cfg: dict) -> list[dict]:
    import nst

    out = [{"id": "photo", "model": "photo", "style_index": -1, "border": 0}]
    for name in cfg["models"]:
        n = nst.load(ROOT / "results/models" / f"{name}.nst").num_styles
        out += [{"id": f"{name}-{k}-b{b}", "model": name, "style_index": k, "border": b}
                for k in range(n) for b in cfg["borders"]]
    return out


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    import nst
    from nst.evaluate import Evaluator, border_line_contrast
    from nst.io.images import load_image, save_image

    photos = _photos(cfg, cache)
    losses: dict = {}
    if item["model"] == "photo":
        scores = [border_line_contrast(p) for p in photos]
    else:
        model = cache.setdefault(item["model"], nst.load(ROOT / "results/models" / f"{item['model']}.nst"))
        model = model.with_border(int(item["border"]), "input")
        outs = [model.stylize(p, style=int(item["style_index"])) for p in photos]
        scores = [border_line_contrast(o) for o in outs]
        if item["style_index"] == 0:
            save_image(outs[0], cache["out"] / "cells" / f"{item['model']}-b{item['border']}.png")
        if cfg.get("evaluate"):
            ev = cache.setdefault("evaluator", Evaluator.create())
            style = load_image(ROOT / "data/styles" / f"{model.styles[int(item['style_index'])]}.jpg")
            m = 12  # interior: away from the edge rows
            whole = [ev(o, p, style) for o, p in zip(outs, photos)]
            inner = [ev(o[m:-m, m:-m], p[m:-m, m:-m], style) for o, p in zip(outs, photos)]
            losses = {"style_whole": float(np.mean([e["style"] for e in whole])),
                      "content_whole": float(np.mean([e["content"] for e in whole])),
                      "style_interior": float(np.mean([e["style"] for e in inner])),
                      "content_interior": float(np.mean([e["content"] for e in inner]))}
    h, w = photos[0].shape[:2]
    b = int(item["border"])
    return {"contrast_mean": float(np.mean(scores)), "contrast_max": float(np.max(scores)),
            "photos": len(photos), "area_cost": (h + 2 * b) * (w + 2 * b) / (h * w) - 1, **losses}


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import load_image, save_image

    photo = next(r for r in rows if r["model"] == "photo")
    borders = sorted({int(r["border"]) for r in rows if r["model"] != "photo"})
    models = list(dict.fromkeys(r["model"] for r in rows if r["model"] != "photo"))
    def rel(sel: list[dict], key: str, base: list[dict]) -> str:  # mean over styles of loss / loss at border 0
        if not sel or not sel[0].get(key):
            return "—"
        by = {r["style_index"]: float(r[key]) for r in base}
        return f"{np.mean([float(r[key]) / by[r['style_index']] for r in sel]):.3f}"

    table = [["photos (no stylizing)", "—", f"{float(photo['contrast_mean']):.2f}", f"{float(photo['contrast_max']):.2f}",
              "—", "—", "—", "—", "—"]]
    for m in models:
        base = [r for r in rows if r["model"] == m and int(r["border"]) == borders[0]]
        for b in borders:
            sel = [r for r in rows if r["model"] == m and int(r["border"]) == b]
            table.append([m, b, f"{np.mean([float(r['contrast_mean']) for r in sel]):.2f}",
                          f"{np.max([float(r['contrast_max']) for r in sel]):.2f}",
                          rel(sel, "style_whole", base), rel(sel, "style_interior", base),
                          rel(sel, "content_whole", base), rel(sel, "content_interior", base),
                          f"{100 * float(sel[0]['area_cost']):.0f} %"])
    md = [f"`border_line_contrast` of the outputs (mean and worst over {int(float(photo['photos']))} evaluation photos "
          "and every style of the model; about 1 = no line along the edge), per border width in px. Style and "
          f"content: the evaluator's losses relative to border {borders[0]} (mean over styles of the ratio), on the "
          "whole output and on its interior (12-px margin cut off). Extra pixels: the border's share at this size, "
          "about the extra time. Borders here pad the input picture; the models are `results/models/` at the "
          f"run's git commit ({run_config_commit(out)}).\n",
          markdown_table(["model", "border (px)", "contrast mean", "contrast worst", "style (whole)",
                          "style (interior)", "content (whole)", "content (interior)", "extra pixels"], table)]
    fig, ax = subplots(figsize=(6, 3.2), dpi=100)
    for m in models:
        ys = [np.mean([float(r["contrast_mean"]) for r in rows if r["model"] == m and int(r["border"]) == b])
              for b in borders]
        ax.plot(borders, ys, marker="o", label=m)
    ax.axhline(float(photo["contrast_mean"]), color="grey", ls="--", label="photos")
    ax.set_xlabel("reflection border (px)")
    ax.set_ylabel("edge line contrast (mean)")
    ax.legend(fontsize=7)
    written = [save_figure(fig, out / "contrast_by_border.png")]

    def edges(im: np.ndarray) -> np.ndarray:  # top and bottom 16 rows of the left 128 columns, 3x nearest
        s = min(128, im.shape[1])
        strip = np.concatenate([im[:16, :s], np.ones((2, s, 3), im.dtype), im[-16:, :s]], 0)
        return np.kron(strip, np.ones((3, 3, 1), im.dtype))

    grid = [[edges(load_image(p)) for b in borders if (p := out / "cells" / f"{m}-b{b}.png").exists()]
            for m in models]
    if grid and all(grid):  # strips side by side, white gaps: no letterboxing of these wide, flat cells
        def row(strips: list[np.ndarray]) -> np.ndarray:
            gap = np.ones((strips[0].shape[0], 6, 3), np.float32)
            return np.concatenate([x for s in strips for x in (s, gap)][:-1], 1)

        rows_ = [row(g) for g in grid]
        gap = np.ones((10, rows_[0].shape[1], 3), np.float32)
        written.append(save_image(np.concatenate([x for r in rows_ for x in (r, gap)][:-1], 0), out / "edges.png"))
    md.append("\n![contrast by border](contrast_by_border.png)\n\n![top and bottom edges, 3x zoom; rows: models "
              f"(first style), columns: border {', '.join(map(str, borders))} px](edges.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def reads(cfg: dict) -> list[str]:
    return [reference_model(m) for m in cfg["models"]]


def item_reads(item: dict, cfg: dict) -> list[str]:
    """A network's rows read its model; the photos' own row reads none."""
    return [] if item["model"] == "photo" else [reference_model(item["model"])]


EXPERIMENT = register(Experiment(
    name="border",
    description="does a reflection border at stylize time remove the line models draw along the image edge?",
    presets={"quick": {"models": ["johnson_great_wave"], "borders": [0, 16], "size": 64, "max_contents": 1,
                       "evaluate": True},
             "cpu": {"models": ["johnson_starry_night", "johnson_great_wave", "dumoulin_8styles"],
                     "borders": [0, 4, 8, 16, 32], "size": 384, "max_contents": 8, "evaluate": True}},
    reads=reads, item_reads=item_reads,
    items=items, run_item=run_item, plot=plot))
