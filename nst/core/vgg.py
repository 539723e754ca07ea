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

Every 3×3 conv pads its input by one pixel.  The Caffe model, and every reference implementation,
pads with zeros (``padding="zero"``): after mean subtraction that is a frame of the mean colour,
which the objective can see.  ``padding="reflect"`` mirrors the map instead (our departure, an option
of Gatys and of training: ``vgg_padding``; the evaluator keeps zeros).
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
#: the Caffe input's pixel scale: RGB in [0, 1] enters VGG (and neural-style's images live) on 0-255
CAFFE_PIXEL_SCALE = 255.0

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
    return images[..., ::-1] * CAFFE_PIXEL_SCALE - jnp.asarray(CAFFE_MEAN_BGR, dtype=images.dtype)


def check_layers(layers: Iterable[str]) -> list[str]:
    layers = list(layers)
    for name in layers:
        if name not in LAYER_INDEX:
            raise NSTError(f"unknown VGG19 layer {name!r}; valid names are conv1_1 … relu5_4 and pool1 … pool5")
    return layers


def _pool(x: jax.Array, pooling: str) -> jax.Array:
    """2×2 stride-2 pooling ("VALID": an odd last row or column is dropped, as in Caffe's VGG).

    Written as a reshape and a reduction rather than ``lax.reduce_window``: the gradient of a
    windowed max is XLA's ``select_and_scatter``, slow on CPU, while a reduction's gradient is an
    element-wise mask that fuses with its neighbours (measured in ``results/bench_gatys``, the
    "pool_reduce_window" ablation).  One difference: where several entries of a window tie for
    the maximum, the gradient is shared between them instead of going to the first.
    """
    n, h, w, c = x.shape
    windows = x[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c)
    if pooling == "max":
        return windows.max(axis=(2, 4))
    return windows.mean(axis=(2, 4))


_DIMENSIONS = ("NHWC", "HWIO", "NHWC")

#: how each 3×3 conv pads its input: the Caffe model's zeros, or a one-pixel mirror of the map
PADDINGS = ("zero", "reflect")


def check_padding(padding: str) -> str:
    if padding not in PADDINGS:
        raise NSTError(f"VGG padding must be 'zero' or 'reflect', not {padding!r}")
    return padding


def backward_kernel(kernel: jax.Array) -> jax.Array:
    """The kernel whose SAME convolution maps a 3×3 conv's output cotangent to its input's: flipped, I↔O."""
    return jnp.swapaxes(kernel[::-1, ::-1], 2, 3)


@jax.custom_vjp
def frozen_conv(x: jax.Array, kernel: jax.Array, kernel_backward: jax.Array) -> jax.Array:
    """3×3 stride-1 SAME convolution (NHWC, HWIO) with a *frozen* kernel.

    Its VJP returns the cotangent of ``x`` only, computed with ``kernel_backward``
    (`backward_kernel` of ``kernel``, prepared once): the loss network is never trained, and
    flipping every kernel inside each gradient evaluation is what made weights passed as jit
    arguments slower than weights baked in as constants (measured in ``results/bench_gatys``).
    The kernels receive no gradient: do not differentiate with respect to them.
    """
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=_DIMENSIONS)


def _frozen_conv_fwd(x, kernel, kernel_backward):
    return frozen_conv(x, kernel, kernel_backward), kernel_backward


def _frozen_conv_bwd(kernel_backward, y_bar):
    x_bar = jax.lax.conv_general_dilated(y_bar, kernel_backward.astype(y_bar.dtype), (1, 1), "SAME",
                                         dimension_numbers=_DIMENSIONS)
    return x_bar, None, None


frozen_conv.defvjp(_frozen_conv_fwd, _frozen_conv_bwd)


def _conv(x: jax.Array, kernel: jax.Array, kernel_backward: jax.Array, padding: str) -> jax.Array:
    """`frozen_conv` with zero padding, or on a one-pixel reflected copy of ``x`` (the frame then cropped off)."""
    if padding == "zero":
        return frozen_conv(x, kernel, kernel_backward)
    # a SAME conv of the reflected map, cropped, is the VALID conv of it: the frozen VJP stays as it is
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    return frozen_conv(padded, kernel, kernel_backward)[:, 1:-1, 1:-1]


