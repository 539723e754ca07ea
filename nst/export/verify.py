"""Reading exports back: the layer sequence of either format, and onnxruntime against JAX."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from .graph import ExportableNetwork
from .onnx_backend import onnx_session, run_onnx


# One vocabulary for both formats, so the op graphs can be compared layer for layer.
_ONNX_OPS = {"Pad": "pad", "Conv": "conv", "InstanceNormalization": "instance_norm", "MatMul": "matmul",
             "Mul": "mul", "Add": "add", "Relu": "relu", "Sigmoid": "sigmoid", "Resize": "upsample",
             "Clip": "clip", "Log": "log"}
_MIL_OPS = {"pad": "pad", "conv": "conv", "instance_norm": "instance_norm", "matmul": "matmul", "mul": "mul",
            "add": "add", "relu": "relu", "sigmoid": "sigmoid", "upsample_nearest_neighbor": "upsample",
            "clip": "clip", "log": "log"}


def layer_sequence(model: Any) -> list[str]:
    """The network's layers (pad, conv, instance_norm, matmul, mul, add, relu, upsample, sigmoid; clip and log
    in a photo_residual network) in order.

    ``model`` is an ``onnx.ModelProto`` or a Core ML ``MLModel`` (ML Program);
    shape arithmetic and casts are left out, as is Core ML's final ×255.
    """
    if hasattr(model, "graph"):
        return [_ONNX_OPS[n.op_type] for n in model.graph.node if n.op_type in _ONNX_OPS]
    spec = model.get_spec()
    ops = spec.mlProgram.functions["main"].block_specializations
    block = next(iter(ops.values()))
    # The image input's 1/255 scaling (which Core ML inserts) and our final ×255 convert between
    # pixels and [0, 1]; they are not layers of the network.
    mil_ops = [op for op in block.operations if op.type in _MIL_OPS
               and not any(o.name.startswith("image__scaled") for o in op.outputs)]
    if mil_ops and mil_ops[-1].type == "mul":
        mil_ops.pop()
    return [_MIL_OPS[op.type] for op in mil_ops]



def verification_weights(num_styles: int) -> list[tuple[str, np.ndarray]]:
    """Every style one-hot, plus an even blend of all styles (multi-style models)."""
    eye = np.eye(num_styles, dtype=np.float32)
    cases = [(f"style {i}", eye[i]) for i in range(num_styles)]
    if num_styles > 1:
        cases.append(("blend of all", np.full(num_styles, 1.0 / num_styles, np.float32)))
    return cases


def verify_onnx(stylizer: ExportableNetwork, path: str | os.PathLike,
                sizes: Sequence[tuple[int, int]] = ((97, 131), (256, 256), (384, 512)),
                seed: int = 0) -> list[dict[str, Any]]:
    """onnxruntime against the JAX network: max |Δ| on the [0, 1] scale per size and style case.

    Inputs are smooth random images (a blurred uniform field: photographs, not
    white noise, are what the network was trained on) from ``seed``.
    """
    session = onnx_session(path)
    rng = np.random.default_rng(seed)
    rows = []
    for h, w in sizes:
        image = smooth_random_image(rng, h, w)
        for label, weights in verification_weights(stylizer.num_styles):
            ref = stylizer.stylize_batch(image[None], weights[None])
            out = run_onnx(session, image[None], weights)
            rows.append({"height": h, "width": w, "style": label,
                         "max_abs_diff": float(np.abs(out - ref).max())})
    return rows


def smooth_random_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    coarse = rng.random((h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
    ys = np.linspace(0, coarse.shape[0] - 1.001, h)
    xs = np.linspace(0, coarse.shape[1] - 1.001, w)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    c = coarse
    top = c[y0][:, x0] * (1 - fx) + c[y0][:, x0 + 1] * fx
    bottom = c[y0 + 1][:, x0] * (1 - fx) + c[y0 + 1][:, x0 + 1] * fx
    noise = rng.normal(0, 0.03, (h, w, 3)).astype(np.float32)
    return np.clip(top * (1 - fy) + bottom * fy + noise, 0, 1).astype(np.float32)
