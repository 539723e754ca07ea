"""The ONNX backend of the export: `onnx.helper` nodes and initializers, opset 17, standard ops only."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from ..core.networks import IN_EPSILON
from ..errors import NSTError
from .graph import (ONNX_OPSET, ExportableNetwork, check_image_size, description, emit_network, export_metadata,
                    network_parameters, require)


class OnnxBackend:
    """Builds ONNX nodes and initializers with `onnx.helper`."""

    def __init__(self, precision: str, static_hw: tuple[int, int] | None):
        from onnx import TensorProto, helper, numpy_helper

        self.helper, self.numpy_helper, self.TensorProto = helper, numpy_helper, TensorProto
        self.precision, self.static_hw = precision, static_hw
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._n = 0

    def _name(self, op: str) -> str:
        self._n += 1
        return f"{op.lower()}_{self._n}"

    def node(self, op: str, inputs: Sequence[str], **attrs: Any) -> str:
        out = self._name(op)
        self.nodes.append(self.helper.make_node(op, list(inputs), [out], name=out, **attrs))
        return out

    def const(self, value: np.ndarray, weight: bool = False) -> str:
        """An initializer; float weights are stored as float16 and cast back when precision is float16."""
        name = self._name("w" if weight else "c")
        value = np.asarray(value)
        if weight and self.precision == "float16":
            self.initializers.append(self.numpy_helper.from_array(value.astype(np.float16), name + "_fp16"))
            self.nodes.append(self.helper.make_node("Cast", [name + "_fp16"], [name], name=name + "_cast",
                                                    to=self.TensorProto.FLOAT))
        else:
            self.initializers.append(self.numpy_helper.from_array(value, name))
        return name

    def pad_for_network(self, x: str, m: int, border: int) -> tuple[str, Any]:
        """Reflect-pad ``border`` on every side and, after, up to a multiple of ``m``."""
        if self.static_hw is not None:
            h, w = self.static_hw
            ph, pw = (-(h + 2 * border)) % m, (-(w + 2 * border)) % m
            if border or ph or pw:
                pads = np.array([0, 0, border, border, 0, 0, border + ph, border + pw], np.int64)
                x = self.node("Pad", [x, self.const(pads)], mode="reflect")
            return x, (h, w)
        shape = self.node("Shape", [x])
        hw = self.node("Slice", [shape, self.const(np.array([2], np.int64)), self.const(np.array([4], np.int64))])
        mod = self.const(np.array(m, np.int64))
        # no "+ 0" nodes when the border is elsewhere (residual stage): Core ML's converter drops them too,
        # and the two formats are compared layer for layer (`verify.layer_sequence`)
        padded = self.node("Add", [hw, self.const(np.array(2 * border, np.int64))]) if border else hw
        pad_hw = self.node("Mod", [self.node("Sub", [mod, self.node("Mod", [padded, mod])]), mod])
        end = self.node("Add", [pad_hw, self.const(np.array(border, np.int64))]) if border else pad_hw
        pads = self.node("Concat", [self.const(np.array([0, 0, border, border, 0, 0], np.int64)), end], axis=0)
        return self.node("Pad", [x, pads], mode="reflect"), hw

    def reflect_pad(self, x: str, p: int) -> str:
        return self.node("Pad", [x, self.const(np.array([0, 0, p, p, 0, 0, p, p], np.int64))], mode="reflect")

    def conv(self, x: str, kernel: np.ndarray, stride: int) -> str:
        return self.node("Conv", [x, self.const(kernel, weight=True)], strides=[stride, stride],
                         kernel_shape=list(kernel.shape[2:]))

    def norm(self, x: str, gamma: np.ndarray, beta: np.ndarray, index: str | None) -> str:
        c = gamma.shape[1]
        if index is None:  # one style: the affine is a constant of the norm
            return self.node("InstanceNormalization", [x, self.const(gamma[0], True), self.const(beta[0], True)],
                             epsilon=IN_EPSILON)
        xhat = self.node("InstanceNormalization", [x, self.const(np.ones(c, np.float32)),
                                                   self.const(np.zeros(c, np.float32))], epsilon=IN_EPSILON)
        shape = self.const(np.array([1, c, 1, 1], np.int64))
        g = self.node("Reshape", [self.node("MatMul", [index, self.const(gamma, True)]), shape])
        bb = self.node("Reshape", [self.node("MatMul", [index, self.const(beta, True)]), shape])
        return self.node("Add", [self.node("Mul", [xhat, g]), bb])

    def relu(self, x: str) -> str:
        return self.node("Relu", [x])

    def sigmoid(self, x: str) -> str:
        return self.node("Sigmoid", [x])

    def add(self, a: str, b: str) -> str:
        return self.node("Add", [a, b])

    def clip(self, x: str, low: float, high: float) -> str:
        return self.node("Clip", [x, self.const(np.array(low, np.float32)), self.const(np.array(high, np.float32))])

    def log(self, x: str) -> str:
        return self.node("Log", [x])

    def scale(self, x: str, factor: float) -> str:
        return self.node("Mul", [x, self.const(np.array(factor, np.float32))])

    def shift(self, x: str, offset: float) -> str:
        return self.node("Add", [x, self.const(np.array(offset, np.float32))])

    def upsample2(self, x: str) -> str:
        scales = self.const(np.array([1, 1, 2, 2], np.float32))
        return self.node("Resize", [x, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                         nearest_mode="floor")

    def crop_sides(self, x: str, p: int) -> str:
        """Drop ``p`` pixels from every side (the residual-stage border)."""
        return self.node("Slice", [x, self.const(np.full(2, p, np.int64)), self.const(np.full(2, -p, np.int64)),
                                   self.const(np.array([2, 3], np.int64))])

    def crop(self, x: str, hw: Any, border: int) -> str:
        if isinstance(hw, tuple):
            ends = self.const(np.array(hw, np.int64) + border)
        else:
            ends = self.node("Add", [hw, self.const(np.array(border, np.int64))]) if border else hw
        starts = self.const(np.full(2, border, np.int64))
        return self.node("Slice", [x, starts, ends, self.const(np.array([2, 3], np.int64))])


def onnx_model(stylizer: ExportableNetwork, precision: str = "float32",
               image_size: tuple[int, int] | None = None) -> Any:
    """Build the `onnx.ModelProto` of a feedforward stylizer (checked with `onnx.checker`)."""
    onnx = require("onnx")
    from onnx import TensorProto, helper

    static_hw = check_image_size(image_size)
    b = OnnxBackend(precision, static_hw)
    h, w = static_hw if static_hw else ("height", "width")
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, h, w])]
    index = None
    if stylizer.num_styles > 1:
        index = "index"
        inputs.append(helper.make_tensor_value_info("index", TensorProto.FLOAT, [stylizer.num_styles]))
    out = emit_network(b, "image", index, network_parameters(stylizer), stylizer.border,
                       getattr(stylizer, "border_stage", "input"))
    b.nodes.append(helper.make_node("Identity", [out], ["stylizedImage"], name="output"))
    outputs = [helper.make_tensor_value_info("stylizedImage", TensorProto.FLOAT, ["batch", 3, h, w])]
    graph = helper.make_graph(b.nodes, f"nst_{stylizer.method}", inputs, outputs, b.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              producer_name="nst", doc_string=description(stylizer))
    model.ir_version = 8  # readable by onnxruntime releases from 1.14 on
    helper.set_model_props(model, export_metadata(stylizer))
    onnx.checker.check_model(model)
    return model


def onnx_session(path: str | os.PathLike) -> Any:
    """An onnxruntime CPU session for an exported model (a corrupt file is an `NSTError`)."""
    ort = require("onnxruntime")
    try:
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 — onnxruntime raises its own exception types
        raise NSTError(f"{path}: not a loadable ONNX model ({str(e).splitlines()[0][:200]})") from None


def run_onnx(session: Any, images: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
    """(B, H, W, 3) images in [0, 1] (+ style weights) → (B, H, W, 3), through onnxruntime."""
    feed = {"image": np.ascontiguousarray(np.asarray(images, np.float32).transpose(0, 3, 1, 2))}
    if index is not None and any(i.name == "index" for i in session.get_inputs()):
        feed["index"] = np.asarray(index, np.float32)
    (out,) = session.run(["stylizedImage"], feed)
    return out.transpose(0, 2, 3, 1)
