"""How much of the evaluator's style loss sits in the loss network's zero-padded frame.

Every 3×3 conv of VGG19 pads its input with zeros (the Caffe model's, and every paper's, choice).  After
mean subtraction a zero is the ImageNet mean colour, so each layer sees a frame around the picture that is
not in it, and the Grams of the deep layers, whose maps are a few pixels wide, take in a large share of
border positions.  Gatys' L-BFGS optimises the image against exactly those Grams, so it can shape the outer
pixels for the frame; a network stylized with a reflected border (`nst.core.networks.STYLIZE_BORDER`) draws
no such line (`results/border`).  Issue #13 compares the two on the zero-padded evaluator, which stays as it
is; this experiment measures how much of that comparison is the frame.

* ``rescore``: every image `results/fidelity` saved (``cells/``: Gatys results and network outputs) is
  scored layer by layer (`nst.evaluate.Evaluator.style_by_layer`) on the evaluator's own loss network and on
  the same weights with reflect padding (``VGG19.with_padding("reflect")``), a ruler without the frame.
* ``gatys_reflect``: Gatys with `fidelity`'s settings (default `GatysConfig`, its steps and size) but a loss
  network that reflects (``vgg_padding="reflect"``), for the styles of ``gatys_styles``, scored on both rulers
  with SSIM and `border_line_contrast`: the old way when the frame does not pay.

The summary reports, per network and style, the ratio network ÷ Gatys on both rulers; how each ruler scores
Gatys' zero- and reflect-padded results; and per layer how much of the Gatys results' style loss the frame
carries.  ``rescore`` reads images only; ``gatys_reflect`` costs one Gatys run per photo and style.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from experiments.provenance import rows_of
from experiments.registered.fidelity_layers import cell_name
from experiments.registered.train_border import edge_strips_figure
from experiments.runner import (ROOT, Experiment, markdown_table, read_rows, register, run_config, run_config_commit)

EVAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
RULERS = ("zero", "reflect")


def _source(cfg: dict) -> Path:
    return ROOT / cfg["source"]


def items(cfg: dict) -> list[dict]:
    """One ``rescore`` item per `fidelity` image of the chosen photos, one ``gatys_reflect`` per photo and style."""
    rows = [r for r in read_rows(_source(cfg) / "raw.csv") if r["photo"] in cfg["photos"]
            and (not cfg.get("styles") or r["style"] in cfg["styles"])]
    out = [{"id": f"rescore/{r['id']}", "kind": "rescore", "method": r["method"], "model": r["model"],
            "style": r["style"], "photo": r["photo"], "cell": cell_name(r)} for r in rows]
    return out + [{"id": f"gatys_reflect/{s}/{p}", "kind": "gatys_reflect", "method": "gatys_reflect",
                   "model": "gatys_reflect", "style": s, "photo": p}
                  for s in cfg["gatys_styles"] for p in cfg["photos"]]


def rulers(cache: dict) -> dict:
    """The evaluator as it is (``zero``) and the same weights with reflect padding (``reflect``)."""
    from nst.evaluate import Evaluator

    if "rulers" not in cache:
        ev = Evaluator.create()
        cache["rulers"] = {"zero": ev, "reflect": Evaluator(ev.vgg.with_padding("reflect"))}
    return cache["rulers"]


def scores(image: np.ndarray, style: np.ndarray, cache: dict) -> dict:
    """The evaluator's style term per layer on both rulers: ``{ruler}_{layer}`` and ``{ruler}_style`` (their sum)."""
    row = {}
    for name, ev in rulers(cache).items():
        by_layer = ev.style_by_layer(image, style, EVAL_LAYERS)
        row.update({f"{name}_{n}": v for n, v in by_layer.items()}, **{f"{name}_style": sum(by_layer.values())})
    return row


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    from nst.evaluate import border_line_contrast
    from nst.io.images import load_image, save_image

    if item["style"] not in cache:  # each painting read once per run
        cache[item["style"]] = load_image(ROOT / "data" / "styles" / f"{item['style']}.jpg")
    style = cache[item["style"]]
    if item["kind"] == "rescore":
        return scores(load_image(_source(cfg) / "cells" / item["cell"]), style, cache)
    import time

    import nst

    size = int(run_config(_source(cfg))["size"]) if cfg.get("size") is None else int(cfg["size"])
    steps = int(run_config(_source(cfg))["gatys_steps"]) if cfg.get("gatys_steps") is None else int(cfg["gatys_steps"])
    photo = load_image(ROOT / "data/content/eval" / f"{item['photo']}.jpg", max_size=size)
    t0 = time.perf_counter()
    gatys = nst.create("gatys", [ROOT / "data" / "styles" / f"{item['style']}.jpg"], steps=steps, size=size,
                       vgg_padding="reflect", verbose=False)
    out = gatys.stylize(photo, style=0)
    seconds = time.perf_counter() - t0
    save_image(out, cache["out"] / "cells" / f"gatys_reflect-{item['style']}-{item['photo']}.png")
    # scored from the saved 8-bit image, as the fidelity cells it is compared with
    saved = load_image(cache["out"] / "cells" / f"gatys_reflect-{item['style']}-{item['photo']}.png")
    full = rulers(cache)["zero"](saved, photo, style)
    return {**scores(saved, style, cache), "ssim": full["ssim"], "grid": full["grid"],
            "edge_contrast": float(border_line_contrast(saved)), "seconds": seconds, "steps": steps, "size": size}


