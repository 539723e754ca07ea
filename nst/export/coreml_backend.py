"""The Core ML backend of the export: an ML Program (iOS 16) built with coremltools' MIL builder."""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

import numpy as np

from ..core.networks import IN_EPSILON
from .graph import MIN_SIZE, ExportableNetwork, check_image_size, description, emit_network, export_metadata, \
    network_parameters, require


class CoreMLBackend:
    """Emits MIL ops (coremltools' Builder) inside an ``mb.program`` function."""

    def __init__(self, mb: Any, static_hw: tuple[int, int] | None):
        self.mb, self.static_hw = mb, static_hw

    def pad_for_network(self, x: Any, m: int, border: int) -> tuple[Any, Any]:
        mb = self.mb
        if self.static_hw is not None:
            h, w = self.static_hw
            ph, pw = (-(h + 2 * border)) % m, (-(w + 2 * border)) % m
            if border or ph or pw:  # (before, after) per spatial axis
                x = mb.pad(x=x, pad=np.array([border, border + ph, border, border + pw], np.int32), mode="reflect")
            return x, (h, w)
        hw = mb.slice_by_index(x=mb.shape(x=x), begin=[2], end=[4])
        padded = mb.add(x=hw, y=np.int32(2 * border))
        pad_hw = mb.add(x=mb.mod(x=mb.sub(x=np.int32(m), y=mb.mod(x=padded, y=np.int32(m))), y=np.int32(m)),
                        y=np.int32(border))
        before = np.full(1, border, np.int32)
        ph = mb.slice_by_index(x=pad_hw, begin=[0], end=[1])
        pw = mb.slice_by_index(x=pad_hw, begin=[1], end=[2])
        pads = mb.concat(values=[np.zeros(4, np.int32), before, ph, before, pw], axis=0)  # (before, after) per axis
        return mb.pad(x=x, pad=pads, mode="reflect"), hw

    def reflect_pad(self, x: Any, p: int) -> Any:
        return self.mb.pad(x=x, pad=np.array([p, p, p, p], np.int32), mode="reflect")

    def conv(self, x: Any, kernel: np.ndarray, stride: int) -> Any:
        return self.mb.conv(x=x, weight=kernel, strides=[stride, stride], pad_type="valid")

    def norm(self, x: Any, gamma: np.ndarray, beta: np.ndarray, index: Any) -> Any:
        mb = self.mb
        c = gamma.shape[1]
        if index is None:
            return mb.instance_norm(x=x, gamma=gamma[0], beta=beta[0], epsilon=np.float32(IN_EPSILON))
        # Core ML wants a constant γ/β in instance_norm: normalise, then scale and shift by the blended rows.
        xhat = mb.instance_norm(x=x, epsilon=np.float32(IN_EPSILON))
        row = mb.expand_dims(x=index, axes=[0])
        g = mb.reshape(x=mb.matmul(x=row, y=gamma), shape=[1, c, 1, 1])
        bb = mb.reshape(x=mb.matmul(x=row, y=beta), shape=[1, c, 1, 1])
        return mb.add(x=mb.mul(x=xhat, y=g), y=bb)

    def relu(self, x: Any) -> Any:
        return self.mb.relu(x=x)

    def sigmoid(self, x: Any) -> Any:
        return self.mb.sigmoid(x=x)

    def add(self, a: Any, b: Any) -> Any:
        return self.mb.add(x=a, y=b)

    def clip(self, x: Any, low: float, high: float) -> Any:
        return self.mb.clip(x=x, alpha=np.float32(low), beta=np.float32(high))

    def log(self, x: Any) -> Any:
        return self.mb.log(x=x)

    def scale(self, x: Any, factor: float) -> Any:
        return self.mb.mul(x=x, y=np.float32(factor))

    def shift(self, x: Any, offset: float) -> Any:
        return self.mb.add(x=x, y=np.float32(offset))

    def upsample2(self, x: Any) -> Any:
        return self.mb.upsample_nearest_neighbor(x=x, scale_factor_height=2, scale_factor_width=2)

    def crop_sides(self, x: Any, p: int) -> Any:
        """Drop ``p`` pixels from every side (the residual-stage border)."""
        return self.mb.crop(x=x, crop_height=[p, p], crop_width=[p, p])

    def crop(self, x: Any, hw: Any, border: int) -> Any:
        mb = self.mb
        begin = np.array([0, 0, border, border], np.int32)
        if isinstance(hw, tuple):
            end = np.array([0, 3, hw[0] + border, hw[1] + border], np.int32)
        else:
            end = mb.concat(values=[np.zeros(2, np.int32), mb.add(x=hw, y=np.int32(border))], axis=0)
        return mb.slice_by_index(x=x, begin=begin, end=end, end_mask=[True, True, False, False])


