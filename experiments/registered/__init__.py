"""The registered experiments: importing this package registers every one with the runner.

Each module declares one `experiments.runner.Experiment` (its presets in one ``presets=`` dict)
and calls `register`; ``python -m experiments list`` shows them.
"""

from . import (  # noqa: F401 - importing registers
    border, export_models, fidelity, fidelity_layers, fig5_ratio, fine_tune, gatys_ablations, grid_ablation, interpolation, many_styles, quality_vs_time,
    one_photo, output_levers, photo_residual, recipe_study, reference_models, scratch_capacity, scratch_relu4_1, scratch_scaled, speed, lr_decay, style_balance, style_length, style_scales,
    train_border, vgg_padding)