def _by(rows: list[dict]) -> dict[tuple[str, str, str], dict]:
    return {(r["model"], r["style"], r["photo"]): r for r in rows}


def ratio_rows(rows: list[dict]) -> list[dict]:
    """Per (network, style): mean style loss ÷ the Gatys results' on each ruler, over the photos both have."""
    by = _by(rows)
    out = []
    for model, style in dict.fromkeys((r["model"], r["style"]) for r in rows
                                      if r.get("kind") == "rescore" and r["method"] != "gatys"):
        photos = [p for (m, s, p) in by if m == model and s == style and ("gatys", s, p) in by]
        if not photos:
            continue
        rec = {"model": model, "style": style, "photos": len(photos)}
        for ruler in RULERS:
            mean = lambda m: float(np.mean([float(by[(m, style, p)][f"{ruler}_style"]) for p in photos]))  # noqa: E731
            rec[ruler] = mean(model) / mean("gatys")
            if all(("gatys_reflect", style, p) in by for p in photos):
                rec[f"{ruler}_vs_reflect"] = mean(model) / mean("gatys_reflect")
        out.append(rec)
    return out


def gatys_rows(rows: list[dict], fidelity: dict) -> list[list[str]]:
    """Per style: Gatys with the papers' zero padding against Gatys with a reflecting loss network."""
    by = _by(rows)
    table = []
    for style in dict.fromkeys(r["style"] for r in rows if r.get("kind") == "gatys_reflect"):
        photos = [p for (m, s, p) in by if m == "gatys_reflect" and s == style and ("gatys", s, p) in by]
        if not photos:
            continue
        mean = lambda m, k: float(np.mean([float(by[(m, style, p)][k]) for p in photos]))  # noqa: E731
        fid = lambda k: float(np.mean([float(fidelity[(style, p)][k]) for p in photos]))  # noqa: E731
        table.append([style, str(len(photos)), f"{mean('gatys', 'zero_style'):.3g}",
                      f"{mean('gatys_reflect', 'zero_style'):.3g}", f"{mean('gatys', 'reflect_style'):.3g}",
                      f"{mean('gatys_reflect', 'reflect_style'):.3g}", f"{fid('ssim'):.3f}",
                      f"{mean('gatys_reflect', 'ssim'):.3f}", f"{fid('edge_contrast'):.2f}",
                      f"{mean('gatys_reflect', 'edge_contrast'):.2f}"])
    return table