def vgg19_features(
    params: Mapping[str, jax.Array], images: jax.Array, layers: Sequence[str], pooling: str = "max",
    padding: str = "zero",
) -> dict[str, jax.Array]:
    """Activations of ``layers`` for RGB ``images`` in [0, 1], shape (N, H, W, 3).

    Pure function of ``params`` (``{'conv1_1.weight': HWIO, 'conv1_1.bias': (C,)}``, and optionally
    ``'conv1_1.weight_t'``, its `backward_kernel`) so it can be jitted and differentiated with
    respect to ``images``, the weights passed as an argument rather than baked into the compiled
    program as constants.  The weights are frozen (`frozen_conv`): no gradient reaches them.
    ``padding``: `PADDINGS`.
    """
    layers = check_layers(layers)
    check_padding(padding)
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
            w_t = params.get(f"{name}.weight_t")
            w_t = backward_kernel(w) if w_t is None else w_t
            x = _conv(x, w, w_t, padding) + params[f"{name}.bias"].astype(x.dtype)
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
    """The frozen VGG19 loss network: weights plus the pooling and padding choices.

    A pytree, so it can be passed *into* jitted functions (weights as
    arguments, pooling and padding as static structure).

    >>> vgg = VGG19.pretrained()
    >>> feats = vgg(images, ["relu1_1", "relu4_2"])
    """

    params: Mapping[str, jax.Array]
    pooling: str = "max"
    padding: str = "zero"

    @classmethod
    def pretrained(cls, pooling: str = "max", max_layer: str | None = None) -> "VGG19":
        """The ImageNet weights (fetched and cached on first use), with each kernel's `backward_kernel`.

        ``max_layer`` keeps only the convs up to that layer, to save memory.
        """
        return cls(_pretrained_params(max_layer), pooling)

    def __call__(self, images: jax.Array, layers: Sequence[str]) -> dict[str, jax.Array]:
        return vgg19_features(self.params, images, layers, self.pooling, self.padding)

    def with_pooling(self, pooling: str) -> "VGG19":
        return VGG19(self.params, pooling, self.padding)

    def with_padding(self, padding: str) -> "VGG19":
        return VGG19(self.params, self.pooling, check_padding(padding))

    def with_settings(self, pooling: str, padding: str) -> "VGG19":
        """The same weights with a config's ``pooling`` and ``vgg_padding``."""
        return VGG19(self.params, pooling, check_padding(padding))

    def tree_flatten(self):  # noqa: D102 - pytree protocol
        keys = tuple(sorted(self.params))
        return tuple(self.params[k] for k in keys), (keys, self.pooling, self.padding)

    @classmethod
    def tree_unflatten(cls, aux, children):  # noqa: D102 - pytree protocol
        keys, pooling, padding = aux
        return cls(dict(zip(keys, children)), pooling, padding)


# One params dict per max_layer, so repeated `VGG19.pretrained` calls share one set of arrays.
# Each holds only the convs it needs, shared with a wider subset already loaded or else read from
# the file, rather than keeping all sixteen layers resident (peak memory is one of the
# benchmarks, results/bench_gatys).
_SUBSET_CACHE: dict[str | None, dict[str, jax.Array]] = {}


def _pretrained_params(max_layer: str | None) -> dict[str, jax.Array]:
    if max_layer not in _SUBSET_CACHE:
        last = LAYER_INDEX[check_layers([max_layer])[0]] if max_layer is not None else len(LAYER_NAMES)
        keep = {n for n, *_ in CONV_LAYERS if LAYER_INDEX[n] <= last}
        wider = next((c for c in _SUBSET_CACHE.values() if keep <= {k.split(".")[0] for k in c}), None)
        params: dict[str, jax.Array] = {}
        if wider is not None:  # share the arrays of a subset already loaded
            params = {k: v for k, v in wider.items() if k.split(".")[0] in keep}
        else:
            for key, value in load_vgg19_params().items():
                layer, kind = key.split(".")
                if layer in keep:
                    params[key] = jnp.asarray(value)
                    if kind == "weight":
                        params[f"{layer}.weight_t"] = backward_kernel(params[key])
        _SUBSET_CACHE[max_layer] = params
    return _SUBSET_CACHE[max_layer]


def reference_image(size: int = 64) -> np.ndarray:
    """The deterministic test pattern x[i, j, c] = (7i + 13j + 29c) mod 256 as uint8 (H, W, 3)."""
    i, j, c = np.meshgrid(np.arange(size), np.arange(size), np.arange(3), indexing="ij")
    return ((7 * i + 13 * j + 29 * c) % 256).astype(np.uint8)
