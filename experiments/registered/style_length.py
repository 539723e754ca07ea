"""Does the gap to Gatys close with training length, or stay where a short fine-tune leaves it?

`style_balance` fine-tunes the committed Johnson models for 150 iterations with each candidate
recipe; its best trade adds relu4_1 (the evaluator's dominant style layer) to the default recipe.
A short fine-tune shows the direction a change pushes a trained network, not where it ends.  This
experiment continues *one* fine-tune in stages and scores it after each: the run at ``lengths[k]``
resumes the checkpoint the run at ``lengths[k-1]`` wrote (the training loop writes one when a run
ends, and a resumed run equals an uninterrupted one, tested), so the stages cost one run of the
longest length.  Every stage is scored as `style_balance` scores its variants: with the fixed
evaluator against a Gatys result on the same photos (default settings, ``gatys_steps`` steps),
overall and per VGG layer, on evaluation and training photos.

The CPU preset continues to 1000 iterations at batch 2 (2000 images, a twentieth of what the GPU
gave the reference models); the gpu preset is the question's full form (to 8000 at batch 4).
"""

from __future__ import annotations

from pathlib import Path

from experiments.registered import recipe_study
from experiments.runner import Experiment, markdown_table, register, save_figure, subplots

INTRO = ("One fine-tune of the committed reference model with the `variant` (same seed, γ = 1e7 as the reference "
         "models), scored after each stage: `VARIANT@N` is the model after N iterations, each stage resuming the "
         "previous one's checkpoint. `style bought per SSIM`: −Δlog10(style loss) ÷ −ΔSSIM against the committed "
         "reference model. The sheet of outputs names each stage by its iterations.")
PHOTOS = ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea", "kodak_kodim08"]


def stage_name(variant: str, iterations: int) -> str:
    return f"{variant}@{iterations}"


def items(cfg: dict) -> list[dict]:
    out = []
    for model in cfg["models"]:
        out.append({"id": f"{model}/gatys", "model": model, "variant": "gatys"})
        out.append({"id": f"{model}/reference", "model": model, "variant": "reference"})
        for n in sorted(cfg["lengths"]):
            name = stage_name(cfg["variant"], n)
            out.append({"id": f"{model}/{name}", "model": model, "variant": name, "iterations": n})
    return out


def checkpoint_path(out: Path, model: str, variant: str, iterations: int) -> Path:
    return out / "models" / f"{model}_{recipe_study.slug(stage_name(variant, iterations))}.ckpt"


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    if "iterations" not in item:  # the Gatys baseline and the committed model, as recipe_study scores them
        return recipe_study.run_item(item, cfg, cache)
    n = item["iterations"]
    earlier = [m for m in sorted(cfg["lengths"]) if m < n]
    resume = checkpoint_path(cache["out"], item["model"], cfg["variant"], earlier[-1]) if earlier else None
    # without the previous stage's checkpoint (a fresh rerun of one stage) train from the reference model:
    # the same seed gives the same model, only slower
    run = {"resume": resume} if resume is not None and resume.exists() else {}
    ckpt = checkpoint_path(cache["out"], item["model"], cfg["variant"], n)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    return {**recipe_study.fine_tuned_row(item, cfg, cache, n, checkpoint=ckpt, **run),
            "iterations": n, "resumed_from": earlier[-1] if run else 0}


