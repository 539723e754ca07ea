"""Can a trained network be put on issue #13's targets without training it again?

Every network measured so far misses the targets on one side or the other: the reference models keep
more of the photo than Gatys (SSIM) but carry several times its style loss, the networks trained from
scratch (`results/scratch_scaled`) come closer on style but fall below Gatys' SSIM.  Three changes at
stylize time, none of which needs training, each move an output along that trade-off:

* ``blend`` α: the output mixed with the photo in pixels, ``photo + α (output − photo)``: the
  "strength" slider of many apps (α = 1: the network's output).
* ``detail`` λ: the photo's fine detail added back, ``output + λ (photo − G_σ * photo)`` with G_σ a
  Gaussian of ``detail_sigma`` px: SSIM compares local structure, and this returns the photo's edges
  while leaving the network's colours and coarse texture.
* ``scale`` s: the photo stylized at s × its size and the output resized back: the network's strokes
  keep their size in pixels, so they come out 1/s as large relative to the picture.

Each setting is applied to each style of each network set in ``networks`` (the committed reference
models, and the networks trained from scratch) on the same photos at the same size as `fidelity`,
scored by the same evaluator against the Gatys rows of the ``gatys_source`` run, means over the
photos.  The "as trained" row of each network is its plain output, the same image `fidelity` and
`scratch_scaled` score.  Per style, the lowest ratio among the settings that keep Gatys' SSIM
(`scratch_scaled.best_at_gatys_ssim`) is what the cheapest way round retraining would give.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.registered import fidelity, scratch_scaled
from experiments.runner import ROOT, Experiment, markdown_table, register, run_config

NETWORKS = {"reference": "results/models", "scratch": str(scratch_scaled.MODELS_DIR)}
LEVERS = {"blend": [0.9, 0.8], "detail": [0.05, 0.1, 0.15, 0.25, 0.5], "scale": [0.75, 1.5]}
AS_TRAINED = ("none", 1.0)
NEUTRAL = {"blend": 1.0, "detail": 0.0, "scale": 1.0}  # the value at which each lever gives the plain output
LEVER_NAMES = {"none": "as trained", "blend": "blend α", "detail": "detail λ", "scale": "scale s"}


def settings(cfg: dict) -> list[tuple[str, float]]:
    """(lever, value) pairs of a preset, the network's plain output first."""
    return [AS_TRAINED, *((lever, float(v)) for lever, values in cfg["levers"].items() for v in values)]


def setting_name(lever: str, value: float) -> str:
    return LEVER_NAMES[lever] if lever == "none" else f"{LEVER_NAMES[lever].split()[0]} {value:g}"


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W, C) image convolved with a Gaussian of ``sigma`` px along H and W, kernel cut at 4σ, borders
    mirrored about the edge pixels' outer side (as ``scipy.ndimage.gaussian_filter``'s default mode)."""
    radius = int(4 * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.asarray(image, np.float64)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="symmetric")
        n = out.shape[axis]
        out = sum(w * np.take(padded, np.arange(i, i + n), axis=axis) for i, w in enumerate(kernel))
    return out.astype(np.float32)


def blend(output: np.ndarray, photo: np.ndarray, alpha: float) -> np.ndarray:
    """photo + α (output − photo): α = 1 is the output, α = 0 the photo."""
    return (photo + alpha * (output - photo)).astype(np.float32)


def add_detail(output: np.ndarray, photo: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """output + λ (photo − G_σ * photo), clipped to [0, 1]: the photo's detail finer than σ px added back."""
    return np.clip(output + amount * (photo - gaussian_blur(photo, sigma)), 0.0, 1.0).astype(np.float32)


def items(cfg: dict) -> list[dict]:
    scratch_scaled.source_rows(cfg)  # a Gatys source at another size fails here, before any network runs
    out = []
    for net, folder in cfg["networks"].items():
        for m, k, s in fidelity.model_styles(cfg, Path(folder)):
            out += [{"id": f"{net}-{m}-{k}-{p}-{lever}{value:g}", "method": "feedforward", "networks": net,
                     "model": m, "style_index": k, "style": s, "photo": p, "lever": lever, "value": value}
                    for p in cfg["photos"] for lever, value in settings(cfg)]
    return out