def frame_share(rows: list[dict]) -> list[list[str]]:
    """Per layer, over every Gatys result (papers' padding): 1 − reflect ruler ÷ zero ruler, median (min–max)."""
    gatys = [r for r in rows if r.get("kind") == "rescore" and r["method"] == "gatys"]
    table = []
    for n in (*EVAL_LAYERS, "style"):
        share = [1 - float(r[f"reflect_{n}"]) / float(r[f"zero_{n}"]) for r in gatys if float(r[f"zero_{n}"]) > 0]
        if share:
            table.append([n if n != "style" else "all five (the evaluator)", str(len(share)),
                          f"{100 * statistics.median(share):.0f} % "
                          f"({100 * min(share):.0f} … {100 * max(share):.0f} %)"])
    return table


def figure(rows: list[dict], out: Path, cfg: dict) -> tuple[list[str], list[Path]]:
    """The first photo by Gatys (both paddings) and the first network of each ``gatys_styles`` style, with the
    top-left corners enlarged, where a line along the edge shows."""
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    photo = cfg["photos"][0]
    source = _source(cfg)
    sets = []
    for style in cfg["gatys_styles"]:
        net = next((r for r in rows if r.get("kind") == "rescore" and r["method"] != "gatys" and r["style"] == style
                    and r["photo"] == photo), None)
        cells = [("Gatys, zero padding", source / "cells" / f"gatys-{style}-{photo}.png"),
                 ("Gatys, reflect padding", out / "cells" / f"gatys_reflect-{style}-{photo}.png")]
        if net is not None:
            cells.append((net["model"], source / "cells" / net["cell"]))
        if all(p.exists() for _, p in cells[:2]):
            sets.append((painting_name(style) + (f"\n({net['model']})" if net is not None else ""), cells))
    if not sets:
        return [], []
    n_cols = max(len(c) for _, c in sets)
    grid = [[load_image(p) for _, p in cells] for _, cells in sets]
    labels = ["Gatys, zero padding (the papers')", "Gatys, reflect padding", "network named left"][:n_cols]
    sheet = save_image(labelled_grid(grid, labels, [name for name, _ in sets], cell=200), out / "outputs.png")
    edges = edge_strips_figure([(f"{name.splitlines()[0]} — {label}", p) for name, cells in sets
                                for label, p in cells], out / "edges.png")
    return [f"\n![{photo}: Gatys with each padding of its loss network, and a network]"
            "(outputs.png)\n",
            "\n![the top-left corner (16 × 128 px) of the same outputs, enlarged](edges.png)\n"], [sheet, edges]


