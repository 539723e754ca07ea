r"""Perceptual losses: one convention, used by every method and by the evaluator.

Notation: a layer's activation for one image is :math:`F \in \mathbb{R}^{M \times N}`
with :math:`M = H W` positions and :math:`N = C` channels.

**Gram matrix** (style representation, Gatys et al. 2015):

.. math::  G = \frac{1}{M} F^\top F \in \mathbb{R}^{N \times N}

i.e. normalised by the number of positions :math:`H W` only.  The paper uses
the unnormalised :math:`F^\top F`; dividing by :math:`M` makes Grams of
different image sizes comparable, so a style measured at 512 px can be the
target of an output at 256 px.

**Content loss** (feature reconstruction; Gatys et al. 2016, Johnson et al. 2016):

.. math::  L_c = \frac{1}{M N} \sum (F - P)^2     (mean squared error)

Gatys: :math:`\tfrac12 \sum (F-P)^2`, i.e. ours is :math:`2/(MN)` times theirs.

**Style loss** (one layer):

.. math::  E_\ell = \frac{1}{N^2} \sum (G - A)^2     (mean squared error of Grams)

Gatys: :math:`\frac{1}{4 N^2 M^2}\sum (F^\top F - A')^2`; with our Gram that is
:math:`E_\ell/4`, i.e. ours is 4× the paper's per-layer term.  The total style
loss is :math:`L_s = \sum_\ell w_\ell E_\ell` with layer weights
:math:`w_\ell` that sum to 1 by default (Gatys: :math:`w_\ell = 1/5`).

**Total variation** (Mahendran & Vedaldi 2015; Johnson et al. 2016), anisotropic,
squared, averaged over pixels:

.. math::  L_{tv} = \operatorname{mean}((x_{i+1,j} - x_{i,j})^2) + \operatorname{mean}((x_{i,j+1} - x_{i,j})^2)

**Total**: :math:`L = \alpha L_c + \beta L_s + \gamma L_{tv}` where
``content_weight`` = α, ``style_weight`` = β, ``tv_weight`` = γ.  Because
activations are on the Caffe scale (pixels 0–255), Gram entries are large;
the default weights of each method are chosen for this convention and
documented there.

All functions take batched arrays (B, H, W, C) and return one loss per batch
element (shape (B,)), so a training batch can mix styles; reduce with
``.mean()``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import jax
import jax.numpy as jnp


@jax.custom_vjp
def gram_matrix(features: jax.Array) -> jax.Array:
    r"""Gram matrices :math:`G = F^\top F / (H W)` of (B, H, W, C) features → (B, C, C).

    Its gradient is written out: :math:`\partial L / \partial F = F (\bar G + \bar G^\top) / M` for
    an incoming :math:`\bar G = \partial L / \partial G`, one (M, N)·(N, N) product.  Autodiff's own
    transpose produces two products with an (N, M) output layout, which XLA:CPU runs several
    times slower (measured in ``results/bench_gatys``, the "gram_autodiff" ablation).
    """
    b, h, w, c = features.shape
    f = features.reshape(b, h * w, c)
    return jnp.einsum("bmi,bmj->bij", f, f, preferred_element_type=jnp.float32) / (h * w)


def _gram_fwd(features: jax.Array) -> tuple[jax.Array, jax.Array]:
    return gram_matrix(features), features


def _gram_bwd(features: jax.Array, g_bar: jax.Array) -> tuple[jax.Array]:
    b, h, w, c = features.shape
    sym = (g_bar + jnp.swapaxes(g_bar, 1, 2)) / (h * w)
    grad = jnp.einsum("bmi,bij->bmj", features.reshape(b, h * w, c), sym.astype(features.dtype))
    return (grad.reshape(features.shape),)


gram_matrix.defvjp(_gram_fwd, _gram_bwd)


def content_loss(features: jax.Array, target: jax.Array) -> jax.Array:
    """Mean squared feature difference per batch element, (B, H, W, C) → (B,)."""
    d = (features.astype(jnp.float32) - target.astype(jnp.float32)) ** 2
    return d.mean(axis=(1, 2, 3))


def gram_loss(gram: jax.Array, target_gram: jax.Array) -> jax.Array:
    """Mean squared Gram difference per batch element, (B, C, C) vs (B|1, C, C) → (B,)."""
    return ((gram - target_gram) ** 2).mean(axis=(1, 2))


def style_loss(
    features: Mapping[str, jax.Array],
    target_grams: Mapping[str, jax.Array],
    layer_weights: Mapping[str, float] | None = None,
) -> jax.Array:
    r"""Weighted sum over layers of `gram_loss`: :math:`\sum_\ell w_\ell E_\ell`, shape (B,).

    ``target_grams[layer]`` is (B, C, C) or (1, C, C) (broadcast).  Default
    weights are equal and sum to 1.
    """
    layers = list(target_grams)
    if layer_weights is None:
        layer_weights = {name: 1.0 / len(layers) for name in layers}
    total = 0.0
    for name in layers:
        total = total + layer_weights[name] * gram_loss(gram_matrix(features[name]), target_grams[name])
    return total


def total_variation_loss(images: jax.Array) -> jax.Array:
    """Squared anisotropic total variation, averaged over pixels, (B, H, W, C) → (B,)."""
    dy = (images[:, 1:, :, :] - images[:, :-1, :, :]) ** 2
    dx = (images[:, :, 1:, :] - images[:, :, :-1, :]) ** 2
    return dy.mean(axis=(1, 2, 3)) + dx.mean(axis=(1, 2, 3))


def layer_weights_equal(layers: Sequence[str]) -> dict[str, float]:
    return {name: 1.0 / len(layers) for name in layers}
