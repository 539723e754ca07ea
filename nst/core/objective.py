r"""The one perceptual objective: Gatys optimises it, training minimises it, the evaluator reports it.

For an output image :math:`x`, content features :math:`P_\ell` (a photo's, at the content layers)
and the Gram targets :math:`A_{k,\ell}` of styles :math:`k = 1 \dots S` mixed by weights
:math:`m_k` (non-negative, summing to 1):

.. math::

    L(x) = \alpha \frac{1}{|C|} \sum_{\ell \in C} L_c(F_\ell(x), P_\ell)
         + \beta \sum_k m_k \sum_{\ell \in S} w_\ell E_\ell(G_\ell(x), A_{k,\ell})
         + \gamma L_{tv}(x)

with the per-term conventions of `nst.core.losses` (:math:`L_c` a mean squared feature
difference, :math:`E_\ell` a mean squared difference of Grams normalised by :math:`M = HW`,
:math:`L_{tv}` squared and averaged).  The per-layer weights :math:`w_\ell` default to
:math:`1/|S|` (Gatys et al. 2016, "w_l = 1/5"); a recipe (`nst.recipes`) sets them per paper.

The style term blends *losses*, as neural-style and Gatys et al. do for several styles.  It is
computed through the exact identity (for :math:`\sum_k m_k = 1`)

.. math::  \sum_k m_k \lVert G - A_k \rVert^2 = \lVert G - \bar A \rVert^2 + \sum_k m_k \lVert A_k - \bar A \rVert^2,
           \quad \bar A = \sum_k m_k A_k

so a batch costs one Gram difference per example whatever :math:`S` is; with a one-hot
:math:`m` (training: one style per example) the second term is exactly 0.

Who uses it: `nst.methods.gatys` (one image, mixed styles), `nst.methods.training` (a batch with
one style per example, content targets from the batch itself) and `nst.evaluate` (fixed layers,
unit weights, so Gatys, Johnson and Dumoulin outputs are scored on one ruler).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import NSTError
from .losses import content_loss, gram_loss, gram_matrix, total_variation_loss
from .vgg import LAYER_INDEX, VGG19, check_layers

#: layer name -> (S, C, C) Gram targets, one row per style
StyleTargets = Mapping[str, jax.Array]
#: layer name -> (B, H, W, C) content features
ContentTargets = Mapping[str, jax.Array]


@dataclass(frozen=True)
class PerceptualObjective:
    """Layers and weights of the objective; a frozen value, so it can key caches and close over jit.

    ``style_layer_weights`` are the :math:`w_\\ell`, one per style layer, used as given (``None``:
    equal weights summing to 1).  ``content_weight`` = α, ``style_weight`` = β, ``tv_weight`` = γ.
    """

    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    style_layer_weights: tuple[float, ...] | None = None
    content_weight: float = 1.0
    style_weight: float = 1.0
    tv_weight: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "content_layers", tuple(self.content_layers))
        object.__setattr__(self, "style_layers", tuple(self.style_layers))
        if self.style_layer_weights is not None:
            object.__setattr__(self, "style_layer_weights", tuple(float(w) for w in self.style_layer_weights))
        check_layers(self.content_layers + self.style_layers)
        if not self.content_layers and not self.style_layers:
            raise NSTError("the objective needs at least one content or style layer")
        if self.style_layer_weights is not None:
            if len(self.style_layer_weights) != len(self.style_layers):
                raise NSTError(f"style_layer_weights needs one weight per style layer: {len(self.style_layers)} "
                               f"layers, {len(self.style_layer_weights)} weights")
            if not all(math.isfinite(w) and w >= 0 for w in self.style_layer_weights):
                raise NSTError("style_layer_weights must be finite and non-negative")
        for name in ("content_weight", "style_weight", "tv_weight"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise NSTError(f"{name} must be a finite non-negative number, got {v!r}")

    @property
    def layer_weights(self) -> tuple[float, ...]:
        """:math:`w_\\ell` per style layer (equal and summing to 1 unless given)."""
        if self.style_layer_weights is not None:
            return self.style_layer_weights
        return tuple(1.0 / len(self.style_layers) for _ in self.style_layers)

    @property
    def layers(self) -> tuple[str, ...]:
        """Every VGG layer the objective reads, content layers first, without repeats."""
        return tuple(dict.fromkeys(self.content_layers + self.style_layers))

    @property
    def deepest_layer(self) -> str:
        """The deepest layer used: the VGG forward pass can stop there."""
        return max(self.layers, key=LAYER_INDEX.__getitem__)

    # -------------------------------------------------------------------- targets

    def content_targets(self, vgg: VGG19, images: jax.Array) -> dict[str, jax.Array]:
        """Content features :math:`P_\\ell` of (B, H, W, 3) images in [0, 1]."""
        return dict(vgg(images, self.content_layers)) if self.content_layers else {}

    def style_targets(self, vgg: VGG19, styles: Sequence[np.ndarray | jax.Array]) -> dict[str, jax.Array]:
        """Gram targets stacked over styles: layer -> (S, C, C); each style is one (H, W, 3) image."""
        if not self.style_layers:
            return {}
        per_style = [vgg(jnp.asarray(s)[None], self.style_layers) for s in styles]
        return {n: jnp.concatenate([gram_matrix(f[n]) for f in per_style]) for n in self.style_layers}

    # -------------------------------------------------------------------- the objective

    def terms(self, vgg: VGG19, x: jax.Array, content_targets: ContentTargets, style_targets: StyleTargets,
              style_mix: jax.Array, one_hot: bool = False) -> dict[str, jax.Array]:
        """The weighted terms for a batch ``x`` (B, H, W, 3): ``content``, ``style``, ``tv``, each (B,).

        ``style_mix`` is (B, S) or (S,) (broadcast over the batch), rows summing to 1.  ``one_hot=True``
        promises one style per row (training), whose spread term is exactly 0 and is skipped.
        """
        feats = vgg(x, self.layers)
        batch = x.shape[0]
        zero = jnp.zeros((batch,), jnp.float32)
        lc = zero
        if self.content_layers:
            lc = sum(content_loss(feats[n], content_targets[n]) for n in self.content_layers) / len(self.content_layers)
        ls = zero
        if self.style_layers:
            mix = jnp.broadcast_to(jnp.asarray(style_mix, jnp.float32), (batch, style_targets[self.style_layers[0]].shape[0]))
            for name, w in zip(self.style_layers, self.layer_weights):
                if w == 0:
                    continue
                a = jax.lax.stop_gradient(style_targets[name])  # (S, C, C)
                mean_target = jnp.einsum("bs,scd->bcd", mix, a)
                ls = ls + w * gram_loss(gram_matrix(feats[name]), mean_target)
                if not one_hot:
                    # one style at a time: memory stays (B, C, C) however many styles a model has
                    ls = ls + w * sum(mix[:, k] * ((a[k][None] - mean_target) ** 2).mean(axis=(1, 2))
                                      for k in range(a.shape[0]))
        ltv = total_variation_loss(x) if self.tv_weight else zero
        return {"content": self.content_weight * lc, "style": self.style_weight * ls, "tv": self.tv_weight * ltv}

    def __call__(self, vgg: VGG19, x: jax.Array, content_targets: ContentTargets, style_targets: StyleTargets,
                 style_mix: jax.Array, one_hot: bool = False) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Total objective per example, (B,), and its weighted terms (see `terms`)."""
        t = self.terms(vgg, x, content_targets, style_targets, style_mix, one_hot)
        return t["content"] + t["style"] + t["tv"], t
