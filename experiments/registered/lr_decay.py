"""Do the networks end in Adam's noise?  Fine-tunes of the Dumoulin model whose learning rate decays to 0.

Johnson et al. (2016, train.lua) and Magenta's Dumoulin trainer keep Adam's learning rate at 1e-3 for
the whole run, and so were the committed reference models trained (batch 8 on a GPU).  A fine-tune
of the committed model with the same recipe moves its ratios to Gatys by tens of per cent either way
(`results/style_scales`, `control`), which is what a model sitting in the noise of its last steps
would do.  If that noise is what keeps the networks from Gatys, a learning rate that decays to 0
should settle them lower on their own objective and, through it, on the evaluator.

Every variant fine-tunes the committed model for the same iterations, photos, crops and style draws
(same seed, batch 2 on the CPU) and differs only in the `style_scales.VARIANTS` options:
``control`` (constant 1e-3, as trained), ``decayed`` (1e-3 → 0, linear), ``decayed_low`` (2e-4 → 0:
a settling run that hardly moves the model first), and ``scaled`` / ``scaled_decayed`` (the per-style
β of `results/style_scales`, constant and decaying).  Scored exactly as `style_scales` scores its
variants, against the Gatys results of `results/fidelity`.
"""

from __future__ import annotations

from experiments.registered import style_scales
from experiments.runner import Experiment, register, run_config_commit

ROOT = style_scales.ROOT
VARIANTS = ["control", "decayed", "decayed_low", "scaled", "scaled_decayed"]


def intro(cfg: dict) -> str:
    source = cfg.get("gatys_source", "results/fidelity")
    return (f"The committed Dumoulin model (`reference`) and fine-tunes of it for {cfg.get('iterations')} iterations "
            f"(batch {cfg.get('batch_size')}, γ = {cfg.get('tv_weight'):g}), every one on the same photos, crops and "
            "style draws (same seed); they differ only in the learning rate and the per-style β: `control` keeps "
            "Adam's 1e-3 as the model was trained, `decayed` lowers it linearly to 0 over the fine-tune, "
            "`decayed_low` from 2e-4 to 0; `scaled` and `scaled_decayed` add β × s_k per style "
            "(s_k = max(1, ratio ÷ 3), as `results/style_scales`). "
            f"Scored on {', '.join(cfg.get('photos', []))} at {cfg.get('size')} px against the Gatys results of "
            f"`{source}` (commit {run_config_commit(ROOT / source)}). Regenerate with "
            "`python -m experiments run lr_decay --preset cpu`.\n")


def plot(rows, out):
    return style_scales.plot(rows, out, describe=intro)


EXPERIMENT = register(Experiment(
    name="lr_decay",
    description="a learning rate that decays to 0: do the networks settle nearer Gatys?",
    # style_scales' presets; quick trains 2 iterations, the fewest where a decaying rate differs (η_0 = η)
    presets={name: {**preset, **({"variants": ["control", "decayed"], "iterations": 2} if name == "quick" else
                                 {"variants": VARIANTS})}
             for name, preset in style_scales.EXPERIMENT.presets.items()},
    items=style_scales.items, run_item=style_scales.run_item, plot=plot))
