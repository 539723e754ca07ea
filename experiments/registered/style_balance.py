"""How much style can a trained network take, and on which layers, before it keeps less of the photo than Gatys?

`results/fidelity` found the networks keep *more* of the photo than Gatys does (SSIM higher for every
style) while their evaluator style loss is 3–20× Gatys'.  The evaluator's style term is almost all
relu4_1 (``experiments/registered/fidelity_layers.py``), a layer the default recipe (``dumoulin2017``:
relu1_2 … relu4_3) never trains on.  This study fine-tunes the committed reference model, as
``recipe_study`` does (same seed, same start, same photos), with:

* ``dumoulin2017``: the default recipe, for the same extra iterations (the control);
* ``dumoulin2017*K``: the same recipe with its style weights ×K (``--style-weight K``);
* ``gatys_default``: the objective Gatys optimises by default (content relu4_2, style relu1_1 … relu5_1,
  β = 1e-3), i.e. the network learns the loss it is compared on;
* ``dumoulin2017+relu4_1:W``: the default recipe (content relu3_3, which holds the photo's structure)
  plus the evaluator's dominant style layer, relu4_1, at w_ℓ = W;
* ``magenta``: the default recipe's layers and weights with the two settings Magenta's code fixes and
  ``dumoulin2017`` does not follow: average pooling in the loss network and style Grams from each
  painting file as stored (``nst.recipes``); ``magenta^256`` keeps its average pooling with the style at
  the default's 256-px long side, which separates the two.

* ``dumoulin2017~G``: the default recipe with the total-variation weight γ = G instead of the reference
  models' 1e7.  Gatys' default, the baseline, has no TV term (γ = 0), and TV smooths exactly the fine
  strokes the networks' outputs lack, while it is what holds their 4-px grid down
  (``grid_ablation``); ``dumoulin2017+relu4_1:1e-5~1e6`` combines less TV with relu4_1.

Every other variant keeps the reference models' TV weight (γ = 1e7).  Each is scored with the fixed evaluator
against a Gatys result on the same photos, overall and layer by layer.  The CPU preset is a short
fine-tune and shows the direction each change pushes a trained network; the GPU training run
(``experiments/scripts/gpu_reference_run.sh``, ``RECIPE``/``STYLE_WEIGHT``) trains with the winner.
"""

from __future__ import annotations

from pathlib import Path

from experiments.registered import recipe_study
from experiments.runner import Experiment, register

INTRO = ("Each variant fine-tunes the committed reference model for the preset's iterations (same seed, same "
         "start, γ = 1e7 as the reference models unless `~G` says otherwise); `dumoulin2017` (the default recipe) is the control, "
         "`RECIPE*K` multiplies the recipe's style weights by K, `RECIPE+LAYER:W` adds a style layer at "
         "w_ℓ = W, `RECIPE~G` trains with the TV weight γ = G instead, `gatys_default` trains on Gatys' default objective, `magenta` is the default recipe with "
         "Magenta's average pooling and style Grams from the painting file as stored (`magenta^256`: its pooling, "
         "the style at 256 px). `style bought per SSIM`: "
         "−Δlog10(style loss) ÷ −ΔSSIM against the control (larger: more style for the photo given up; "
         "— where SSIM did not fall).")
PHOTOS = ["kodak_kodim23", "kodak_kodim21", "skimage_chelsea", "kodak_kodim08"]


def column_label(variant: str) -> str:
    """A variant over its column of the sheet, with spaces where it may wrap (``…+relu4_1:1e-5~1e6`` is
    wider than a cell; the sheet's font has no γ): ``dumoulin2017 +relu4_1:1e-5 TV=1e6``."""
    return variant.replace("+", " +").replace("~", " TV=")


def plot(rows: list[dict], out: Path) -> list[Path]:
    return recipe_study.plot(rows, out, INTRO, "style_balance", control="dumoulin2017", column_label=column_label)


def reads(cfg: dict) -> list[str]:
    return recipe_study.reads(cfg)


EXPERIMENT = register(Experiment(
    name="style_balance",
    description="fine-tune a reference model with more style weight or Gatys' layers: style against SSIM",
    presets={"quick": {"models": ["johnson_great_wave"],
                       "recipes": ["dumoulin2017*3", "gatys_default", "dumoulin2017+relu4_1:1e-5", "magenta",
                                   "dumoulin2017~0"],
                       "iterations": 2, "batch_size": 1, "image_size": 48, "style_size": 256,
                       "learning_rate": 1e-3, "tv_weight": 1e7, "eval_photos": ["skimage_chelsea"],
                       "train_photos": 1, "eval_size": 64, "gatys_steps": 2},
             "cpu": {"models": ["johnson_starry_night", "johnson_great_wave"],
                     "recipes": ["dumoulin2017", "dumoulin2017*3", "dumoulin2017*10", "gatys_default",
                                 "dumoulin2017+relu4_1:1e-5", "dumoulin2017+relu4_1:3e-5", "magenta",
                                 "magenta^256", "dumoulin2017~3e6", "dumoulin2017~1e6", "dumoulin2017~0",
                                 "dumoulin2017+relu4_1:1e-5~1e6"],
                     "iterations": 150, "batch_size": 2, "image_size": 256, "style_size": 256,
                     "learning_rate": 1e-3, "tv_weight": 1e7, "eval_photos": PHOTOS, "train_photos": 4,
                     "eval_size": 256, "gatys_steps": 300},
             "gpu": {"models": ["johnson_starry_night", "johnson_great_wave"],
                     "recipes": ["dumoulin2017", "dumoulin2017*3", "dumoulin2017*10", "gatys_default",
                                 "dumoulin2017+relu4_1:1e-5", "dumoulin2017+relu4_1:3e-5", "magenta",
                                 "magenta^256", "dumoulin2017~3e6", "dumoulin2017~1e6", "dumoulin2017~0",
                                 "dumoulin2017+relu4_1:1e-5~1e6"],
                     "iterations": 4000, "batch_size": 4, "image_size": 256, "style_size": 256,
                     "learning_rate": 1e-3, "tv_weight": 1e7, "eval_photos": PHOTOS, "train_photos": 8,
                     "eval_size": 512, "gatys_steps": 300}},
    reads=reads,
    items=recipe_study.items, run_item=recipe_study.run_item, plot=plot))
