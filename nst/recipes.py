r"""The papers' loss settings, converted into our loss convention (`nst.core.objective`).

A `Recipe` sets everything the objective needs — layers, per-layer style weights :math:`w_\ell`,
α, β, γ, pooling — plus the optimisation settings the paper or its reference implementation used
(batch, learning rate, iterations, image and style sizes; for Gatys the initialisation and the
optimiser).  ``nst.create(..., recipe="dumoulin2017")``, ``nst train --recipe johnson2016`` and
``nst stylize --recipe gatys2016`` apply one; explicit options win over it.

Every value has a source in `Recipe.sources`; the conversions are derived in
``docs/recipes.md`` and checked by ``tests/test_recipes.py``, which computes each paper's loss in
its own normalisation with NumPy and ours with the converted weights on the same VGG features.

Our convention, per layer with :math:`M = HW` positions and :math:`N = C` channels:
:math:`L_c = \frac{1}{MN}\sum (F-P)^2`, :math:`G = F^\top F / M`,
:math:`E_\ell = \frac{1}{N^2}\sum (G - A)^2`, :math:`L = \alpha L_c + \beta \sum_\ell w_\ell E_\ell + \gamma L_{tv}`.
A recipe stores α = 1 and puts the papers' style-to-content balance into :math:`w_\ell` (β = 1);
`Recipe.paper_scale` is the factor that turns our value back into the paper's total.

All of them use VGG16 features except Gatys et al.; we use VGG19 throughout (the layers named
``relu3_3``/``relu4_3`` exist in both: the third conv of blocks 3 and 4).  That is the one
departure every feedforward recipe shares; others are listed per recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .core.objective import PerceptualObjective
from .errors import NSTError

#: channels of the VGG layers the recipes use (VGG16 and VGG19 agree on these)
CHANNELS = {"relu1_1": 64, "relu1_2": 64, "relu2_1": 128, "relu2_2": 128, "relu3_1": 256, "relu3_3": 256,
            "relu4_1": 512, "relu4_2": 512, "relu4_3": 512, "relu5_1": 512}
JOHNSON_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass(frozen=True)
class Recipe:
    """One paper's settings in our convention (see the module docstring)."""

    name: str
    citation: str
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    style_layer_weights: tuple[float, ...]  # w_ℓ with β = 1, α = 1
    tv_weight: float  # γ in our convention
    pooling: str
    training: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields
    gatys: dict[str, Any] = field(default_factory=dict)  # GatysConfig fields
    paper_scale: float = 1.0  # paper's total loss = paper_scale × ours
    sources: dict[str, str] = field(default_factory=dict)
    departures: tuple[str, ...] = ()

    def objective(self) -> PerceptualObjective:
        return PerceptualObjective(self.content_layers, self.style_layers, self.style_layer_weights, 1.0, 1.0,
                                   self.tv_weight)

    def objective_options(self) -> dict[str, Any]:
        """The objective's fields, as `TrainConfig`/`GatysConfig` name them."""
        return {"content_layers": self.content_layers, "style_layers": self.style_layers,
                "style_layer_weights": self.style_layer_weights, "content_weight": 1.0, "style_weight": 1.0,
                "tv_weight": self.tv_weight, "pooling": self.pooling}

    def train_options(self) -> dict[str, Any]:
        """`TrainConfig` fields: the objective plus the paper's optimisation settings."""
        return {**self.objective_options(), **self.training}

    def gatys_options(self) -> dict[str, Any]:
        """`GatysConfig` fields: the objective plus the paper's optimisation settings."""
        return {**self.objective_options(), **self.gatys}


def johnson_style_weights(per_layer: float) -> tuple[float, ...]:
    r"""Johnson et al.'s Gram :math:`FF^\top/(CHW)` is ours divided by C, so a weight λ on its MSE is λ/C² on ours."""
    return tuple(per_layer / CHANNELS[n] ** 2 for n in JOHNSON_STYLE_LAYERS)


