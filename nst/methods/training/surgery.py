"""Style-row surgery on a multi-style network: one more row in every conditional norm, and a mask
that trains only that row (`DumoulinStylizer.add_style`, Dumoulin et al. 2017 §4: a new style
costs only its γ/β)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ...core.networks import NetworkConfig, TransformerNet
from ...io.modelfile import flatten_tree, key_name, unflatten_like


def extend_styles(base: TransformerNet) -> tuple[TransformerNet, NetworkConfig]:
    """A copy of ``base`` with one more style row in every norm, initialised to the mean of the others."""
    old = base.config
    new_cfg = NetworkConfig(num_styles=old.num_styles + 1, width=old.width, num_residual=old.num_residual,
                            output=old.output)
    model = TransformerNet(new_cfg, nnx.Rngs(0))
    old_flat = flatten_tree(nnx.state(base, nnx.Param))
    _, new_params = nnx.split(model, nnx.Param)
    tensors = {}
    for k, v in flatten_tree(new_params).items():
        o = old_flat[k]
        tensors[k] = np.concatenate([o, o.mean(axis=0, keepdims=True)]) if k.split("/")[-2] == "norm" else o
    nnx.update(model, unflatten_like(new_params, tensors, "", "base model"))
    return model, new_cfg


def new_row_mask(params: Any, row: int) -> Any:
    def mask(path, leaf):
        names = [key_name(k) for k in path]
        m = np.zeros(np.shape(leaf), np.float32)
        if "norm" in names:
            m[row] = 1.0
        return jnp.asarray(m)

    return jax.tree_util.tree_map_with_path(mask, params)
