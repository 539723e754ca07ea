r"""On-device export of the feedforward networks: ONNX and Core ML, verified against JAX.

Both formats follow Turi Create's Core ML convention for style transfer:

* input ``image``: ONNX — float32 NCHW, RGB in [0, 1], shape (N, 3, H, W);
  Core ML — an RGB image (Core ML scales pixels 0..255 to 0..1 on the way in);
* input ``index`` (multi-style models only): float32 vector of length
  ``num_styles``; one-hot selects a style, other non-negative weights blend
  (γ = Σ wᵢ γᵢ, β = Σ wᵢ βᵢ — the weights are *not* renormalised inside the
  model, so pass a vector that sums to 1);
* output ``stylizedImage``: ONNX — float32 NCHW in [0, 1]; Core ML — an RGB
  image (0..255).

Height and width are flexible (any size from 64 px) unless ``image_size``
fixes them.  The graph pads as the stylizer does (`nst.core.networks.STYLIZE_BORDER`,
``STYLIZE_BORDER_STAGE``: the picture, or the residual blocks' map), pads the picture up to a
multiple of 4, and crops back, exactly as the JAX network does.

The network topology is walked once (`emit_network`, this module) and written by two small
backends (`onnx_backend.OnnxBackend`, `coreml_backend.CoreMLBackend`), so the two files hold the same
layers in the same order — `layer_sequence` reads that sequence back from
either file, and the tests compare them.

Precision: ``float16`` halves the file.  In ONNX the weights are stored as
float16 and cast to float32 when the session loads them (inputs, outputs and
arithmetic stay float32, so every onnxruntime build runs it); in Core ML it is
Core ML's own float16 compute precision (weights and activations).
"""

from __future__ import annotations

import importlib
import json
from typing import Any, Protocol

import numpy as np

from ..core.networks import PHOTO_LOGIT_EPSILON, TransformerNet
from ..errors import NSTError
from ..version import __version__

FORMATS = ("onnx", "coreml")
PRECISIONS = ("float32", "float16")
MIN_SIZE = 64  # smallest flexible height/width we promise
# The largest |ONNX - JAX| on the [0, 1] scale that an export may show (float16: weights rounded to float16).
VERIFY_BOUNDS = {"float32": 2e-3, "float16": 5e-3}
ONNX_OPSET = 17
SUFFIXES = {"onnx": ".onnx", "coreml": ".mlpackage"}


class ExportableNetwork(Protocol):
    """What export reads from a feedforward stylizer (`nst.interface.feedforward.FeedforwardStylizer`)."""

    model: TransformerNet
    meta: dict
    method: str
    border: int
    border_stage: str

    @property
    def styles(self) -> list[str]: ...

    @property
    def num_styles(self) -> int: ...

    def stylize_batch(self, images: np.ndarray, style_weights: np.ndarray) -> np.ndarray: ...


def check_exportable(stylizer: Any) -> ExportableNetwork:
    """``stylizer`` if it has a trained network; a Gatys stylizer (or anything else) is an `NSTError`."""
    if not isinstance(getattr(stylizer, "model", None), TransformerNet):
        raise NSTError(f"a {getattr(stylizer, 'method', type(stylizer).__name__)} stylizer has no network to "
                       "export: it optimises each image; export a johnson or dumoulin model")
    return stylizer


# --------------------------------------------------------------------------- the network, walked once


def network_parameters(stylizer: ExportableNetwork) -> list[dict[str, Any]]:
    """The layers of a trained `TransformerNet` as plain NumPy arrays, in execution order.

    Each entry is a conv+norm unit: ``kernel`` (O, I, kh, kw) for NCHW
    backends, ``stride``, ``pad`` (reflection), ``gamma``/``beta`` (S, C), and
    its ``role`` in the topology.
    """
    net = stylizer.model

    def unit(cn: Any, role: str) -> dict[str, Any]:
        kernel = np.asarray(cn.conv.kernel[...], np.float32)  # HWIO
        stride = cn.conv.strides
        stride = stride if isinstance(stride, int) else int(stride[0])
        return {"role": role, "kernel": np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)), "stride": stride,
                "pad": cn.pad, "gamma": np.asarray(cn.norm.scale[...], np.float32),
                "beta": np.asarray(cn.norm.bias[...], np.float32)}

    units = [unit(net.conv1, "relu"), unit(net.conv2, "relu"), unit(net.conv3, "relu")]
    for block in net.residuals:
        units += [unit(block.a, "res_a"), unit(block.b, "res_b")]
    # the last unit's role is the network's output step: "sigmoid" or "photo_residual" (`nst.core.networks.OUTPUTS`)
    units += [unit(net.up1, "up"), unit(net.up2, "up"), unit(net.out, net.config.output)]
    return units


