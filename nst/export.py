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
fixes them.  The graph reflect-pads the picture by the stylizer's ``border``
(16 px by default, `nst.networks.STYLIZE_BORDER`) and up to a multiple of 4,
and crops back, exactly as the JAX network does.

The network topology is walked once (`_emit_network`) and written by two small
backends (`_OnnxBackend`, `_CoreMLBackend`), so the two files hold the same
layers in the same order — `layer_sequence` reads that sequence back from
either file, and the tests compare them.

Precision: ``float16`` halves the file.  In ONNX the weights are stored as
float16 and cast to float32 when the session loads them (inputs, outputs and
arithmetic stay float32, so every onnxruntime build runs it); in Core ML it is
Core ML's own float16 compute precision (weights and activations).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .errors import NSTError
from .fileio import atomic_path
from .networks import IN_EPSILON

if TYPE_CHECKING:  # pragma: no cover
    from .feedforward import FeedforwardStylizer

FORMATS = ("onnx", "coreml")
PRECISIONS = ("float32", "float16")
MIN_SIZE = 64  # smallest flexible height/width we promise
ONNX_OPSET = 17
SUFFIXES = {"onnx": ".onnx", "coreml": ".mlpackage"}


# --------------------------------------------------------------------------- the network, walked once


def network_parameters(stylizer: "FeedforwardStylizer") -> list[dict[str, Any]]:
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
    units += [unit(net.up1, "up"), unit(net.up2, "up"), unit(net.out, "sigmoid")]
    return units


def _emit_network(b: Any, image: Any, index: Any, units: list[dict[str, Any]], border: int) -> Any:
    """The topology of `nst.networks.TransformerNet.__call__`, written against a backend ``b``."""
    # Reflection border (as `FeedforwardStylizer.border`), then to a multiple of 4 for the two
    # stride-2 convs and two ×2 upsamplings; one pad, exactly as the JAX network pads.
    x, hw = b.pad_for_network(image, 4, border)
    skip = None
    for u in units:
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
        else:
            x = b.sigmoid(x)
    return b.crop(x, hw, border)


# --------------------------------------------------------------------------- ONNX


class _OnnxBackend:
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
        padded = self.node("Add", [hw, self.const(np.array(2 * border, np.int64))])
        pad_hw = self.node("Mod", [self.node("Sub", [mod, self.node("Mod", [padded, mod])]), mod])
        end = self.node("Add", [pad_hw, self.const(np.array(border, np.int64))])
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

    def upsample2(self, x: str) -> str:
        scales = self.const(np.array([1, 1, 2, 2], np.float32))
        return self.node("Resize", [x, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                         nearest_mode="floor")

    def crop(self, x: str, hw: Any, border: int) -> str:
        if isinstance(hw, tuple):
            ends = self.const(np.array(hw, np.int64) + border)
        else:
            ends = self.node("Add", [hw, self.const(np.array(border, np.int64))])
        starts = self.const(np.full(2, border, np.int64))
        return self.node("Slice", [x, starts, ends, self.const(np.array([2, 3], np.int64))])


def export_metadata(stylizer: "FeedforwardStylizer") -> dict[str, str]:
    """Key/value metadata written into exported files (all values are strings)."""
    from . import __version__

    meta = stylizer.meta
    return {
        "method": stylizer.method,
        "styles": json.dumps(stylizer.styles),
        "num_styles": str(stylizer.num_styles),
        "iterations": str(meta.get("iterations")),
        "width": str(meta.get("network", {}).get("width")),
        "border": str(stylizer.border),  # reflection pixels padded around the picture and cropped off
        "nst_version": __version__,
        "input_convention": "image: RGB in [0,1], NCHW float32 (ONNX) or an RGB image (Core ML); "
                            "index: style weights, one-hot selects, others blend",
    }


def _check_image_size(image_size: tuple[int, int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise NSTError(f"image_size must be (height, width), got {image_size!r}") from None
    if h < MIN_SIZE or w < MIN_SIZE:
        raise NSTError(f"image_size {h}x{w} is too small: height and width must be at least {MIN_SIZE} px")
    return h, w


def onnx_model(stylizer: "FeedforwardStylizer", precision: str = "float32",
               image_size: tuple[int, int] | None = None) -> Any:
    """Build the `onnx.ModelProto` of a feedforward stylizer (checked with `onnx.checker`)."""
    onnx = _require("onnx")
    from onnx import TensorProto, helper

    static_hw = _check_image_size(image_size)
    b = _OnnxBackend(precision, static_hw)
    h, w = static_hw if static_hw else ("height", "width")
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, h, w])]
    index = None
    if stylizer.num_styles > 1:
        index = "index"
        inputs.append(helper.make_tensor_value_info("index", TensorProto.FLOAT, [stylizer.num_styles]))
    out = _emit_network(b, "image", index, network_parameters(stylizer), stylizer.border)
    b.nodes.append(helper.make_node("Identity", [out], ["stylizedImage"], name="output"))
    outputs = [helper.make_tensor_value_info("stylizedImage", TensorProto.FLOAT, ["batch", 3, h, w])]
    graph = helper.make_graph(b.nodes, f"nst_{stylizer.method}", inputs, outputs, b.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              producer_name="nst", doc_string=_description(stylizer))
    model.ir_version = 8  # readable by onnxruntime releases from 1.14 on
    helper.set_model_props(model, export_metadata(stylizer))
    onnx.checker.check_model(model)
    return model


