"""Experiment 4 — a new style by fine-tuning γ/β only, against training a network from scratch.

``finetune``: `DumoulinStylizer.add_style` on the committed 8-style reference model — only the new
style's γ/β rows (3,206 parameters at width 1) train.  ``scratch``: a one-style network (all
1.68M parameters) trained on the same style with the same settings.  Both use the same perceptual
loss, content images, batch size, crop size and seed, so their loss curves share one scale.  Writes
the loss histories, the curves, the iterations each run needs to reach given loss levels, and the
new style on an evaluation photo from each run.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from experiments.curves import first_below, smooth
from experiments.runner import ROOT, Experiment, markdown_table, painting, register, run_config, save_figure, subplots

MODEL = "results/models/dumoulin_8styles.nst"
ARMS = {"finetune": "γ/β fine-tuning (add_style)", "scratch": "from scratch (all parameters)"}


def items(cfg: dict) -> list[dict]:
    return [{"id": arm, "arm": arm} for arm in ARMS]


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    import nst
    from nst.interface.feedforward import stylizer_from_training
    from nst.io.images import load_image, save_image
    from nst.methods.training import TrainConfig, train

    style = ROOT / "data/styles" / f"{cfg['style']}.jpg"
    content = ROOT / "data/content/train"
    opts = {"max_iterations": cfg["iterations"], "batch_size": cfg["batch_size"], "image_size": cfg["image_size"],
            "style_size": cfg["style_size"], "seed": 0, "checkpoint_every": 10**9}
    t0 = time.perf_counter()
    if item["arm"] == "finetune":
        base = nst.load(ROOT / MODEL)
        model = base.add_style(style, content=content, verbose=False, **opts)
        history = model.history
        trainable = base.parameter_counts()["per_style"]
        style_index = model.num_styles - 1
    else:
        base = nst.load(ROOT / MODEL)
        saved = {k: (tuple(v) if isinstance(v, list) else v) for k, v in base.meta["training"].items()}
        cfg_t = TrainConfig(**{**saved, "method": "johnson", "time_limit": None, **opts})
        res = train([style], content, cfg_t, verbose=False)
        model = stylizer_from_training(res.model, res.meta, res.history)
        history = model.history
        trainable = model.parameter_counts()["total"]
        style_index = 0
    seconds = time.perf_counter() - t0
    hist_dir = cache["out"] / "histories"
    hist_dir.mkdir(parents=True, exist_ok=True)
    np.savetxt(hist_dir / f"{item['id']}.csv", np.asarray(history)[:, :2], delimiter=",", fmt="%.6g",
               header="iteration,loss", comments="")
    photo = load_image(ROOT / "data/content/eval" / f"{cfg['content']}.jpg", max_size=cfg["eval_size"])
    save_image(model.stylize(photo, style=style_index), cache["out"] / "cells" / f"{item['id']}.png")
    loss = np.asarray(history)[:, 1]
    tail = max(1, len(loss) // 10)
    return {"trainable_parameters": trainable, "iterations": len(loss), "seconds": seconds,
            "final_loss": float(loss[-tail:].mean())}


def _histories(out: Path) -> dict[str, np.ndarray]:
    found = {}
    for arm in ARMS:
        p = out / "histories" / f"{arm}.csv"
        if p.exists():
            found[arm] = np.loadtxt(p, delimiter=",", skiprows=1, ndmin=2)
    return found


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, painting_name, save_image

    hist = _histories(out)
    k = max(1, min(len(h) for h in hist.values()) // 20) if hist else 1
    fig, ax = subplots(figsize=(6, 3.6), dpi=100)
    for arm, h in hist.items():
        ax.plot(h[:, 0], smooth(h[:, 1], k), label=ARMS[arm])
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"training loss ({k}-iteration average, log)")
    ax.set_title("A new style: γ/β only vs from scratch")
    ax.legend()
    written = [save_figure(fig, out / "loss_vs_iterations.png")]
    table = [[ARMS[r["arm"]], f"{int(r['trainable_parameters']):,}", int(r["iterations"]), f"{r['seconds']:.0f} s",
              f"{float(r['final_loss']):.4g}"] for r in rows]
    levels_md = ""
    if len(hist) == 2:
        ft, sc = (smooth(hist[a][:, 1], k) for a in ("finetune", "scratch"))
        start = max(ft[0], sc[0])
        end = min(ft[-1], sc[-1])
        levels = np.geomspace(start, end, 5)[1:]
        lv_rows = []
        for lv in levels:
            a = first_below(hist["finetune"][:, 0], ft, lv)
            b = first_below(hist["scratch"][:, 0], sc, lv)
            lv_rows.append([f"{lv:.4g}", a if a is not None else "not reached", b if b is not None else "not reached"])
        levels_md = ("\n\nIterations until the averaged loss first reaches each level:\n\n"
                     + markdown_table(["loss level", "iterations, fine-tuning", "iterations, from scratch"], lv_rows))
    arms = [a for a in ARMS if (out / "cells" / f"{a}.png").exists()]
    if arms:
        style = run_config(out).get("style")
        grid = labelled_grid([[load_image(out / "cells" / f"{a}.png") for a in arms]],
                             [f"{ARMS[a]}: {painting_name(style) if style else 'new style'}" for a in arms], cell=256,
                             column_images=[painting(style) if style else None for _ in arms])
        written.append(save_image(grid, out / "outputs.png"))
    md = out / "summary.md"
    md.write_text("A new style learned by training only its γ/β rows in the 8-style reference model, against a "
                  "one-style network trained from scratch with the same settings (same loss scale).\n\n"
                  + markdown_table(["run", "trainable parameters", "iterations", "wall time", "final loss "
                                    "(last 10% average)"], table) + levels_md
                  + "\n\n![loss](loss_vs_iterations.png)\n\n![outputs: fine-tuned, scratch](outputs.png)\n")
    return [md, *written]


def reads(cfg: dict) -> list[str]:
    return [MODEL]


EXPERIMENT = register(Experiment(
    name="fine_tune",
    description="new style: γ/β-only fine-tuning of the 8-style model vs a network from scratch (loss vs iterations)",
    presets={"quick": {"style": "munch_the_scream", "iterations": 3, "batch_size": 1, "image_size": 64,
                       "style_size": 64, "content": "skimage_chelsea", "eval_size": 64},
             "cpu": {"style": "munch_the_scream", "iterations": 150, "batch_size": 2, "image_size": 128,
                     "style_size": 192, "content": "kodak_kodim21", "eval_size": 256},
             "gpu": {"style": "munch_the_scream", "iterations": 2000, "batch_size": 8, "image_size": 256,
                     "style_size": 256, "content": "kodak_kodim21", "eval_size": 512}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