def plot(rows: list[dict], out: Path) -> list[Path]:
    out = Path(out)
    cfg = run_config(out)
    if not cfg:
        return []
    source = _source(cfg)
    fidelity = {(r["style"], r["photo"]): r for r in read_rows(source / "raw.csv") if r["method"] == "gatys"}
    recs = ratio_rows(rows)
    md = [f"The `{cfg['source']}` images (commit {run_config_commit(source)}) scored on two rulers: `zero`, the "
          "evaluator as it is (VGG19 padding zeros at every conv, as the papers' networks do), and `reflect`, the "
          "same weights and layers with each map mirrored at its edge instead, so that no frame of the mean colour "
          "enters the Grams. Issue #13's targets stay on the `zero` ruler; the second one says how much of the "
          "comparison is the frame. Regenerate with `python -m experiments run vgg_padding --preset cpu`.\n",
          "\n## Network ÷ Gatys on each ruler\n",
          "Mean style loss over the photos, each network's outputs (stylized with the default border) ÷ the Gatys "
          "results' (`zero`: recomputed from the saved images, so it can differ from `fidelity`'s unrounded "
          "ratio in the last digit). The last two columns compare with Gatys run on a reflecting loss network "
          "(`gatys_reflect` below), where this run has it.\n",
          markdown_table(["network", "style", "photos", "÷ Gatys, zero ruler", "÷ Gatys, reflect ruler",
                          "÷ Gatys (reflect loss net), zero ruler", "÷ Gatys (reflect loss net), reflect ruler"],
                         [[r["model"], r["style"], str(r["photos"]), f"{r['zero']:.2f}", f"{r['reflect']:.2f}",
                           f"{r['zero_vs_reflect']:.2f}" if "zero_vs_reflect" in r else "—",
                           f"{r['reflect_vs_reflect']:.2f}" if "reflect_vs_reflect" in r else "—"] for r in recs])]
    if recs:
        for ruler in RULERS:
            v = [r[ruler] for r in recs]
            md.append(f"\n`{ruler}` ruler: median {statistics.median(v):.2f}, worst {max(v):.2f} over "
                      f"{len(v)} network-styles.")
        md.append("\n")
    md += ["\n## How much of Gatys' style loss is the frame\n",
           "For every Gatys result of `fidelity` (the papers' zero padding), the share of each layer's style term "
           "that the reflect ruler does not see: 1 − reflect ÷ zero, median (min … max) over styles and photos. "
           "A negative share is a layer the frame lowers.\n",
           markdown_table(["layer", "results", "share only the zero ruler sees"], frame_share(rows))]
    table = gatys_rows(rows, fidelity)
    if table:
        first = next(r for r in rows if r.get("kind") == "gatys_reflect")
        steps, size = int(float(first["steps"])), int(float(first["size"]))
        md += ["\n## Gatys with a reflecting loss network\n",
               f"`gatys_reflect`: `fidelity`'s Gatys settings ({steps} L-BFGS steps, {size} px) with "
               "`vgg_padding=\"reflect\"`, against `fidelity`'s Gatys results (zero padding), means over the photos. "
               "Style loss on each ruler; SSIM against the photo; `edge` is `border_line_contrast` (about 1: no "
               "line along the edge).\n",
               markdown_table(["style", "photos", "zero ruler: Gatys", "zero ruler: Gatys reflect",
                               "reflect ruler: Gatys", "reflect ruler: Gatys reflect", "SSIM: Gatys",
                               "SSIM: Gatys reflect", "edge: Gatys", "edge: Gatys reflect"], table)]
        secs = [float(r["seconds"]) for r in rows if r.get("kind") == "gatys_reflect"]
        md.append(f"\nGatys run time on this machine: median {statistics.median(secs):.0f} s per image.\n")
    more, written = figure(rows, out, cfg)
    md += more
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def reads(cfg: dict) -> list[str]:
    return [cfg["source"]]  # fidelity's images and rows


def item_reads(item: dict, cfg: dict) -> list[str]:
    """A re-scored image reads its fidelity row (and the image that row describes); Gatys on the reflecting loss
    network reads nothing of fidelity's but the size and steps of its run."""
    if item["kind"] == "rescore":
        return [rows_of(cfg["source"], id=item["id"].removeprefix("rescore/"))]
    return []


EXPERIMENT = register(Experiment(
    name="vgg_padding",
    description="the evaluator's zero-padded frame: fidelity's images on a reflect-padded ruler, Gatys without it",
    presets={
        # one photo and painting at 64 px, 2 steps: the plumbing, on the committed fidelity images
        "quick": {"source": "results/fidelity", "photos": ["kodak_kodim23"], "styles": ["vangogh_starry_night"],
                  "gatys_styles": ["vangogh_starry_night"], "size": 64, "gatys_steps": 2},
        # fidelity's four photos; Gatys reflect for the two Johnson styles and the worst Dumoulin style
        "cpu": {"source": "results/fidelity", "photos": ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea",
                                                          "kodak_kodim08"],
                "gatys_styles": ["vangogh_starry_night", "hokusai_great_wave", "vangogh_olive_orchard"]},
    },
    reads=reads, item_reads=item_reads,
    items=items, run_item=run_item, plot=plot))
