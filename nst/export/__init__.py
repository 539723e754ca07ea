r"""On-device export of the feedforward networks: ONNX and Core ML, verified against JAX.

* `graph` — the network walked once, the files' metadata, the conventions (see its docstring);
* `onnx_backend` — ONNX nodes, onnxruntime sessions;
* `coreml_backend` — the Core ML ML Program;
* `verify` — layer sequences of both formats, onnxruntime vs JAX.

``export(stylizer, path, format=None, precision="float32", image_size=None)`` writes a file
(ONNX) or an ``.mlpackage`` folder (Core ML) atomically; `FeedforwardStylizer.export` calls it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import NSTError
from ..io.files import atomic_path, folder_mode_for
from .coreml_backend import coreml_model, quiet_coremltools
from .graph import (FORMATS, MIN_SIZE, ONNX_OPSET, PRECISIONS, SUFFIXES, VERIFY_BOUNDS, ExportableNetwork, check_exportable,
                    emit_network, export_metadata, network_parameters)
from .onnx_backend import onnx_model, onnx_session, run_onnx
from .verify import layer_sequence, smooth_random_image, verification_weights, verify_onnx

__all__ = [
    "FORMATS", "MIN_SIZE", "ONNX_OPSET", "PRECISIONS", "SUFFIXES", "VERIFY_BOUNDS", "ExportableNetwork", "coreml_model",
    "emit_network", "export", "export_metadata", "layer_sequence", "network_parameters", "onnx_model",
    "onnx_session", "quiet_coremltools", "resolve_format", "run_onnx", "smooth_random_image", "verification_weights",
    "verify_onnx",
]


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
    stylizer = check_exportable(stylizer)
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
        with quiet_coremltools():
            model.save(str(tmp))
        mode = folder_mode_for(path)  # mkdtemp makes 0700: the same policy as every file nst writes
        for folder in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            os.chmod(folder, mode)
        if path.exists():  # replace an old package: move it aside, move the new one in, then delete the old
            old = tmpdir / (path.name + ".old")
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path