def plot(rows: list[dict], out: Path) -> list[Path]:
    written = recipe_study.plot(rows, out, INTRO, "style_length", control="reference",
                                column_label=lambda v: f"{v.partition('@')[2]} iterations" if "@" in v else v)
    summary = written[0]
    md = ["\n## Against training length\n",
          "Each stage's evaluation style loss as a multiple of Gatys' (issue #13's target: ≤ 3 at an SSIM ≥ "
          "Gatys'), overall and on relu4_1, and its SSIM against Gatys'; iteration 0 is the committed model.\n"]
    fig, axes = subplots(1, 2, figsize=(10, 3.6), dpi=100)
    for model in sorted({r["model"] for r in rows}):
        mine = [r for r in rows if r["model"] == model]
        gatys = next((r for r in mine if r["variant"] == "gatys"), None)
        ref = next((r for r in mine if r["variant"] == "reference"), None)
        stages = sorted((r for r in mine if r.get("iterations") not in (None, "")), key=lambda r: int(r["iterations"]))
        if gatys is None or ref is None or not stages:
            continue
        series = [(0, ref)] + [(int(r["iterations"]), r) for r in stages]
        g_style, g_ssim = float(gatys["eval_style"]), float(gatys["eval_ssim"])
        g4 = float(gatys["eval_style_relu4_1"])
        table = [[str(n), f"{float(r['eval_style']) / g_style:.2f}", f"{float(r['eval_style_relu4_1']) / g4:.2f}",
                  f"{float(r['eval_ssim']):.3f}", f"{float(r['eval_ssim']) - g_ssim:+.3f}",
                  f"{float(r['eval_grid']):.4f}"] for n, r in series]
        md += [f"\n### {model} (Gatys SSIM {g_ssim:.3f})\n",
               markdown_table(["iterations", "style ÷ Gatys", "relu4_1 ÷ Gatys", "eval SSIM", "SSIM − Gatys'",
                               "grid"], table)]
        xs = [n for n, _ in series]
        line = axes[0].plot(xs, [float(r["eval_style"]) / g_style for _, r in series], marker="o", label=model)[0]
        axes[1].plot(xs, [float(r["eval_ssim"]) for _, r in series], marker="o", color=line.get_color(), label=model)
        axes[1].axhline(g_ssim, color=line.get_color(), ls=":", lw=0.9, label=f"Gatys, {model}")
    axes[0].axhline(3, color="0.5", ls="--", lw=0.8, label="target ≤ 3")
    for ax, label in zip(axes, ("evaluator style loss ÷ Gatys'", "SSIM to the photo")):
        ax.set_xlabel("fine-tune iterations (0 = the committed model)")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    axes[0].set_title("style: lower is closer to Gatys")
    axes[1].set_title("content: at or above the dotted line is the target")
    figure = save_figure(fig, out / "length_curve.png")
    md.append("\n![style ratio and SSIM against fine-tune iterations](length_curve.png)\n")
    with summary.open("a") as f:
        f.write("\n".join(md) + "\n")
    return [*written, figure]


def reads(cfg: dict) -> list[str]:
    return recipe_study.reads(cfg)


EXPERIMENT = register(Experiment(
    name="style_length",
    description="one fine-tune with relu4_1 added, scored after each stage: does the gap to Gatys close with length?",
    presets={"quick": {"models": ["johnson_great_wave"], "variant": "dumoulin2017+relu4_1:3e-5", "lengths": [1, 2],
                       "batch_size": 1, "image_size": 48, "style_size": 256, "learning_rate": 1e-3,
                       "tv_weight": 1e7, "eval_photos": ["skimage_chelsea"], "train_photos": 1, "eval_size": 64,
                       "gatys_steps": 2},
             "cpu": {"models": ["johnson_starry_night", "johnson_great_wave"], "variant": "dumoulin2017+relu4_1:3e-5",
                     "lengths": [150, 400, 1000], "batch_size": 2, "image_size": 256, "style_size": 256,
                     "learning_rate": 1e-3, "tv_weight": 1e7, "eval_photos": PHOTOS, "train_photos": 4,
                     "eval_size": 256, "gatys_steps": 300},
             "gpu": {"models": ["johnson_starry_night", "johnson_great_wave"], "variant": "dumoulin2017+relu4_1:3e-5",
                     "lengths": [500, 2000, 8000], "batch_size": 4, "image_size": 256, "style_size": 256,
                     "learning_rate": 1e-3, "tv_weight": 1e7, "eval_photos": PHOTOS, "train_photos": 8,
                     "eval_size": 512, "gatys_steps": 300}},
    reads=reads,
    items=items, run_item=run_item, plot=plot))