def gatys_weights(alpha: float, beta: float, height: int, width: int,
                  content_layer: str = "relu4_2") -> tuple[float, tuple[float, ...]]:
    r"""Gatys et al. 2016's α, β converted for an output of height × width: (α', per-layer w').

    Paper: :math:`L = \alpha \cdot \tfrac12 \sum (F-P)^2 + \beta \sum_\ell \tfrac15 \cdot
    \tfrac{1}{4 N^2 M^2} \sum (F^\top F - A)^2`.  With our means:
    :math:`\tfrac12\sum(F-P)^2 = \tfrac{MN}{2} L_c` and the per-layer term is :math:`E_\ell / 4`.
    So α' = α·M·N/2 (M, N of the content layer, which depend on the output size) and
    w'_ℓ = β/(5·4).  Returned unnormalised: the paper's total equals ours exactly.
    """
    pools = int(content_layer[4]) - 1  # 2×2 stride-2 pools before this block, each flooring the size
    m = (height // 2**pools) * (width // 2**pools)
    n = CHANNELS[content_layer]
    return alpha * m * n / 2.0, tuple(beta / (len(GATYS_STYLE_LAYERS) * 4.0) for _ in GATYS_STYLE_LAYERS)


def _gatys2016() -> Recipe:
    # α/β = 1e-3 (Gatys et al. 2016, §3, Fig. 3 B-D); converted at 512 × 512, then divided by α'.
    alpha, weights = gatys_weights(1.0, 1e3, 512, 512)
    return Recipe(
        name="gatys2016",
        citation="Gatys, Ecker & Bethge, Image Style Transfer Using Convolutional Neural Networks, CVPR 2016",
        content_layers=("relu4_2",), style_layers=GATYS_STYLE_LAYERS,
        style_layer_weights=tuple(w / alpha for w in weights), tv_weight=0.0, pooling="avg",
        gatys={"init": "noise", "optimizer": "lbfgs", "size": 512},
        paper_scale=alpha,
        sources={
            "content_layers": "§2.2 / Fig. 3: content at conv4_2 (its ReLU)",
            "style_layers": "§2.2: conv1_1, conv2_1, conv3_1, conv4_1, conv5_1, w_l = 1/5",
            "weights": "§3: α/β = 1×10⁻³ (Fig. 3 B–D; 1×10⁻⁴ for E, F)",
            "loss": "§2.1–2.2: ½ Σ (F−P)², Gram F Fᵀ, E_l = Σ(G−A)²/(4 N² M²)",
            "pooling": "§2: average pooling instead of max pooling",
            "init": "§3 and Fig. 6: white noise start; L-BFGS",
        },
        departures=(
            "their sum-based content loss makes α' depend on the output size: the recipe is converted for "
            "512 × 512 (`gatys_weights(α, β, H, W)` gives any other size)",
            "step count and image size are ours (the paper gives neither as a default)",
        ),
    )


def _johnson2016() -> Recipe:
    # fast-neural-style train.lua defaults: -content_layers 16 (relu3_3), -content_weights 1.0,
    # -style_layers 4,9,16,23, -style_weights 5.0, -tv_strength 1e-6, -batch_size 4,
    # -learning_rate 1e-3, -num_iterations 40000, -style_image_size 256; GramMatrix.lua divides by C·H·W.
    batch, size, tv_strength = 4, 256, 1e-6
    return Recipe(
        name="johnson2016",
        citation="Johnson, Alahi & Fei-Fei, Perceptual Losses for Real-Time Style Transfer and "
                 "Super-Resolution, ECCV 2016 (reference implementation: jcjohnson/fast-neural-style)",
        content_layers=("relu3_3",), style_layers=JOHNSON_STYLE_LAYERS,
        style_layer_weights=johnson_style_weights(5.0),
        # TotalVariation.lua: gradient of (strength/2)·Σ(Δx)² on 0–255 pixels over 3 channels, summed
        # over the batch while the MSE terms average over it: per example γ' ≈ B·strength/2·255²·3·H·W
        # (our L_tv averages over channels and positions; see docs/recipes.md).
        tv_weight=batch * tv_strength / 2 * 255.0**2 * 3 * size * size,
        pooling="max",
        training={"batch_size": batch, "learning_rate": 1e-3, "max_iterations": 40000, "image_size": size,
                  "style_size": 256},
        sources={
            "content_layers": "train.lua -content_layers 16 = relu3_3 of VGG-16 (the paper, §3.2, uses relu2_2)",
            "style_layers": "train.lua -style_layers 4,9,16,23 = relu1_2, relu2_2, relu3_3, relu4_3; paper §3.2",
            "weights": "train.lua -content_weights 1.0, -style_weights 5.0; GramMatrix.lua: F Fᵀ/(C·H·W); "
                       "StyleLoss/ContentLoss.lua: nn.MSECriterion (a mean)",
            "tv": "train.lua -tv_strength 1e-6; TotalVariation.lua",
            "optimisation": "train.lua: Adam, -learning_rate 1e-3, -batch_size 4, -num_iterations 40000; "
                            "paper §4.1: 40k iterations, batch 4, 256×256 COCO crops",
            "style_size": "train.lua -style_image_size 256",
        },
        departures=(
            "TV: their sum runs over the (H−1)×(W−1) interior and ours over every neighbour pair; the "
            "conversion is exact up to the last row and column",
            "content at relu3_3 as the reference implementation; the paper's relu2_2 is "
            "`content_layers=('relu2_2',)`",
        ),
    )


def _dumoulin2017() -> Recipe:
    # Magenta image_stylization_train.py: DEFAULT_CONTENT_WEIGHTS {"vgg_16/conv3": 1.0},
    # DEFAULT_STYLE_WEIGHTS conv1..conv4: 1e-4, batch_size 16, learning_rate 1e-3, train_steps 40000,
    # image_size 256; learning.py: Gram /(H·W), reduce_mean of squared differences (our convention).
    return Recipe(
        name="dumoulin2017",
        citation="Dumoulin, Shlens & Kudlur, A Learned Representation for Artistic Style, ICLR 2017 "
                 "(reference implementation: magenta/models/image_stylization)",
        content_layers=("relu3_3",), style_layers=JOHNSON_STYLE_LAYERS,
        style_layer_weights=(1e-4,) * 4, tv_weight=0.0, pooling="max",
        training={"batch_size": 16, "learning_rate": 1e-3, "max_iterations": 40000, "image_size": 256,
                  "style_size": 256},
        sources={
            "content_layers": "image_stylization_train.py DEFAULT_CONTENT_WEIGHTS: vgg_16/conv3 (after its ReLU)",
            "style_layers": "DEFAULT_STYLE_WEIGHTS: vgg_16/conv1 … conv4, the last ReLU of each block",
            "weights": "content 1.0, style 1e-4 per layer; learning.py gram_matrix divides by H·W, losses are "
                       "tf.reduce_mean of squares: exactly our E_ℓ and L_c",
            "optimisation": "flags: batch_size 16, learning_rate 1e-3 (Adam), train_steps 40000, image_size 256",
            "tv": "learning.total_variation_loss exists but the trainer does not add it",
        },
        departures=("slim's VGG-16 takes RGB minus the mean; our Caffe VGG19 takes BGR minus the mean (same "
                    "pixel scale)",
                    "max pooling in the loss network, where Magenta's vgg.py averages (`vgg_16(..., pooling='avg')`, "
                    "and learning.total_loss passes no other)",
                    "style Grams from each painting resized to a 256-px long side, where Magenta computes them "
                    "once from the style file at its stored size (image_stylization_create_dataset.py)",
                    "this recipe keeps the two values this project first converted it with, because the committed "
                    "reference models and the studies that fine-tune them were trained with them; `magenta` is "
                    "the reference implementation with both as Magenta runs them",),
    )


def _magenta() -> Recipe:
    # dumoulin2017's weights and layers with the two settings Magenta's code fixes and the paper does not
    # state: vgg.py vgg_16(inputs, reuse, pooling='avg', ...) is what learning.total_loss and
    # precompute_gram_matrices call; image_stylization_create_dataset.py computes each style's Grams from
    # image_utils.load_np_image(style_file), the file at its own size (the 256-px square crop in
    # style_image_inputs only feeds the TensorBoard summary).
    base = _dumoulin2017()
    return Recipe(
        name="magenta",
        citation=base.citation,
        content_layers=base.content_layers, style_layers=base.style_layers,
        style_layer_weights=base.style_layer_weights, tv_weight=0.0, pooling="avg",
        training={**base.training, "style_size": None},
        sources={
            **base.sources,
            "pooling": "vgg.py: vgg_16(..., pooling='avg'), its module docstring says the VGG-16 averages; "
                       "learning.total_loss calls vgg_16 without a pooling argument",
            "style_size": "image_stylization_create_dataset.py: learning.precompute_gram_matrices("
                          "image_utils.load_np_image(style_file)), no resize",
            "style_coefficients": "image_stylization_train.py --style_coefficients: a β multiplier per style, "
                                  "default 1 for each (our --style-scales)",
        },
        departures=(base.departures[0],
                    "the style files are this project's (data/styles, at most 1024 px on a side), not Magenta's"),
    )


def _turicreate() -> Recipe:
    # turicreate style_transfer.py create(): content_loss_mult 1.0 at relu3_3, style_loss_mult 1e-4 ×4,
    # lr 1e-3, input 256×256, batch_size 6, max_iterations = 10000 × styles; loss (content + style)/1e4
    # with gluon L2Loss (½ mean); _model.py: gram /(h·w), average pooling in its VGG16.
    return Recipe(
        name="turicreate",
        citation="Apple Turi Create 5/6, turicreate.style_transfer (resnet-16; Dumoulin et al. 2017)",
        content_layers=("relu3_3",), style_layers=JOHNSON_STYLE_LAYERS,
        style_layer_weights=(1e-4,) * 4, tv_weight=0.0, pooling="avg",
        training={"batch_size": 6, "learning_rate": 1e-3, "image_size": 256, "style_size": 256},
        paper_scale=0.5e-4,
        sources={
            "layers": "style_transfer.py: vgg16_content_loss_layer 2 (relu3_3); _model.py Vgg16 returns "
                      "relu1_2, relu2_2, relu3_3, relu4_3",
            "weights": "params content_loss_mult 1.0, style_loss_mult [1e-4]×4; total (content + style)/10000 "
                       "with gluon L2Loss = ½·mean",
            "gram": "_model.py gram_matrix: F Fᵀ/(h·w)",
            "pooling": "_model.py Vgg16: pool_type='avg'",
            "optimisation": "create(batch_size=6), lr 0.001 (Adam), input_shape (256, 256), "
                            "max_iterations = 10000 × number of styles",
        },
        departures=("its loss is ours × 0.5e-4 (`paper_scale`); we keep α = 1, which only changes Adam's ε "
                    "relative to the gradients",
                    "Turi Create stretches each style image to 256 × 256 (style_transfer.py: _SFrameSTIter(..., "
                    "loader_type='stretch')); we keep its aspect ratio, at a 256-px long side",),
    )


def _nst2026() -> Recipe:
    # The defaults this project trained its first reference models with (TrainConfig before the study).
    return Recipe(
        name="nst2026",
        citation="this project's first defaults (β = 1e-5 calibrated at 128 px, results/calibration)",
        content_layers=("relu2_2",), style_layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
        style_layer_weights=(2.5e-6,) * 4, tv_weight=0.0, pooling="max",
        training={"batch_size": 4, "learning_rate": 1e-3, "image_size": 256, "style_size": 256},
        sources={"weights": "TrainConfig defaults before this table: style_weight 1e-5 over 4 equal layers"},
    )


def _gatys_default() -> Recipe:
    # The objective `nst stylize --method gatys` optimises by default (GatysConfig: α = 1, β = 1e-3
    # over five equal layers), offered for training: the network then learns the very loss the
    # Gatys baseline and the evaluator's style term are computed on (a test keeps the two equal).
    return Recipe(
        name="gatys_default",
        citation="this project's Gatys defaults (GatysConfig) on Gatys et al. 2016's layers, used to train a network",
        content_layers=("relu4_2",), style_layers=GATYS_STYLE_LAYERS,
        style_layer_weights=(1e-3 / len(GATYS_STYLE_LAYERS),) * len(GATYS_STYLE_LAYERS), tv_weight=0.0,
        pooling="max",
        training={"batch_size": 4, "learning_rate": 1e-3, "image_size": 256, "style_size": 256},
        sources={
            "layers": "Gatys et al. 2016 §2.2: content conv4_2, style conv1_1 … conv5_1 (their ReLUs), equal weights",
            "weights": "GatysConfig defaults: content_weight 1, style_weight 1e-3 over equal layer weights",
            "optimisation": "this project's training defaults (Adam 1e-3, 256 px); not from a paper",
        },
        departures=("max pooling, as every other default here (Gatys et al. use average pooling)",),
    )


RECIPES: dict[str, Recipe] = {r.name: r for r in (_gatys2016(), _johnson2016(), _dumoulin2017(), _magenta(),
                                                  _turicreate(),
                                                  _nst2026(), _gatys_default())}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; an unknown name is an `NSTError` listing the known ones."""
    try:
        return RECIPES[name]
    except KeyError:
        raise NSTError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}") from None


def with_recipe(options: dict[str, Any], kind: str) -> dict[str, Any]:
    """``options`` with the ``"recipe"`` entry (if any) expanded under them: explicit options win.

    ``kind`` is ``"train"`` (`TrainConfig` fields) or ``"gatys"`` (`GatysConfig` fields).
    """
    name = options.get("recipe")
    if name is None:
        return dict(options)
    recipe = get_recipe(name)
    base = recipe.train_options() if kind == "train" else recipe.gatys_options()
    return {**base, **options}


def markdown_table() -> str:
    """The converted recipes as a Markdown table (``docs/recipes.md`` embeds it; a test keeps them equal)."""
    rows = ["| recipe | content | style layers: w_ℓ (β = α = 1) | γ (TV) | pooling | batch | lr | iterations | "
            "image / style px | init, optimiser | paper = ours × |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in RECIPES.values():
        t, g = r.training, r.gatys
        style = ", ".join(f"{n} {w:.3g}" for n, w in zip(r.style_layers, r.style_layer_weights))
        style_px = "stored" if t and t.get("style_size", 0) is None else t.get("style_size")
        sizes = f"{t['image_size']} / {style_px}" if t else f"{g.get('size')} / {g.get('size')}"
        opt = f"{g['init']}, {g['optimizer']}" if g else "Adam"
        rows.append(f"| `{r.name}` | {', '.join(r.content_layers)} | {style} | {r.tv_weight:.4g} | {r.pooling} | "
                    f"{t.get('batch_size', '—')} | {t.get('learning_rate', '—')} | {t.get('max_iterations', '—')} | "
                    f"{sizes} | {opt} | {r.paper_scale:.4g} |")
    return "\n".join(rows)