def _description(stylizer: "FeedforwardStylizer") -> str:
    return (f"nst {stylizer.method} style transfer network, {stylizer.num_styles} style(s): "
            + ", ".join(stylizer.styles))


# --------------------------------------------------------------------------- Core ML


class _CoreMLBackend:
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

    def upsample2(self, x: Any) -> Any:
        return self.mb.upsample_nearest_neighbor(x=x, scale_factor_height=2, scale_factor_width=2)

    def crop(self, x: Any, hw: Any, border: int) -> Any:
        mb = self.mb
        begin = np.array([0, 0, border, border], np.int32)
        if isinstance(hw, tuple):
            end = np.array([0, 3, hw[0] + border, hw[1] + border], np.int32)
        else:
            end = mb.concat(values=[np.zeros(2, np.int32), mb.add(x=hw, y=np.int32(border))], axis=0)
        return mb.slice_by_index(x=x, begin=begin, end=end, end_mask=[True, True, False, False])


@contextlib.contextmanager
def _quiet_coremltools() -> Any:
    """Silence coremltools' import warnings about its macOS-only runtime and its pass progress bars."""
    logger = logging.getLogger("coremltools")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def coreml_model(stylizer: "FeedforwardStylizer", precision: str = "float32",
                 image_size: tuple[int, int] | None = None) -> Any:
    """Build the Core ML ML Program (an ``ct.models.MLModel``; saving works on Linux, predicting needs macOS)."""
    with _quiet_coremltools():
        ct = _require("coremltools")
        from coremltools.converters.mil import Builder as mb
        from coremltools.converters.mil.mil import get_new_symbol

    static_hw = _check_image_size(image_size)
    units = network_parameters(stylizer)
    multi = stylizer.num_styles > 1
    h0, w0 = static_hw or (get_new_symbol(), get_new_symbol())
    specs = [mb.TensorSpec(shape=(1, 3, h0, w0))]
    if multi:
        specs.append(mb.TensorSpec(shape=(stylizer.num_styles,)))
    backend = _CoreMLBackend(mb, static_hw)

    def body(image: Any, index: Any = None) -> Any:
        y = _emit_network(backend, image, index, units, stylizer.border)
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
    with _quiet_coremltools():
        model = ct.convert(program, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16,
                           inputs=inputs, pass_pipeline=pipeline,
                           compute_precision=ct.precision.FLOAT16 if precision == "float16"
                           else ct.precision.FLOAT32)
    model.short_description = _description(stylizer)
    model.author = "nst"
    model.version = export_metadata(stylizer)["nst_version"]
    model.input_description["image"] = "content image, RGB"
    if multi:
        model.input_description["index"] = (f"style weights, length {stylizer.num_styles}: one-hot selects a "
                                            "style, other non-negative weights summing to 1 blend")
    model.output_description["stylizedImage"] = "stylized image, RGB, same size as the input"
    model.user_defined_metadata.update(export_metadata(stylizer))
    return model


