"""The network's ceiling: trained on the one photo it is scored on, does it reach Gatys?

Every re-weighting measured so far (`style_balance`, `style_length`, `style_scales`,
`scratch_relu4_1`) moved the networks along one curve, trading the photo for style, far from the
point a Gatys result reaches (`results/scratch_relu4_1/trade_off.png`).  Two explanations remain:

* **amortisation**: one set of weights must serve every photo, so it settles for an average
  stylization; more photos, longer training or more capacity would close the gap;
* **the architecture**: a 1.7 M-weight conv net with instance norm cannot put out what Gatys'
  per-pixel optimisation finds, whatever it is trained on.

This experiment separates them.  The committed reference network is trained further on *one*
evaluation photo only — the whole photo at its evaluation size, every step, no crops — and scored on
that same photo at milestones.  With nothing to generalise to, amortisation is gone: whatever gap to
Gatys is left is the architecture's (and Adam's, at this learning rate and length).  Objectives:

* ``dumoulin2017``: the reference models' recipe and γ = 1e7 (the photo-specific limit of today's
  training);
* ``gatys_default``: the very objective the Gatys baseline minimises (γ = 0, as Gatys), so the
  network and L-BFGS chase the same number.

``OBJECTIVE@N`` shares the same training steps among N photos (the evaluation photo and the first N − 1
training photos, each cropped to its shape, one photo per step in turn): the same compute, less of it
for the photo that is scored, as a network trained on many photos gets.  How fast the gain falls
with N is the cost of amortisation.

For each training objective other than Gatys' own, ``lbfgs:OBJECTIVE`` optimises the photo's pixels on
that objective with Gatys' L-BFGS (``gatys_steps`` steps from the photo): how far the same number of
Gatys steps gets on the training objective, next to a network trained on the photo.

A Gatys result (default settings, ``gatys_steps`` L-BFGS steps, as `fidelity`) and the reference
network score the same photo.  Not from a paper: Johnson et al. 2016 and Ulyanov et al. 2016 train on
large photo sets and do not report a single-photo ceiling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from experiments.provenance import reference_model
from experiments.registered import recipe_study
from experiments.runner import (ROOT, Experiment, markdown_table, register, run_config, run_config_commit, save_figure,
                                subplots)

METRICS = ("style", "content", "ssim", "grid")


def items(cfg: dict) -> list[dict]:
    out = []
    for model in cfg["models"]:
        for photo in cfg["photos"]:
            # L-BFGS on each training objective but Gatys' own (that is the "gatys" row)
            lbfgs = [f"lbfgs:{o}" for o in cfg["objectives"] if o != "gatys_default" and "@" not in o]
            out += [{"id": f"{model}/{photo}/{v}", "model": model, "photo": photo, "variant": v}
                    for v in ("gatys", *lbfgs, "reference", *cfg["objectives"])]
    return out


def cell_path(out: Path, model: str, photo: str, variant: str) -> Path:
    return out / "cells" / f"{model}_{photo}_{recipe_study.slug(variant)}.png"


def train_config(objective: str, cfg: dict):
    """The `TrainConfig` of one objective: the recipe, batch 1, the preset's learning rate and TV weight."""
    from nst.methods.training import TrainConfig
    from nst.recipes import with_recipe

    objective = objective.partition("@")[0]
    tv = cfg["tv_weight"][objective]
    return TrainConfig.from_dict(with_recipe({"recipe": objective, "batch_size": 1, "tv_weight": tv,
                                              "learning_rate": cfg["learning_rate"],
                                              "style_size": cfg["size"]}, "train"))


def training_objective(objective: str, cfg: dict, output: np.ndarray, photo: np.ndarray, style_path: Path) -> float:
    """``objective``'s value (`train_config`, the loss a network trains on) for one output of ``photo``."""
    import jax.numpy as jnp

    from nst.core.vgg import VGG19
    from nst.io.images import load_image
    from nst.methods.training.step import perceptual_loss, style_targets

    tc = train_config(objective, cfg)
    vgg = VGG19.pretrained(max_layer=tc.objective().deepest_layer).with_settings(tc.pooling, tc.vgg_padding)
    grams = style_targets(vgg, [load_image(style_path, size=tc.style_size)], tc)
    total, _ = perceptual_loss(jnp.asarray(output)[None], jnp.asarray(photo)[None], jnp.ones((1, 1), jnp.float32),
                               vgg, grams, tc)
    return float(total)


def scored(evaluator, output: np.ndarray, photo: np.ndarray, style: np.ndarray) -> dict[str, float]:
    r = evaluator(output, photo, style)
    return {m: float(r[m]) for m in METRICS}


