"""Twice the width, or a longer run: does capacity or training length close the gap to Gatys?

`one_photo` found that a width-1 Johnson network trained on one photo reaches Gatys' style on it,
while the committed network, which must serve every photo, stays far from it: the gap is
amortisation.  Two GPU-sized remedies are left: more capacity (Johnson et al.'s network at channel
multiplier 2, four times the parameters) and the papers' longer training (40k iterations: Johnson et al. 2016
§4.1, and Magenta's image_stylization ``train_steps`` for Dumoulin et al. 2017; docs/recipes.md; the
committed models ran 10k).  One GPU call
trained, from scratch and with exactly the committed models' recipe (``dumoulin2017``, γ = 1e7 from
the start, batch 4, 256-px crops, seed 0; ``experiments/scripts/gpu_reference_run.sh`` with
``WIDTH=2``, and ``JOHNSON_ITERATIONS=20000`` for the longer run; the call's record:
``results/models/scratch_capacity/gpu_run.txt``):

- ``width2``: both Johnson networks at width 2, 10k iterations (the committed models' length);
- ``width1_longer``: the Starry Night network at width 1 for as long as the call allowed
  (its iterations are in the summary's last table).

Width and length both land the networks at a higher SSIM, not a lower style loss, so a second call
asked whether the wider network trades better once pushed towards style: the committed width-1
network (``reference*3``) and the width-2 one (``width2*3``) fine-tuned side by side with the style
weight × 3 for 3000 iterations, same seed (``experiments/scripts/gpu_capacity_finetune.sh``).

Each is scored as `scratch_relu4_1` scores its networks (the fixed evaluator on evaluation and
training photos, per VGG layer, against a Gatys result and the committed model), and the training
losses are compared over the same iterations (`loss_table`, `loss_curves.png`): the objective the
networks were trained on says whether width or length lowers it at all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.registered import scratch_relu4_1
from experiments.runner import ROOT, Experiment, markdown_table, register, run_config, save_figure, subplots

MODELS_DIR = Path("results/models/scratch_capacity")
INTRO = ("Each network was trained from scratch on a GPU with the committed models' recipe (`dumoulin2017`, "
         "γ = 1e7 from the start, batch 4, 256-px crops, seed 0): `width2` at channel multiplier 2 for 10k "
         "iterations, `width1_longer` at width 1 for the iterations in the last table; `reference` is the "
         "committed width-1 model of 10k iterations; `reference*3` and `width2*3` are the reference model and `width2` "
         "fine-tuned on a GPU with the style weight × 3 for 3000 iterations (same seed). `style bought per SSIM`: −Δlog10(style loss) ÷ −ΔSSIM "
         "against the reference model.")
#: the variants of the trade-off figure beside this run's: the earlier GPU run and the CPU fine-tunes
EARLIER = {"scratch_relu4_1": "GPU, from scratch with relu4_1 (scratch_relu4_1)", **scratch_relu4_1.EARLIER}
#: the training losses are compared over this many 1000-iteration windows, the last ending where the shorter run stopped
WINDOWS = 2


def model_path(model: str, folder: str) -> Path:
    return scratch_relu4_1.model_path(model, folder, MODELS_DIR)


def run_item(item: dict, cfg: dict, cache: dict) -> dict:
    return scratch_relu4_1.run_item(item, cfg, cache, MODELS_DIR)


def loss_history(row: dict) -> np.ndarray:
    """The training loss CSV (iteration, loss, content, style, tv) of the network a row scored."""
    folder = row.get("folder") or ""
    path = (model_path(row["model"], folder) if folder else ROOT / "results" / "models" / f"{row['model']}.nst")
    return np.loadtxt(path.with_suffix(".loss.csv"), delimiter=",", skiprows=1, ndmin=2)


def window_mean(history: np.ndarray, first: int, last: int, column: int = 1) -> float:
    """The mean of ``column`` over iterations first … last (NaN when the run did not reach ``last``)."""
    it = history[:, 0]
    if it.max() < last:
        return float("nan")
    return float(history[(it >= first) & (it <= last), column].mean())


def compared_with(row: dict, variants: dict) -> str | None:
    """The variant whose training loss ``row``'s is compared with: the third entry of its ``variants``
    config (``reference`` for the runs from scratch, the other width's fine-tune for a fine-tune), None
    for the reference model and for a fine-tune that others are compared with."""
    entry = variants.get(row["variant"])
    return entry[2] if entry else None


def loss_table(rows: list[dict], variants: dict) -> list[str]:
    """Mean training loss per window against the compared run's, and each run's last 1000 iterations."""
    trained = [r for r in rows if r["variant"] != "gatys"]
    if not trained:
        return []
    table = []
    for r in trained:
        h = loss_history(r)
        cells = [r["model"], r["variant"], f"{int(h[-1, 0])}"]
        base_name = compared_with(r, variants)
        base = next((b for b in trained if b["model"] == r["model"] and b["variant"] == base_name), None)
        if base is None:
            cells += ["—"] * WINDOWS
        else:
            ref = loss_history(base)
            shared = int(min(h[-1, 0], ref[-1, 0]))
            for k in range(WINDOWS, 0, -1):  # 1000-iteration windows ending at shared / k
                last = shared * (WINDOWS + 1 - k) // WINDOWS
                mine, theirs = window_mean(h, last - 999, last), window_mean(ref, last - 999, last)
                cells.append(f"its {last - 999}–{last}: {mine:.4g} against {theirs:.4g} "
                             f"({100 * (mine / theirs - 1):+.1f} %)")
        first, last = max(1, int(h[-1, 0]) - 999), int(h[-1, 0])
        cells += [base_name or "—", f"{window_mean(h, first, last):.4g}", f"{window_mean(h, first, last, 3):.4g}",
                  f"{window_mean(h, first, last, 2):.4g}"]
        table.append(cells)
    header = ["model", "variant", "iterations", *(f"loss, window {k + 1} (vs compared run)" for k in range(WINDOWS)),
              "compared with", "loss, last 1000 its", "style term, last 1000", "content term, last 1000"]
    return ["\n## The training objective\n",
            "The training loss on the training batches (each run's own objective: a fine-tune with β × 3 weighs "
            "style three times as much), averaged over 1000-iteration windows that both compared runs reached, "
            "the last ending where the shorter run stopped (the reference model's loss CSV is "
            "`results/models/MODEL.loss.csv`). Runs from the same seed see the same batches, so equal windows "
            "compare the objective each reached; the width-1 run that repeats the reference model's first "
            "10k iterations says how far two runs of the same settings on the GPU drift apart.\n",
            markdown_table(header, table), "\n![training loss, moving mean over 500 iterations](loss_curves.png)\n"]


def loss_curves(rows: list[dict], variants: dict, out: Path) -> Path | None:
    """The training loss of every network, a moving mean over 500 iterations: one panel per model and per
    run the others are compared with (the reference model; a fine-tune)."""
    trained = [r for r in rows if r["variant"] != "gatys"]
    roots = [r for r in trained if compared_with(r, variants) is None]
    if not roots:
        return None
    fig, axes = subplots(1, len(roots), figsize=(5.2 * len(roots), 3.6), dpi=100, squeeze=False)
    for ax, root in zip(axes[0], roots):
        for r in trained:
            if r["model"] != root["model"] or (r is not root and compared_with(r, variants) != root["variant"]):
                continue
            h = loss_history(r)
            n = min(500, len(h))
            smooth = np.convolve(h[:, 1], np.ones(n) / n, mode="valid")
            ax.plot(h[n - 1:, 0], smooth, label=r["variant"], lw=1.2)
        ax.set_yscale("log")
        ax.set_xlabel("iteration" if root["variant"] == "reference" else "fine-tune iteration")
        ax.set_ylabel("training loss (moving mean, 500 its)")
        ax.set_title(f"{root['model']}: {root['variant']} and the runs compared with it", fontsize=9)
        ax.legend(fontsize=7)
    return save_figure(fig, out / "loss_curves.png")


def plot(rows: list[dict], out: Path) -> list[Path]:
    written = scratch_relu4_1.plot_gpu_run(rows, out, INTRO, "scratch_capacity", MODELS_DIR, EARLIER)
    variants = run_config(out).get("variants", VARIANTS)
    figure = loss_curves(rows, variants, out)
    if figure is not None:
        written.append(figure)
        with written[0].open("a") as f:
            f.write("\n".join(loss_table(rows, variants)) + "\n")
    return written


PHOTOS = scratch_relu4_1.PHOTOS
#: variant → [folder under MODELS_DIR, the models it has, the variant its training loss is compared with]
VARIANTS = {"width2": ["w2", ["johnson_starry_night", "johnson_great_wave"], "reference"],
            "width1_longer": ["w1", ["johnson_starry_night"], "reference"],
            "reference*3": ["w1_style3", ["johnson_starry_night"], None],
            "width2*3": ["w2_style3", ["johnson_starry_night"], "reference*3"]}

def reads(cfg: dict) -> list[str]:
    return scratch_relu4_1.reads(cfg, MODELS_DIR, {})


EXPERIMENT = register(Experiment(
    name="scratch_capacity",
    description="Johnson networks trained from scratch on a GPU at width 2 and for longer, against Gatys and the reference",
    presets={"quick": {"models": ["johnson_starry_night"], "variants": {"width1_longer": ["w1", ["johnson_starry_night"], "reference"]},
                       "eval_photos": ["skimage_chelsea"], "train_photos": 1, "eval_size": 64, "gatys_steps": 2},
             "cpu": {"models": ["johnson_starry_night", "johnson_great_wave"], "variants": VARIANTS,
                     "eval_photos": PHOTOS, "train_photos": 4, "eval_size": 256, "gatys_steps": 300},
             "gpu": {"models": ["johnson_starry_night", "johnson_great_wave"], "variants": VARIANTS,
                     "eval_photos": PHOTOS, "train_photos": 8, "eval_size": 512, "gatys_steps": 300}},
    reads=reads,
    items=scratch_relu4_1.items, run_item=run_item, plot=plot))
