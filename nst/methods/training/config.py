"""Training options: `TrainConfig`, the per-method defaults, and reading them back from a model file.

The default loss is the ``dumoulin2017`` recipe (`nst.recipes`; Magenta's image_stylization
defaults): content at relu3_3, style at relu1_2, relu2_2, relu3_3, relu4_3 with w_ℓ = 1e-4 each,
α = β = 1, no TV, with max pooling and 256-px style images where Magenta's code averages and keeps the
style files unresized (recipe ``magenta``; ``results/style_balance`` measured that change moving the
networks away from Gatys on the evaluator, so the default keeps both).  ``results/recipe_study``
picked it: fine-tuning the same reference model for the same iterations, it gave the lowest
evaluator style loss and palette distance of the recipes, at an SSIM above Gatys'; the committed
reference models are trained with it (and γ = 1e7).  The first default is ``--recipe nst2026``
(content relu2_2, style relu1_1 … relu4_1, β = 1e-5 over equal weights).  Batch size and iterations
stay CPU-sized here; the recipe's own (batch 16, 40k iterations) come with ``--recipe dumoulin2017``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ...core.networks import BORDER_STAGES, OUTPUTS, STYLIZE_BORDER_STAGE
from ...core.objective import PerceptualObjective
from ...core.vgg import check_padding
from ...errors import NSTError

TRAIN_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # Magenta: vgg_16/conv1 … conv4
TRAIN_CONTENT_LAYERS = ("relu3_3",)  # Magenta: vgg_16/conv3
TRAIN_STYLE_LAYER_WEIGHTS = (1e-4, 1e-4, 1e-4, 1e-4)  # Magenta DEFAULT_STYLE_WEIGHTS (our convention, exactly)
# Adam's step size over a run.  Johnson et al.'s train.lua keeps it constant by default (its step decay,
# -lr_decay_every, defaults to -1: off) and so does Magenta's trainer; the decaying schedules reach 0 at
# max_iterations (results/lr_decay asks whether the networks end in Adam's noise)
LR_SCHEDULES = ("constant", "linear", "cosine")
# a model file's training border is also its stylize default (nst.interface.feedforward.default_border), so
# it is bounded; fast-neural-style's reflect-start padding, the widest in the papers' code, is 40 px
MAX_TRAIN_BORDER = 256


def default_max_iterations(method: str, num_styles: int) -> int:
    """Johnson: 4,000.  Dumoulin: 2,000 × (1 + S/4).

    Each iteration draws one style per example, so a style sees about B/S
    examples per step: the per-style budget shrinks as S grows unless the
    iterations grow with S.  The shared convolutions learn from every style,
    so the growth is sub-proportional (Dumoulin et al. trained 32 styles for
    40k steps, about 1.25k steps per style).
    """
    if method == "johnson":
        return 4000
    return int(2000 * (1 + num_styles / 4))


@dataclass
class TrainConfig:
    """Training options (Turi Create names where they exist).  Presets override fields."""

    method: str = "johnson"
    max_iterations: int | None = None  # None: default_max_iterations(method, num_styles)
    batch_size: int = 4
    image_size: int = 256  # content crops, px
    # long side of each style image when its Grams are computed; None: the file as stored (Magenta
    # computes its style Grams once, from each style file at its own size: recipe "magenta")
    style_size: int | None = 256
    content_weight: float = 1.0
    style_weight: float = 1.0  # β; the balance is in the per-layer weights below
    tv_weight: float = 0.0
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"  # one of LR_SCHEDULES; see learning_rate_at
    width: float = 1.0
    # the network's last step (`nst.core.networks.OUTPUTS`): "sigmoid", the papers' network, or
    # "photo_residual", a change to the photo in logit space (results/photo_residual); a fine-tune keeps its model's
    network_output: str = "sigmoid"
    seed: int = 0
    checkpoint_every: int = 500
    content_layers: tuple[str, ...] = TRAIN_CONTENT_LAYERS
    style_layers: tuple[str, ...] = TRAIN_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = TRAIN_STYLE_LAYER_WEIGHTS  # w_ℓ; None: equal, summing to 1
    pooling: str = "max"  # the loss network's pooling ("avg": Turi Create, Gatys et al.)
    # the loss network's conv padding: "zero" as in every paper's VGG; "reflect" mirrors each map instead, so
    # a frame of the mean colour no longer enters the objective (results/vgg_padding; the evaluator keeps zeros)
    vgg_padding: str = "zero"
    # β multiplier per style, in the model's style order (Dumoulin); None: 1 for every style.  Magenta's
    # trainer has the same knob (image_stylization_train.py --style_coefficients, default 1 for every
    # style); Dumoulin et al.'s paper weights every style alike.  Styles a network leaves far from Gatys,
    # with SSIM to spare, can be given more (results/style_scales)
    style_scales: tuple[float, ...] | None = None
    # The reflected border the network is trained with, as `TransformerNet.__call__` takes it.  0 trains the
    # bare network (Magenta's trainer does, and tests it bare; fast-neural-style's train.lua trains and tests
    # with its reflect-start padding); stylizing adds `STYLIZE_BORDER` at `STYLIZE_BORDER_STAGE` against the
    # edge line, which changes the instance-norm statistics the network learned with, so a network trained
    # bare is stylized by a slightly different computation (results/quality_vs_time: the bare passes).
    # STYLIZE_BORDER at its stage trains the computation `stylize` runs (results/train_border)
    train_border: int = 0
    train_border_stage: str = STYLIZE_BORDER_STAGE
    recipe: str | None = None  # the nst.recipes entry these options came from (a record; the fields rule)
    time_limit: float | None = None  # seconds; stop early (and save) when exceeded

    def validate(self) -> "TrainConfig":
        if self.method not in ("johnson", "dumoulin"):
            raise NSTError(f"training method must be johnson or dumoulin, not {self.method!r}")
        for name in ("batch_size", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise NSTError(f"{name} must be at least 1")
        if self.max_iterations is not None and self.max_iterations < 1:
            raise NSTError("max_iterations must be at least 1")
        if self.image_size < 32 or (self.style_size is not None and self.style_size < 32):
            raise NSTError("image_size and style_size must be at least 32 px")
        if not 0 < self.width <= 4:
            raise NSTError("width must be in (0, 4]")
        for name in ("content_weight", "style_weight", "tv_weight", "learning_rate"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0:
                raise NSTError(f"{name} must be a finite non-negative number")
        if self.style_scales is not None and (not self.style_scales or not all(
                isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in self.style_scales)):
            raise NSTError("style_scales must be finite non-negative numbers, one per style")
        if self.network_output not in OUTPUTS:
            raise NSTError(f"network_output must be one of {', '.join(OUTPUTS)}, not {self.network_output!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise NSTError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, not {self.lr_schedule!r}")
        if isinstance(self.train_border, bool) or not isinstance(self.train_border, int) or \
                not 0 <= self.train_border <= MAX_TRAIN_BORDER:
            raise NSTError(f"train_border must be 0 to {MAX_TRAIN_BORDER} pixels, not {self.train_border!r}")
        if self.train_border_stage not in BORDER_STAGES:
            raise NSTError(f"train_border_stage must be one of {', '.join(BORDER_STAGES)}, "
                           f"not {self.train_border_stage!r}")
        if self.train_border_stage == "residual" and self.train_border % 4:
            raise NSTError(f"a residual-stage train_border is a multiple of 4 px, not {self.train_border}")
        if self.pooling not in ("max", "avg"):
            raise NSTError(f"pooling must be 'max' or 'avg', not {self.pooling!r}")
        check_padding(self.vgg_padding)
        self.objective()  # layers and per-layer weights
        return self

    def objective(self) -> PerceptualObjective:
        """The perceptual objective these options define (`nst.core.objective`).

        A uniform ``style_layer_weights`` (the default) applies to whatever style layers are chosen,
        so ``style_layers=`` alone keeps 1e-4 per layer; non-uniform weights must match the layers.
        """
        weights = self.style_layer_weights
        if weights is not None and len(weights) != len(self.style_layers) and len(set(weights)) == 1:
            weights = (weights[0],) * len(self.style_layers)
        return PerceptualObjective(tuple(self.content_layers), tuple(self.style_layers), weights,
                                   self.content_weight, self.style_weight, self.tv_weight)

    @classmethod
    def from_dict(cls, options: dict[str, Any], **changes: Any) -> "TrainConfig":
        """The options saved in a model's metadata (``meta["training"]``), with ``changes`` applied.

        JSON turns tuples into lists; they are turned back.  Unknown keys are an `NSTError`.
        """
        if not isinstance(options, dict):
            raise NSTError("the model's training options are not a mapping")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(options) - known
        if unknown:
            raise NSTError(f"unknown training option(s) in the model file: {', '.join(sorted(unknown))}")
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()}
        try:
            return cls(**{**values, **changes})
        except TypeError as e:
            raise NSTError(f"bad training options: {e}") from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