@contextlib.contextmanager
def quiet_coremltools() -> Any:
    """Silence coremltools' import warnings about its macOS-only runtime and its pass progress bars."""
    logger = logging.getLogger("coremltools")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def coreml_model(stylizer: ExportableNetwork, precision: str = "float32",
                 image_size: tuple[int, int] | None = None) -> Any:
    """Build the Core ML ML Program (an ``ct.models.MLModel``; saving works on Linux, predicting needs macOS)."""
    with quiet_coremltools():
        ct = require("coremltools")
        from coremltools.converters.mil import Builder as mb
        from coremltools.converters.mil.mil import get_new_symbol

    static_hw = check_image_size(image_size)
    units = network_parameters(stylizer)
    multi = stylizer.num_styles > 1
    h0, w0 = static_hw or (get_new_symbol(), get_new_symbol())
    specs = [mb.TensorSpec(shape=(1, 3, h0, w0))]
    if multi:
        specs.append(mb.TensorSpec(shape=(stylizer.num_styles,)))
    backend = CoreMLBackend(mb, static_hw)

    def body(image: Any, index: Any = None) -> Any:
        y = emit_network(backend, image, index, units, stylizer.border, getattr(stylizer, "border_stage", "input"))
        return mb.mul(x=y, y=np.float32(255.0), name="stylizedImage")  # image output: 0..255

    program = mb.program(input_specs=specs, opset_version=ct.target.iOS16)(
        (lambda image, index: body(image, index)) if multi else (lambda image: body(image)))
    if static_hw:
        shape = (1, 3, h0, w0)
    else:
        shape = (1, 3, ct.RangeDim(lower_bound=MIN_SIZE, upper_bound=4096, default=256),
                 ct.RangeDim(lower_bound=MIN_SIZE, upper_bound=4096, default=256))
    inputs = [ct.ImageType(name="image", shape=shape, scale=1 / 255.0, color_layout=ct.colorlayout.RGB)]
    if multi:
        inputs.append(ct.TensorType(name="index", shape=(stylizer.num_styles,)))
    # coremltools 9.0's merge_consecutive_paddings pass fails on a pad whose amounts are computed
    # (our pad to a multiple of 4); the two pads stay separate ops, as in the ONNX graph.
    program.functions["main"].set_output_types(
        [ct.ImageType(name="stylizedImage", color_layout=ct.colorlayout.RGB)])
    pipeline = ct.PassPipeline.DEFAULT
    pipeline.remove_passes({"common::merge_consecutive_paddings"})
    with quiet_coremltools():
        model = ct.convert(program, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16,
                           inputs=inputs, pass_pipeline=pipeline,
                           compute_precision=ct.precision.FLOAT16 if precision == "float16"
                           else ct.precision.FLOAT32)
    model.short_description = description(stylizer)
    model.author = "nst"
    model.version = export_metadata(stylizer)["nst_version"]
    model.input_description["image"] = "content image, RGB"
    if multi:
        model.input_description["index"] = (f"style weights, length {stylizer.num_styles}: one-hot selects a "
                                            "style, other non-negative weights summing to 1 blend")
    model.output_description["stylizedImage"] = "stylized image, RGB, same size as the input"
    model.user_defined_metadata.update(export_metadata(stylizer))
    return model