def cell_file(out: Path, item: dict) -> Path:
    return out / "cells" / f"{item['id']}.jpg"  # display only (scores are taken before saving): JPEG keeps the page light


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    """The network's output on the photo with one lever applied, scored as `fidelity.run_item` scores outputs."""
    import nst
    from nst.evaluate import Evaluator, border_line_contrast
    from nst.io.images import load_image, resize_image, save_image

    ev = cache.setdefault("evaluator", Evaluator.create())
    key = f"model:{item['networks']}:{item['model']}"
    if key not in cache:
        cache[key] = nst.load(ROOT / cfg["networks"][item["networks"]] / f"{item['model']}.nst")
    model, k = cache[key], int(item["style_index"])
    photo_file = ROOT / "data/content/eval" / f"{item['photo']}.jpg"
    photo = load_image(photo_file, max_size=cfg["size"])  # as `fidelity`
    lever, value = item["lever"], float(item["value"])
    if lever == "scale":  # decoded from the file at the new size, not resampled from the smaller photo
        h, w = photo.shape[:2]
        image = load_image(photo_file, size=(max(1, round(h * value)), max(1, round(w * value))))
        out = resize_image(model.stylize(image, style=k), (h, w))
    else:
        plain = cache.get(("plain", key, k, item["photo"]))
        if plain is None:
            plain = cache[("plain", key, k, item["photo"])] = model.stylize(photo, style=k)
        if lever == "blend":
            out = blend(plain, photo, value)
        elif lever == "detail":
            out = add_detail(plain, photo, value, cfg["detail_sigma"])
        else:
            out = plain
    if item["photo"] == cfg["sheet_photo"] and item["networks"] == cfg["sheet_networks"]:
        save_image(out, cell_file(cache["out"], item))
    scores = ev(out, photo, load_image(ROOT / "data/styles" / f"{item['style']}.jpg"))
    return {**{col: float(scores[m]) for m, col in fidelity.METRICS.items()},
            "edge_contrast": float(border_line_contrast(out))}