def emit_network(b: Any, image: Any, index: Any, units: list[dict[str, Any]], border: int,
                 border_stage: str = "input") -> Any:
    """The topology of `nst.core.networks.TransformerNet.__call__`, written against a backend ``b``."""
    # Reflection border (as `FeedforwardStylizer.border`), then to a multiple of 4 for the two
    # stride-2 convs and two ×2 upsamplings; one pad, exactly as the JAX network pads.  A
    # residual-stage border pads the quarter-resolution map around the residual blocks instead.
    outer = border if border_stage == "input" else 0
    mid = border // 4 if border_stage == "residual" else 0
    x, hw = b.pad_for_network(image, 4, outer)
    photo = x  # a photo_residual network adds the padded photo's logit before its sigmoid
    skip = None
    res_units = [i for i, u in enumerate(units) if u["role"] in ("res_a", "res_b")]
    for i, u in enumerate(units):
        if mid and res_units and i == res_units[0]:
            x = b.reflect_pad(x, mid)
        if mid and res_units and i == res_units[-1] + 1:
            x = b.crop_sides(x, mid)
        if u["role"] == "res_a":
            skip = x
        if u["role"] == "up":
            x = b.upsample2(x)
        x = b.reflect_pad(x, u["pad"])
        x = b.conv(x, u["kernel"], u["stride"])
        x = b.norm(x, u["gamma"], u["beta"], index)
        if u["role"] in ("relu", "res_a", "up"):
            x = b.relu(x)
        elif u["role"] == "res_b":
            x = b.add(skip, x)  # no activation after the add
        elif u["role"] == "photo_residual":
            x = b.sigmoid(b.add(x, photo_logit(b, photo)))
        else:
            x = b.sigmoid(x)
    return b.crop(x, hw, outer)


def photo_logit(b: Any, x: Any) -> Any:
    """`nst.core.networks.photo_logit` from a backend's clip, log, mul and add:
    log(c) + (−1)·log(1 + (−1)·c), c = clip(x, ε, 1 − ε) (no sub or neg, which both formats also use for
    shape arithmetic, so `layer_sequence` stays one vocabulary)."""
    c = b.clip(x, PHOTO_LOGIT_EPSILON, 1 - PHOTO_LOGIT_EPSILON)
    return b.add(b.log(c), b.scale(b.log(b.shift(b.scale(c, -1.0), 1.0)), -1.0))


def export_metadata(stylizer: ExportableNetwork) -> dict[str, str]:
    """Key/value metadata written into exported files (all values are strings)."""
    meta = stylizer.meta
    return {
        "method": stylizer.method,
        "styles": json.dumps(stylizer.styles),
        "num_styles": str(stylizer.num_styles),
        "iterations": str(meta.get("iterations")),
        "width": str(meta.get("network", {}).get("width")),
        "border": str(stylizer.border),  # reflection pixels padded (at border_stage) and cropped off
        "border_stage": getattr(stylizer, "border_stage", "input"),
        "output": stylizer.model.config.output,
        "nst_version": __version__,
        "input_convention": "image: RGB in [0,1], NCHW float32 (ONNX) or an RGB image (Core ML); "
                            "index: style weights, one-hot selects, others blend",
    }


def check_image_size(image_size: tuple[int, int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise NSTError(f"image_size must be (height, width), got {image_size!r}") from None
    if h < MIN_SIZE or w < MIN_SIZE:
        raise NSTError(f"image_size {h}x{w} is too small: height and width must be at least {MIN_SIZE} px")
    return h, w


def description(stylizer: ExportableNetwork) -> str:
    return (f"nst {stylizer.method} style transfer network, {stylizer.num_styles} style(s): "
            + ", ".join(stylizer.styles))



def require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise NSTError(f"export needs the '{module}' package: pip install 'nst[export]'") from None
