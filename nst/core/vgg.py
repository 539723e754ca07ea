"""VGG19, the loss network shared by all three generations.

Simonyan & Zisserman (2014), "Very Deep Convolutional Networks for Large-Scale
Image Recognition": 16 3×3 conv layers in five blocks, each conv followed by a
ReLU, each block by a 2×2 stride-2 pool.  Only the convolutional part is used
(no classifier), so any input size works.

Input convention (the original Caffe model's): images are RGB in [0, 1],
scaled to [0, 255], reordered to BGR and centred by the ImageNet mean
(103.939, 116.779, 123.68) in BGR order.  `preprocess` does exactly this.

Gatys et al. (2016) replace max pooling by average pooling for image
synthesis; both are available (``pooling="max"|"avg"``).  The forward pass
stops at the deepest layer asked for, so a content-only loss at relu2_2 never
touches block 3 and beyond.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import NSTError
from ..io.weights import CONV_LAYERS, load_vgg19_params

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

_BLOCK_SIZES = (2, 2, 4, 4, 4)

#: Every named layer, in forward order: conv1_1, relu1_1, conv1_2, relu1_2, pool1, ..., pool5.
LAYER_NAMES: tuple[str, ...] = tuple(
    name
    for b, n in enumerate(_BLOCK_SIZES, start=1)
    for name in ([x for k in range(1, n + 1) for x in (f"conv{b}_{k}", f"relu{b}_{k}")] + [f"pool{b}"])
)
LAYER_INDEX = {name: i for i, name in enumerate(LAYER_NAMES)}


def preprocess(images: jax.Array) -> jax.Array:
    """RGB in [0, 1] (…, H, W, 3) → Caffe input: ×255, RGB→BGR, minus the BGR mean."""
    return images[..., ::-1] * 255.0 - jnp.asarray(CAFFE_MEAN_BGR, dtype=images.dtype)


def check_layers(layers: Iterable[str]) -> list[str]:
    layers = list(layers)
    for name in layers:
        if name not in LAYER_INDEX:
            raise NSTError(f"unknown VGG19 layer {name!r}; valid names are conv1_1 … relu5_4 and pool1 … pool5")
    return layers


def _pool(x: jax.Array, pooling: str) -> jax.Array:
    window, strides = (1, 2, 2, 1), (1, 2, 2, 1)
    if pooling == "max":
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, strides, "VALID")
    return jax.lax.reduce_window(x, 0.0, jax.lax.add, window, strides, "VALID") * 0.25


def vgg19_features(
    params: Mapping[str, jax.Array], images: jax.Array, layers: Sequence[str], pooling: str = "max"
) -> dict[str, jax.Array]:
    """Activations of ``layers`` for RGB ``images`` in [0, 1], shape (N, H, W, 3).

    Pure function of ``params`` (``{'conv1_1.weight': HWIO, 'conv1_1.bias': (C,)}``)
    so it can be jitted and differentiated with the weights as an argument
    rather than baked into the compiled program as constants.
    """
    layers = check_layers(layers)
    if pooling not in ("max", "avg"):
        raise NSTError(f"pooling must be 'max' or 'avg', not {pooling!r}")
    if not layers:
        return {}
    wanted = set(layers)
    last = max(LAYER_INDEX[n] for n in layers)
    x = preprocess(images)
    out: dict[str, jax.Array] = {}
    for name in LAYER_NAMES[: last + 1]:
        if name.startswith("conv"):
            w = params[f"{name}.weight"].astype(x.dtype)
            x = jax.lax.conv_general_dilated(
                x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
            ) + params[f"{name}.bias"].astype(x.dtype)
        elif name.startswith("relu"):
            x = jax.nn.relu(x)
        else:
            x = _pool(x, pooling)
        if name in wanted:
            out[name] = x
    return out


@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True)
class VGG19:
    """The frozen VGG19 loss network: weights plus the pooling choice.

    A pytree, so it can be passed *into* jitted functions (weights as
    arguments, pooling as static structure).

    >>> vgg = VGG19.pretrained()
    >>> feats = vgg(images, ["relu1_1", "relu4_2"])
    """

    params: Mapping[str, jax.Array]
    pooling: str = "max"

    @classmethod
    def pretrained(cls, pooling: str = "max", max_layer: str | None = None) -> "VGG19":
        """The ImageNet weights (fetched and cached on first use).

        ``max_layer`` keeps only the convs up to that layer, to save memory.
        """
        return cls(_pretrained_params(max_layer), pooling)

    def __call__(self, images: jax.Array, layers: Sequence[str]) -> dict[str, jax.Array]:
        return vgg19_features(self.params, images, layers, self.pooling)

    def with_pooling(self, pooling: str) -> "VGG19":
        return VGG19(self.params, pooling)

    def tree_flatten(self):  # noqa: D102 - pytree protocol
        keys = tuple(sorted(self.params))
        return tuple(self.params[k] for k in keys), (keys, self.pooling)

    @classmethod
    def tree_unflatten(cls, aux, children):  # noqa: D102 - pytree protocol
        keys, pooling = aux
        return cls(dict(zip(keys, children)), pooling)


_PARAM_CACHE: dict[str, jax.Array] = {}
# One params dict per max_layer, so repeated `VGG19.pretrained` calls share one object: the Gatys
# optimiser cache keys compiled programs by its identity.
_SUBSET_CACHE: dict[str | None, dict[str, jax.Array]] = {}


def _pretrained_params(max_layer: str | None) -> dict[str, jax.Array]:
    if not _PARAM_CACHE:
        _PARAM_CACHE.update({k: jnp.asarray(v) for k, v in load_vgg19_params().items()})
    if max_layer not in _SUBSET_CACHE:
        if max_layer is None:
            _SUBSET_CACHE[None] = dict(_PARAM_CACHE)
        else:
            last = LAYER_INDEX[check_layers([max_layer])[0]]
            keep = {n for n, *_ in CONV_LAYERS if LAYER_INDEX[n] <= last}
            _SUBSET_CACHE[max_layer] = {k: v for k, v in _PARAM_CACHE.items() if k.split(".")[0] in keep}
    return _SUBSET_CACHE[max_layer]


def reference_image(size: int = 64) -> np.ndarray:
    """The deterministic test pattern x[i, j, c] = (7i + 13j + 29c) mod 256 as uint8 (H, W, 3)."""
    i, j, c = np.meshgrid(np.arange(size), np.arange(size), np.arange(3), indexing="ij")
    return ((7 * i + 13 * j + 29 * c) % 256).astype(np.uint8)