def per_setting(rows: list[dict], gatys: list[dict]) -> list[dict]:
    """`fidelity.per_style` records per (network set, model, style, setting): ``net``, ``lever`` and ``value``
    added, ``model`` kept as the committed model's name."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["networks"], r["lever"], float(r["value"])), []).append(r)
    out = []
    for (net, lever, value), rs in groups.items():
        out += [{**rec, "net": net, "lever": lever, "value": value} for rec in fidelity.per_style(rs + gatys)]
    return out


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    cfg = run_config(out)
    source = scratch_scaled.source_rows(cfg)
    gatys = [r for r in source if r["method"] == "gatys"]
    recs = [r for r in per_setting(rows, gatys) if "ratio" in r]
    order = {s: i for i, s in enumerate(settings(cfg))}
    recs.sort(key=lambda r: (list(cfg["networks"]).index(r["net"]), r["model"], r["style"],
                             order[(r["lever"], r["value"])]))
    names = [setting_name(*s) for s in settings(cfg)]
    md = [f"Each style of each network set ({', '.join(f'{n}: `{d}`' for n, d in cfg['networks'].items())}) on "
          f"{', '.join(cfg['photos'])} at {cfg['size']} px, its output changed at stylize time by one lever (no "
          "training): `blend α` mixes it with the photo (photo + α (output − photo)), `detail λ` adds the photo's "
          f"detail finer than σ = {cfg['detail_sigma']:g} px back (output + λ (photo − G_σ * photo)), `scale s` "
          "stylizes the photo at s × its size and resizes the output back. Scored by the fixed evaluator against "
          f"the Gatys rows of `{cfg['gatys_source']}` on the same photos, means over the photos. Each cell: style "
          "loss ÷ Gatys', then SSIM − Gatys' SSIM (≥ 0 keeps as much of the photo as Gatys). Regenerate with "
          "`python -m experiments run output_levers --preset cpu`.\n"]
    for net in cfg["networks"]:
        table = []
        for (model, style), group in _grouped(r for r in recs if r["net"] == net):
            cells = {(r["lever"], r["value"]): r for r in group}
            table.append([model, painting_name(style), f"{group[0]['gatys_ssim']:.3f}",
                          *(f"{cells[s]['ratio']:.2f} ({cells[s]['ff_ssim'] - cells[s]['gatys_ssim']:+.3f})"
                            if s in cells else "—" for s in settings(cfg))])
        md.append(f"\n## {net}\n\n" + markdown_table(["model", "painting", "Gatys SSIM", *names], table))
    candidates = [{**r, "base": r["model"], "network": f"{r['net']}, {setting_name(r['lever'], r['value'])}"}
                  for r in recs]
    best = scratch_scaled.best_at_gatys_ssim(candidates)
    plain = {(r["net"], r["model"], r["style"]): r for r in recs if (r["lever"], r["value"]) == AS_TRAINED}
    md.append("\n## Measured at Gatys' SSIM\n\nFor each style, the lowest style ÷ Gatys among every network set "
              "and setting above whose SSIM is at least Gatys' (where none keeps it, the one with the highest "
              "SSIM), beside that network's plain output.\n")
    md.append(markdown_table(
        ["model", "painting", "Gatys SSIM", "picked", "÷ Gatys", "SSIM", "its network as trained: ÷ Gatys (SSIM)"],
        [[r["model"], painting_name(r["style"]), f"{r['gatys_ssim']:.3f}", r["network"], f"{r['ratio']:.2f}",
          f"{r['ff_ssim']:.3f}", f"{plain[(r['net'], r['model'], r['style'])]['ratio']:.2f} "
                                 f"({plain[(r['net'], r['model'], r['style'])]['ff_ssim']:.3f})"] for r in best]))
    md.append("\nIssue #13's targets, each style's pick above:\n" + fidelity.targets_table(best))
    written = [trade_off_figure(recs, cfg, out / "trade_off.png")]
    md.append("\n![each style in its own panel: style ÷ Gatys against the SSIM margin as each lever turns, from "
              "each network's plain output (filled marker)](trade_off.png)\n")
    sheet_net = cfg["sheet_networks"]
    photo = load_image(ROOT / "data/content/eval" / f"{cfg['sheet_photo']}.jpg", max_size=cfg["size"])
    source_cells = ROOT / cfg["gatys_source"] / "cells"
    grid, labels = [], []
    for r in (r for r in rows if r["networks"] == sheet_net and r["photo"] == cfg["sheet_photo"]
              and (r["lever"], float(r["value"])) == AS_TRAINED):
        stem = r["id"].rsplit("-", 1)[0]  # the item id without its setting
        cells = [source_cells / f"gatys-{r['style']}-{cfg['sheet_photo']}.png",
                 *(cell_file(out, {"id": f"{stem}-{lever}{value:g}"}) for lever, value in settings(cfg))]
        grid.append([photo] + [load_image(c) if c.exists() else None for c in cells])
        labels.append(f"{r['model'].split('_')[0]}: {painting_name(r['style'])}")
    if grid:
        sheet = labelled_grid(grid, ["photo", "Gatys", *names], labels, cell=128, font_size=11)
        written.append(save_image(sheet, out / "outputs.png"))
        md.append(f"\n![{cfg['sheet_photo']}, the {sheet_net} networks: the photo, Gatys, then each network's output "
                  "as trained and with each lever (columns), one style per row](outputs.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def _grouped(recs) -> list[tuple[tuple[str, str], list[dict]]]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in recs:
        groups.setdefault((r["model"], r["style"]), []).append(r)
    return list(groups.items())


def trade_off_figure(recs: list[dict], cfg: dict, path: Path) -> Path:
    """One panel per (model, style): per network set and lever, a line from the plain output through the
    lever's settings in (SSIM − Gatys', style ÷ Gatys'), with issue #13's limits."""
    from nst.io.images import painting_name

    panels = _grouped(recs)
    fig, axes = fidelity.style_panels(len(panels))
    colors = {"blend": "tab:orange", "detail": "tab:green", "scale": "tab:purple"}
    styles = dict(zip(cfg["networks"], ("--", "-", ":")))
    for ax, ((model, style), group) in zip(axes.flat, panels):
        for net in cfg["networks"]:
            mine = {(r["lever"], r["value"]): r for r in group if r["net"] == net}
            if AS_TRAINED not in mine:
                continue
            p = mine[AS_TRAINED]
            for lever, values in cfg["levers"].items():  # in the order of the lever's value, through the plain output
                line = {NEUTRAL[lever]: p, **{float(v): mine[(lever, float(v))] for v in values if (lever, float(v)) in mine}}
                pts = [(line[v]["ff_ssim"] - p["gatys_ssim"], line[v]["ratio"]) for v in sorted(line)]
                ax.plot(*zip(*pts), ls=styles[net], marker=".", ms=4, lw=1, color=colors[lever])
            ax.scatter([p["ff_ssim"] - p["gatys_ssim"]], [p["ratio"]], marker="D" if net == "reference" else "o",
                       color="k", s=16, zorder=3)
        fidelity.style_panel(ax, f"{model.split('_')[0]}: {painting_name(style)}",
                             tuple(sorted({*fidelity.RATIO_TICKS, 48, 64, 96})))
    handles = [axes.flat[0].plot([], [], color=c, label=LEVER_NAMES[lever])[0] for lever, c in colors.items()
               if lever in cfg["levers"]]
    handles += [axes.flat[0].plot([], [], color="k", ls=styles[net], marker="D" if net == "reference" else "o",
                                  ms=4, label=f"{net} networks (marker: as trained)")[0] for net in cfg["networks"]]
    return fidelity.finish_style_panels(fig, axes, len(panels), handles, path)

def reads(cfg: dict) -> list[str]:
    return [*(f"{folder}/{m}.nst" for folder in cfg["networks"].values() for m in cfg["models"]), cfg["gatys_source"]]


def item_reads(item: dict, cfg: dict) -> list[str]:
    return [f"{cfg['networks'][item['networks']]}/{item['model']}.nst"]


COMMON = {"networks": NETWORKS, "levers": LEVERS, "detail_sigma": 2.0, "gatys_source": "results/fidelity",
          "sheet_networks": "scratch"}
EXPERIMENT = register(Experiment(
    name="output_levers",
    description="blend with the photo, add its detail back, stylize at another scale: issue #13's targets "
                "without retraining?",
    presets={"quick": {**COMMON, "models": ["johnson_great_wave"], "photos": ["skimage_chelsea"], "size": 64,
                       "levers": {"blend": [0.8], "detail": [0.5], "scale": [1.5]}, "sheet_photo": "skimage_chelsea"},
             "cpu": {**COMMON, "models": list(fidelity.MODELS), "photos": scratch_scaled.PHOTOS, "size": 256,
                     "sheet_photo": "kodak_kodim23"}},
    reads=reads, item_reads=item_reads, items=items, run_item=run_item, plot=plot))
