"""One training step, as small pure functions: targets, the loss, the jitted step, the style draw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from ...core.vgg import VGG19
from .config import TrainConfig


@jax.tree_util.register_dataclass
@dataclass
class TrainState:
    params: Any
    opt_state: Any
    step: jax.Array


def learning_rate_at(cfg: TrainConfig, total_iterations: int) -> optax.Schedule:
    """Adam's step size at update t = 0, 1, …, T−1 of a T-iteration run (T = ``total_iterations``).

    ``constant``: η.  ``linear``: η·(1 − t/T).  ``cosine``: η·(1 + cos(π·t/T))/2.  Both decaying schedules
    start at η and reach 0 at t = T, the step after the last.  The papers' trainers keep η constant
    (Johnson et al. 2016, train.lua, whose ``-lr_decay_every`` step decay defaults to -1, off; Dumoulin
    et al. 2017, Magenta's image_stylization_train.py).
    """
    eta, horizon = float(cfg.learning_rate), float(total_iterations)
    if cfg.lr_schedule == "linear":
        return lambda t: eta * jnp.clip(1.0 - t / horizon, 0.0, 1.0)
    if cfg.lr_schedule == "cosine":
        return lambda t: eta * 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.clip(t / horizon, 0.0, 1.0)))
    return lambda t: jnp.full((), eta)


def optimizer(cfg: TrainConfig, total_iterations: int) -> optax.GradientTransformation:
    """Adam with the step size of `learning_rate_at`; a constant η keeps optax's plain ``adam(η)`` state."""
    if cfg.lr_schedule == "constant":
        return optax.adam(cfg.learning_rate)
    return optax.adam(learning_rate_at(cfg, total_iterations))


def style_targets(vgg: VGG19, styles: Sequence[np.ndarray], cfg: TrainConfig) -> dict[str, jax.Array]:
    """Gram targets stacked over styles: layer -> (S, C, C)."""
    return cfg.objective().style_targets(vgg, styles)


def perceptual_loss(
    out: jax.Array, images: jax.Array, style_weights: jax.Array, vgg: VGG19, grams: dict[str, jax.Array],
    cfg: TrainConfig,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean over the batch of the objective (content targets: the input ``images``), and each term.

    ``style_weights`` (B, S) says which style each example is trained towards (one-hot).  With
    ``cfg.style_scales`` (s_k, one per style) an example of style k has its style term multiplied by s_k.
    """
    objective = cfg.objective()
    # one style per example: the blend's spread term is exactly 0, so it is not computed on this hot path
    total, terms = objective(vgg, out, objective.content_targets(vgg, images), grams, style_weights, one_hot=True)
    if cfg.style_scales is not None:
        scaled = terms["style"] * (style_weights @ jnp.asarray(cfg.style_scales, jnp.float32))
        total, terms = total - terms["style"] + scaled, {**terms, "style": scaled}
    metrics = {k: v.mean() for k, v in terms.items()}
    return total.mean(), {"loss": total.mean(), **metrics}


def make_train_step(graphdef: nnx.GraphDef, tx: optax.GradientTransformation, vgg: VGG19,
                    grams: dict[str, jax.Array], cfg: TrainConfig, grad_mask: Any = None) -> Callable:
    """``train_step(state, batch) -> (state, metrics)``, jitted; ``grad_mask`` freezes parameters (0 = frozen)."""

    def loss_fn(params, images, style_weights, loss_net):
        out = nnx.merge(graphdef, params)(images, style_weights, border=cfg.train_border,
                                          border_stage=cfg.train_border_stage)
        return perceptual_loss(out, images, style_weights, loss_net, grams, cfg)

    def step(state: TrainState, batch: dict[str, jax.Array], loss_net: VGG19) -> tuple[TrainState, dict[str, jax.Array]]:
        (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch["images"],
                                                                         batch["style_weights"], loss_net)
        if grad_mask is not None:
            grads = jax.tree.map(lambda g, m: g * m, grads, grad_mask)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        return TrainState(optax.apply_updates(state.params, updates), opt_state, state.step + 1), metrics

    # The VGG19 weights go in as an argument, as in Gatys (nst.methods.gatys._optimizer_for): as
    # constants they were folded into the compiled step, which took longer to compile.
    jitted = jax.jit(step, donate_argnums=0)

    def train_step(state: TrainState, batch: dict[str, jax.Array]) -> tuple[TrainState, dict[str, jax.Array]]:
        return jitted(state, batch, vgg)

    return train_step


def style_choices(seed: int, iteration: int, batch_size: int, num_styles: int, only: int | None = None) -> np.ndarray:
    """One style index per example, a pure function of (seed, iteration)."""
    if only is not None:
        return np.full(batch_size, only, np.int32)
    return np.random.default_rng([seed, 2, iteration]).integers(0, num_styles, batch_size).astype(np.int32)