# --------------------------------------------------------------------------- export, read back


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise NSTError(f"export needs the '{module}' package: pip install 'nst[export]'") from None


def resolve_format(path: str | os.PathLike, format: str | None) -> str:
    """``format`` if given, else from the file suffix (.onnx, .mlpackage); an unknown one is an error."""
    if format is None:
        suffix = Path(path).suffix.lower()
        format = {".onnx": "onnx", ".mlpackage": "coreml", ".mlmodel": "coreml"}.get(suffix)
        if format is None:
            raise NSTError(f"cannot tell the export format from {str(path)!r}: use a .onnx or .mlpackage name "
                           "or give the format")
    if format not in FORMATS:
        raise NSTError(f"unknown export format {format!r}: choose one of {', '.join(FORMATS)}")
    return format


def export(stylizer: Any, path: str | os.PathLike, format: str | None = None, precision: str = "float32",
           image_size: tuple[int, int] | None = None) -> Path:
    """Write ``stylizer``'s network as ONNX (a file) or Core ML (an .mlpackage folder), atomically."""
    from .feedforward import FeedforwardStylizer

    if not isinstance(stylizer, FeedforwardStylizer):
        raise NSTError(f"a {getattr(stylizer, 'method', type(stylizer).__name__)} stylizer has no network to "
                       "export: it optimises each image; export a johnson or dumoulin model")
    format = resolve_format(path, format)
    if precision not in PRECISIONS:
        raise NSTError(f"unknown precision {precision!r}: choose float32 or float16")
    path = Path(path)
    if format == "onnx":
        model = onnx_model(stylizer, precision, image_size)
        with atomic_path(path) as tmp:
            tmp.write_bytes(model.SerializeToString())
        return path
    if path.suffix.lower() != ".mlpackage":
        raise NSTError(f"a Core ML export is an .mlpackage folder: name it like {path.stem}.mlpackage")
    model = coreml_model(stylizer, precision, image_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", dir=path.parent))
    try:
        tmp = tmpdir / path.name
        with _quiet_coremltools():
            model.save(str(tmp))
        if path.exists():  # replace an old package: move it aside, move the new one in, then delete the old
            old = tmpdir / (path.name + ".old")
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path


def onnx_session(path: str | os.PathLike) -> Any:
    """An onnxruntime CPU session for an exported model (a corrupt file is an `NSTError`)."""
    ort = _require("onnxruntime")
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


# One vocabulary for both formats, so the op graphs can be compared layer for layer.
_ONNX_OPS = {"Pad": "pad", "Conv": "conv", "InstanceNormalization": "instance_norm", "MatMul": "matmul",
             "Mul": "mul", "Add": "add", "Relu": "relu", "Sigmoid": "sigmoid", "Resize": "upsample"}
_MIL_OPS = {"pad": "pad", "conv": "conv", "instance_norm": "instance_norm", "matmul": "matmul", "mul": "mul",
            "add": "add", "relu": "relu", "sigmoid": "sigmoid", "upsample_nearest_neighbor": "upsample"}


def layer_sequence(model: Any) -> list[str]:
    """The network's layers (pad, conv, instance_norm, matmul, mul, add, relu, upsample, sigmoid) in order.

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


def verify_onnx(stylizer: "FeedforwardStylizer", path: str | os.PathLike,
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
        image = _smooth_random_image(rng, h, w)
        for label, weights in verification_weights(stylizer.num_styles):
            ref = stylizer.stylize_batch(image[None], weights[None])
            out = run_onnx(session, image[None], weights)
            rows.append({"height": h, "width": w, "style": label,
                         "max_abs_diff": float(np.abs(out - ref).max())})
    return rows


def _smooth_random_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
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
