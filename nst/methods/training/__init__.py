"""Training the feedforward networks (generations 2 and 3 share all of it).

* `config` — `TrainConfig`, defaults, reading options back from a model file;
* `step` — the pure, jitted train step and the style draw;
* `loop` — `train`: data, checkpoints, resume, progress;
* `surgery` — one more style row, and the mask that trains only it;
* `metadata` — what a model file records about its training;
* `history` — the loss history as CSV and a plot.
"""

from .config import LR_SCHEDULES, TRAIN_CONTENT_LAYERS, TRAIN_STYLE_LAYERS, TrainConfig, default_max_iterations
from .history import read_history, write_history, write_history_csv
from .loop import TrainingInterrupted, TrainResult, train
from .metadata import (StyleInfo, describe_style, describe_training, extended_meta, model_meta, training_stages)
from .step import (TrainState, learning_rate_at, make_train_step, optimizer, perceptual_loss, style_choices,
                   style_targets)
from .surgery import extend_styles, new_row_mask

__all__ = [
    "LR_SCHEDULES", "TRAIN_CONTENT_LAYERS", "TRAIN_STYLE_LAYERS", "StyleInfo", "TrainConfig", "TrainResult",
    "TrainState", "TrainingInterrupted", "default_max_iterations", "describe_style", "describe_training",
    "extended_meta", "extend_styles", "learning_rate_at", "make_train_step", "model_meta", "new_row_mask", "optimizer",
    "perceptual_loss", "read_history", "style_choices", "style_targets", "train", "training_stages", "write_history",
    "write_history_csv",
]