def cropped_like(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to cover ``shape`` (H, W), then its centre cropped to it."""
    from nst.io.images import resize_image

    h, w = shape
    scale = max(h / image.shape[0], w / image.shape[1])
    big = resize_image(image, (max(h, round(image.shape[0] * scale)), max(w, round(image.shape[1] * scale))))
    top, left = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return big[top:top + h, left:left + w]


def shared_photos(photo: np.ndarray, objective: str) -> list[np.ndarray]:
    """The photos an ``OBJECTIVE@N`` run takes its steps on in turn: ``photo``, then N − 1 training photos."""
    from nst.io.images import list_images, load_image

    n = int(objective.partition("@")[2] or 1)
    others = list_images(ROOT / "data" / "content" / "train")[: n - 1]
    if len(others) < n - 1:
        raise ValueError(f"{objective}: only {len(others)} training photos")
    return [photo] + [cropped_like(load_image(p, max_size=2 * max(photo.shape[:2])), photo.shape[:2]) for p in others]


def on_one_photo(ref, photo: np.ndarray, style_path: Path, objective: str, cfg: dict, evaluate) -> dict:
    """Train ``ref``'s network further on ``photo`` (``OBJECTIVE@N``: in turn with N − 1 training photos);
    ``evaluate(stylizer)`` scores it at each milestone.

    Milestones are scored as the network was trained, without the stylize border (``at{N}_{metric}``,
    N = 0: the reference network); the last one also with it (``bordered_{metric}``): a network fitted
    to one unpadded picture may not carry over to the padded one (instance norm's statistics change).
    The last bare output is returned under ``"output"``.
    """
    import time

    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    from nst.core.networks import TransformerNet
    from nst.core.vgg import VGG19
    from nst.interface.feedforward import FeedforwardStylizer
    from nst.io.images import load_image
    from nst.methods.training.step import TrainState, make_train_step, style_targets

    tc = train_config(objective, cfg)
    vgg = VGG19.pretrained(max_layer=tc.objective().deepest_layer).with_settings(tc.pooling, tc.vgg_padding)
    grams = style_targets(vgg, [load_image(style_path, size=tc.style_size)], tc)
    graphdef, _ = nnx.split(TransformerNet(ref.model.config, nnx.Rngs(0)), nnx.Param)
    params = jax.tree.map(jnp.array, nnx.state(ref.model, nnx.Param))  # a copy: the step donates it
    tx = optax.adam(tc.learning_rate)
    state = TrainState(params, tx.init(params), jnp.zeros((), jnp.int32))
    step = make_train_step(graphdef, tx, vgg, grams, tc)
    batches = [{"images": jnp.asarray(p)[None], "style_weights": jnp.ones((1, 1), jnp.float32)}
               for p in shared_photos(photo, objective)]

    def network() -> Any:
        return nnx.merge(graphdef, jax.tree.map(jnp.array, state.params))

    row: dict = {}
    seconds = 0.0
    milestones = sorted(set(cfg["milestones"]) | {0})
    for n in range(milestones[-1] + 1):
        if n:
            t0 = time.perf_counter()
            state, metrics = step(state, batches[(n - 1) % len(batches)])
            jax.block_until_ready(metrics["loss"])
            seconds += time.perf_counter() - t0
        if n in milestones:
            if n and (n - 1) % len(batches) == 0:  # a step on the scored photo (not another of OBJECTIVE@N's):
                row[f"at{n}_loss"] = float(metrics["loss"])  # the objective on its forward pass, before its update
            scores, output = evaluate(FeedforwardStylizer(network(), ref.meta, border=0))
            row.update({f"at{n}_{m}": v for m, v in scores.items()})
    bordered, _ = evaluate(FeedforwardStylizer(network(), ref.meta))
    row.update({f"bordered_{m}": v for m, v in bordered.items()})
    row.update({"output": output, "train_seconds": round(seconds, 1), "iterations": milestones[-1]})
    return row


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    import nst
    from nst.io.images import load_image, save_image

    ref, style_path = recipe_study.reference_and_style(item, cache)
    evaluator = cache["evaluator"]
    photo = load_image(ROOT / "data" / "content" / "eval" / f"{item['photo']}.jpg", max_size=cfg["size"])
    style = load_image(style_path)
    cell = cell_path(cache["out"], item["model"], item["photo"], item["variant"])

    def evaluate(stylizer) -> tuple[dict, np.ndarray]:
        out = stylizer.stylize(photo, style=0)
        return scored(evaluator, out, photo, style), out

    if item["variant"] == "gatys" or item["variant"].startswith("lbfgs:"):
        # the Gatys baseline (default settings), or Gatys' L-BFGS on a training objective with its TV weight
        recipe = item["variant"].partition(":")[2]
        options = {"recipe": recipe, "tv_weight": cfg["tv_weight"][recipe]} if recipe else {}
        gatys = nst.create("gatys", [style_path], steps=cfg["gatys_steps"], size=cfg["size"], verbose=False,
                           **options)
        out = gatys.stylize(photo, style=0)
        save_image(out, cell)
        row = scored(evaluator, out, photo, style)
        if recipe:  # comparable with a trained network's training loss on the same objective
            row["own_objective"] = training_objective(recipe, cfg, out, photo, style_path)
        return row
    if item["variant"] == "reference":
        scores, out = evaluate(ref)
        save_image(out, cell)
        return scores
    row = on_one_photo(ref, photo, style_path, item["variant"], cfg, evaluate)
    save_image(row.pop("output"), cell)
    last = row["iterations"]
    return {**{m: row[f"at{last}_{m}"] for m in METRICS}, **row}


def milestones(row: dict) -> list[int]:
    return sorted(int(k[2:].split("_")[0]) for k in row if k.startswith("at") and k.endswith("_style"))


def label(variant: str) -> str:
    """A variant as a column heading of the sheet."""
    if variant in ("gatys", "reference"):
        return {"gatys": "Gatys", "reference": "reference network"}[variant]
    if variant.startswith("lbfgs:"):
        return f"L-BFGS on {variant[6:]}"
    name, _, n = variant.partition("@")
    return f"trained on it: {name}" + (f" (1 of {n} photos)" if n else "")


def gatys_objective(row: dict, prefix: str = "") -> float:
    """Gatys' default objective of a scored output, from the evaluator's two terms: content + β·style.

    The evaluator's terms are Gatys' default objective's with α = β = 1 (`nst.evaluate`), so with the
    default β (`GatysConfig.style_weight`) this is the number the Gatys baseline minimises.
    """
    from nst.methods.gatys import GatysConfig

    c = GatysConfig()
    return c.content_weight * float(row[f"{prefix}content"]) + c.style_weight * float(row[f"{prefix}style"])


def plot(rows: list[dict], out: Path) -> list[Path]:
    from nst.io.images import labelled_grid, load_image, save_image

    config = run_config(out)
    md = ["The committed reference network trained further on **one** evaluation photo (the whole photo at "
          f"{config.get('size')} px, batch 1, Adam {config.get('learning_rate')}), scored on that same photo: with "
          "nothing to generalise to, the gap left to Gatys is the architecture's, not the training set's. "
          "`style ÷ Gatys`: the evaluator's style loss over that of a Gatys result on the photo (default settings, "
          f"{config.get('gatys_steps')} L-BFGS steps); issue #13's target is ≤ 3 at an SSIM ≥ Gatys'. `objective ÷ "
          "Gatys`: Gatys' default objective (content + 10⁻³·style, the number the Gatys baseline minimises and the "
          "`gatys_default` variant trains on) over the Gatys result's. The trained networks are scored as they were "
          "trained, without the stylize border (the reference row is the model as `nst stylize` runs it); "
          "`bordered` repeats the last milestone with the default border. `OBJECTIVE@N`: the same steps taken in "
          "turn on the photo and N − 1 training photos (cropped to its shape), so the scored photo gets 1/N of them. "
          "`lbfgs:OBJECTIVE`: Gatys' L-BFGS "
          "on that training objective (and its TV weight) instead of Gatys' default one, the same steps. `own "
          "objective`: the value of the objective the row optimised (a trained network: its training loss at the "
          "last iteration; `lbfgs:OBJECTIVE`: that objective on its output). Reference models: `results/models/` at "
          f"{run_config_commit(out)}. Regenerate with `python -m experiments run one_photo --preset cpu`.\n"]
    written: list[Path] = []
    keys = sorted({(r["model"], r["photo"]) for r in rows})
    fig, axes = subplots(1, max(1, len(keys)), figsize=(4.2 * max(1, len(keys)), 3.6), dpi=100, squeeze=False)
    sheet, row_names, columns = [], [], []
    for ax, (model, photo) in zip(axes[0], keys):
        mine = {r["variant"]: r for r in rows if r["model"] == model and r["photo"] == photo}
        gatys = mine.get("gatys")
        g_style = float(gatys["style"]) if gatys else float("nan")
        g_objective = gatys_objective(gatys) if gatys else float("nan")

        def cells(r: dict, prefix: str = "") -> list[str]:
            return [f"{float(r[f'{prefix}style']) / g_style:.2f}", f"{float(r[f'{prefix}ssim']):.3f}",
                    f"{float(r[f'{prefix}grid']):.4f}", f"{gatys_objective(r, prefix) / g_objective:.2f}"]

        table = []
        for variant, r in mine.items():
            trained = "bordered_style" in r
            own = r.get("own_objective", r.get(f"at{int(float(r['iterations']))}_loss") if trained else None)
            table.append([variant, *cells(r), f"{float(own):.4g}" if own is not None else "—",
                          *(cells(r, "bordered_") if trained else ["—"] * 4),
                          f"{int(float(r['iterations']))}" if trained else "—",
                          f"{float(r['train_seconds']):.0f}" if trained else "—"])
        md += [f"\n## {model} on {photo}\n",
               markdown_table(["variant", "style ÷ Gatys", "SSIM", "grid", "objective ÷ Gatys", "own objective",
                               "bordered: style ÷ Gatys", "SSIM", "grid", "objective ÷ Gatys",
                               "iterations on the photo", "training s"], table)]
        line_colours = iter(["C0", "C1", "C2", "C4", "C5", "C6", "C7", "C8", "C9"])  # C3 (red): Gatys' star
        for variant in [v for v, r in mine.items() if milestones(r)]:
            r = mine[variant]
            ms = milestones(r)
            md += [f"\n`{variant}` at each milestone (iterations on the photo; `training loss`: its own objective "
                   "on the training step's forward pass):\n",
                   markdown_table(["iterations", "style ÷ Gatys", "SSIM", "grid", "objective ÷ Gatys", "training loss"],
                                  [[n, *cells(r, f"at{n}_"),
                                    f"{float(r[f'at{n}_loss']):.4g}" if f"at{n}_loss" in r else "—"] for n in ms])]
            ax.plot([float(r[f"at{n}_ssim"]) for n in ms], [float(r[f"at{n}_style"]) / g_style for n in ms],
                    "o-", label=variant, ms=3, color=next(line_colours, "0.5"))
            ax.annotate(str(ms[-1]), (float(r[f"at{ms[-1]}_ssim"]), float(r[f"at{ms[-1]}_style"]) / g_style),
                        fontsize=7)
        if "reference" in mine:
            r = mine["reference"]
            ax.scatter([float(r["ssim"])], [float(r["style"]) / g_style], marker="s", color="k", label="reference")
        if gatys:
            ax.scatter([float(gatys["ssim"])], [1.0], marker="*", s=90, color="C3", label="Gatys")
            ax.axhline(3, color="0.5", ls="--", lw=0.8)
            ax.axvline(float(gatys["ssim"]), color="0.5", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("SSIM to the photo")
        ax.set_ylabel("style loss ÷ Gatys'")
        ax.set_title(f"{model.replace('johnson_', '')} on {photo}", fontsize=9)
        ax.legend(fontsize=7)
        columns = list(mine)
        paths = [cell_path(out, model, photo, v) for v in columns]
        if all(c.exists() for c in paths):
            size = config.get("size") or 256
            sheet.append([load_image(ROOT / "data/content/eval" / f"{photo}.jpg", max_size=size),
                          load_image(ROOT / "data/styles" / f"{recipe_study.STYLE_OF[model]}.jpg", max_size=size)]
                         + [load_image(c) for c in paths])
            row_names.append(f"{model.replace('johnson_', '')} / {photo}")
    written.append(save_figure(fig, out / "trajectory.png"))
    md.append("\n![style ÷ Gatys against SSIM as the network trains on the one photo (points: the milestones, "
              "the first is the reference network without the border); dashed: the ×3 target, dotted: Gatys' SSIM]"
              "(trajectory.png)\n")
    if sheet and all(len(s) == len(sheet[0]) for s in sheet):
        written.append(save_image(labelled_grid(sheet, ["photo", "painting", *map(label, columns)], row_names,
                                                cell=192, font_size=12),
                                  out / "outputs.png"))
        md.append("\n![each photo (rows): the photo, the painting, Gatys, the reference network and the network "
                  "trained on that photo with each objective, without the border (columns)](outputs.png)\n")
    summary = out / "summary.md"
    summary.write_text("\n".join(md) + "\n")
    return [summary, *written]


def reads(cfg: dict) -> list[str]:
    return [reference_model(m) for m in cfg["models"]]


EXPERIMENT = register(Experiment(
    name="one_photo",
    description="the network trained on the one photo it is scored on: does it reach Gatys without amortisation?",
    presets={"quick": {"models": ["johnson_great_wave"], "photos": ["skimage_chelsea"],
                       "objectives": ["dumoulin2017", "gatys_default", "dumoulin2017@2"], "milestones": [1, 2], "size": 64,
                       "learning_rate": 1e-3, "tv_weight": {"dumoulin2017": 1e7, "gatys_default": 0.0},
                       "gatys_steps": 2},
             "cpu": {"models": ["johnson_starry_night", "johnson_great_wave"], "photos": ["kodak_kodim23"],
                     "objectives": ["dumoulin2017", "gatys_default", "dumoulin2017@4", "dumoulin2017@16"],
                     "milestones": [30, 100, 300, 600, 1000],
                     "size": 256, "learning_rate": 1e-3,
                     "tv_weight": {"dumoulin2017": 1e7, "gatys_default": 0.0}, "gatys_steps": 300}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
